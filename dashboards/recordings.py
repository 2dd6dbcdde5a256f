"""Recordings: the list (a panel like the others), the payloads of one recording for the replay, the
page snapshot a heatmap is drawn over, and the analyst's marks.

A recording is a visit with playback rows. Favouriting or labelling it writes `recordings` and sets
`playback.keep = 1` for its rows (kept 13 months by the table's TTL instead of 30 days); removing the
last mark sets it back to 0. Recording ids are the session hash in 16 hex digits (query parameters,
never paths, so access logs hold none).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

import orjson

from dashboards.errors import BadQuery, NotFound
from dashboards.heatmaps import layout_views
from dashboards.insights import (
    ARCHIVED_VISIT,
    SIGNALS,
    Scope,
    archive_days_sql,
    occurrences_relation,
    signal_option,
    signals_sql,
    split_sql,
)
from dashboards.model import Column, Context, Filters, Panel, Params, Query, Sql, utc_days
from dashboards.visits import visits_sql
from ingest_schema.storage import Storage

RECORDING_OPTIONS = ("min_duration", "max_duration", "signal", "rage", "label", "tag", "favourite")
MAX_LABELS, MAX_LABEL_CHARS = 20, 40
_LABEL = re.compile(r"^[\w .:/-]{1,40}$")
_SESSION = re.compile(r"^[0-9a-f]{1,16}$")
SYNC = {"mutations_sync": 2}
TAG_COLUMNS = ("rage_clicks", "dead_clicks", "quick_backs", "excessive_scrolls", "js_errors")


def session_hash(value: str) -> int:
    """A recording id (hex) from a request, validated."""
    value = value.strip().lower()
    if not _SESSION.fullmatch(value):
        raise BadQuery("recording must be 1-16 hex digits")
    return int(value, 16)


def _seconds(query: Query, name: str) -> int | None:
    raw = query.option(name)
    if not raw:
        return None
    if not raw.isdecimal() or int(raw) > 86400 * 7:
        raise BadQuery(f"{name} must be a number of seconds")
    return int(raw)


def replayable(ctx: Context, params: Params, query: Query) -> str:
    """Sessions with at least one page view recorded from its DOM snapshot (beacon-only visits have none): a flag
    ClickHouse set when the upload was written (`has_snapshot`), not a search of the payloads."""
    first, last = utc_days(query.period.start, query.period.end)
    return (
        f"SELECT session_hash FROM {ctx.table('playback')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} AND sequence = 1 AND has_snapshot = 1"
    )


def _wanted_signal(query: Query) -> str:
    signal = signal_option(query)
    return signal or ("rage_click" if query.option("rage") in ("1", "true") else "")


def _candidates(ctx: Context, params: Params, query: Query) -> str:
    """The visits the list may show, before a signal filter: begun in the period, passing the filters, the
    durations, the analyst's marks and tags, and replayable; columns session_hash, v_start."""
    duration = "(toUnixTimestamp64Milli(v_end) - toUnixTimestamp64Milli(v_start)) / 1000"
    having = []
    for name, op in (("min_duration", ">="), ("max_duration", "<=")):
        seconds = _seconds(query, name)
        if seconds is not None:
            having.append(f"{duration} {op} {params.p(seconds, 'UInt32')}")
    visits = visits_sql(ctx, params, query, query.period.start, query.period.end, (), " AND ".join(having))
    where = [f"session_hash IN ({replayable(ctx, params, query)})"]
    marked = []
    if query.option("favourite") in ("1", "true"):
        marked.append("favourite = 1")
    if query.option("label"):
        marked.append(f"has(labels, {params.p(query.option('label'), 'String')})")
    if marked:
        where.append(
            f"session_hash IN (SELECT session_hash FROM ({_marks(ctx, params, query)}) WHERE {' AND '.join(marked)})"
        )
    if query.option("tag"):
        where.append(f"session_hash IN ({_tagged(ctx, params, query)})")
    return f"SELECT session_hash, v_start FROM ({visits}) WHERE {' AND '.join(where)}"


def _marks(ctx: Context, params: Params, query: Query) -> str:
    """Each marked recording's latest favourite flag and labels."""
    return (
        "SELECT session_hash, argMax(favourite, updated_at) AS favourite, argMax(labels, updated_at) AS labels "
        f"FROM {ctx.table('recordings')} WHERE site = {params.p(query.site, 'String')} GROUP BY session_hash"
    )


def page_sql(ctx: Context, query: Query) -> Sql:
    """The first step of the list: the page of recordings (session_hash, v_start, whether it began on an archived
    day, the occurrences of the filtered signal), newest first. A `signal` filter needs the signal over every
    candidate visit of the period: the candidates are computed once (`rec_candidates`), and those begun on an
    archived day are looked up in the archive (`signal_occurrences`, dashboards/archive.py) instead of computed.
    The listing takes that signal's counts from here rather than computing them again."""
    params = Params()
    period = query.period
    days, stored = archive_days_sql(ctx, params, query.site, period.start, period.end)
    candidates = _candidates(ctx, params, query)
    limit = params.p(query.limit, "UInt32")
    signal = _wanted_signal(query)
    prelude = f"WITH ({days}) AS archive_days"
    if signal:
        every = "SELECT c.1 AS v_start, c.2 AS session_hash FROM (SELECT arrayJoin(rec_candidates) AS c)"
        prelude += (
            f", (SELECT groupArray((v_start, session_hash)) FROM ({candidates})) AS rec_candidates, "
            f"({split_sql(every)}) AS rec_split"
        )
        split = ("SELECT arrayJoin(rec_split.1)", "SELECT arrayJoin(rec_split.2)", "rec_split.3")
        found = occurrences_relation(ctx, params, query.site, period.start, period.end, split, stored, (signal,))
        counted = f"SELECT session_hash, count() AS n FROM ({found}) GROUP BY session_hash"
        candidates = (
            f"SELECT c.v_start, c.session_hash, f.n FROM ({every}) AS c INNER JOIN ({counted}) AS f USING session_hash"
        )
    else:
        candidates = f"SELECT v_start, session_hash, toUInt64(0) AS n FROM ({candidates})"
    return Sql(
        f"{prelude} SELECT session_hash, v_start, {ARCHIVED_VISIT}, n FROM ({candidates}) "
        f"ORDER BY v_start DESC, session_hash DESC LIMIT {limit}",
        params.values,
    )


def _day_before(instant: datetime) -> date:
    """The UTC day before an instant's (as utc_days reads: a visit may have begun before midnight); ClickHouse
    returns its DateTime64('UTC') values without a zone."""
    utc = instant.replace(tzinfo=timezone.utc) if instant.tzinfo is None else instant.astimezone(timezone.utc)
    return utc.date() - timedelta(days=1)


def recordings_sql(ctx: Context, query: Query) -> Sql:
    """What the list shows about the page that page_sql chose (passed as values: a page of at most a few hundred
    visits): their attributes, clicks and signal tags, read for those visits only, from the day before the
    oldest of them began. Tags of visits begun on an archived day are read from the archive, the others
    computed (insights.occurrences_relation): computing archived visits again was most of the list's time."""
    params = Params()
    period = query.period
    page: list[tuple[int, datetime, bool, int]] = query.definitions["chosen"]
    if not page:
        return Sql("SELECT 1 WHERE 0", {})  # nothing chosen: nothing to read about
    days, stored = archive_days_sql(ctx, params, query.site, period.start, period.end)
    hashes = params.p([int(r[0]) for r in page], "Array(UInt64)")
    live = [r for r in page if not r[2]]
    live_from = _day_before(min((r[1] for r in live), default=period.end))
    split = (
        f"SELECT arrayJoin({params.p([int(r[0]) for r in live], 'Array(UInt64)')})",
        f"SELECT arrayJoin({params.p([int(r[0]) for r in page if r[2]], 'Array(UInt64)')})",
        params.day(live_from),
    )
    oldest = _day_before(min((r[1] for r in page), default=period.end))
    mine = f"day >= {params.day(oldest)} AND session_hash IN {hashes}"
    # the listed visits passed the filters and selections already: only their attributes are read here
    bare = replace(query, filters=Filters(), selectors={}, selections=())
    attributes = ("v_entry_page", "v_country", "v_device", "v_browser")
    listed = visits_sql(ctx, params, bare, period.start, period.end, attributes, where_rows=mine)
    filtered = _wanted_signal(query)  # its counts came with the page
    computed = tuple(s for s in SIGNALS if s != filtered)
    found = occurrences_relation(ctx, params, query.site, period.start, period.end, split, stored, computed)
    tags = f"SELECT session_hash, {', '.join(f'countIf(signal = {s!r}) AS {s}' for s in computed)} FROM ({found}) "
    tags += "GROUP BY session_hash"
    tag = {s: f"t.{s}" for s in computed}
    if filtered:
        counts = params.p([int(r[3]) for r in page], "Array(UInt64)")
        tag[filtered] = f"transform(l.session_hash, {hashes}, {counts}, toUInt64(0))"
    first, last = utc_days(period.start, period.end)
    clicks = (
        f"SELECT session_hash, sum(clicks) AS n FROM {ctx.table('pageviews')} WHERE site = "
        f"{params.p(query.site, 'String')} AND day BETWEEN {params.day(first)} AND {params.day(last)} AND {mine} "
        "GROUP BY session_hash"
    )
    duration = "(toUnixTimestamp64Milli(l.v_end) - toUnixTimestamp64Milli(l.v_start)) / 1000"
    present = ", ".join(f"if({tag[s]} > 0, '{s}', '')" for s in SIGNALS)
    return Sql(
        f"WITH ({days}) AS archive_days "
        f"SELECT lower(hex(l.session_hash)) AS recording, l.v_start AS started, round({duration}, 1) AS seconds, "
        "l.v_pageviews AS views, k.n AS clicks, l.v_entry_page AS entry, l.v_country AS c, l.v_device AS d, "
        f"l.v_browser AS b, {', '.join(f'{tag[s]} AS {c}' for s, c in zip(SIGNALS, TAG_COLUMNS, strict=True))}, "
        f"arrayFilter(x -> x != '', [{present}]) AS tags, "
        "toBool(m.favourite = 1) AS fav, m.labels AS marks "
        f"FROM ({listed}) AS l LEFT JOIN ({_marks(ctx, params, query)}) AS m ON m.session_hash = l.session_hash "
        f"LEFT JOIN ({tags}) AS t ON t.session_hash = l.session_hash "
        f"LEFT JOIN ({clicks}) AS k ON k.session_hash = l.session_hash ORDER BY started DESC, l.session_hash DESC",
        params.values,
    )


def _tagged(ctx: Context, params: Params, query: Query) -> str:
    """Sessions with a Clarity custom tag (`set`) or custom event whose key or value is the tag."""
    first, last = utc_days(query.period.start, query.period.end)
    tag = query.option("tag")
    quoted = params.p(f'"{tag}"', "String")
    return (
        f"SELECT session_hash FROM {ctx.table('events')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} AND type IN (24, 34) "
        f"AND (key = {params.p(tag, 'String')} OR value = {params.p(tag, 'String')} "
        f"OR position(data, {quoted}) > 0)"
    )


RECORDINGS = Panel(
    "recordings",
    "Recordings",
    "Visits that can be replayed (recorded by clarity-js from a page snapshot), newest first, with their "
    "frustration signals. Options: min_duration, max_duration (seconds), signal (rage_click, dead_click, quick_back, "
    "excessive_scroll or js_error: visits with it; rage=1 is signal=rage_click), favourite=1, label (an analyst's "
    "label), tag (a Clarity custom tag or event).",
    (
        Column("recording", "string", "recording id (session hash, hex)"),
        Column("started_at", "datetime", "visit start, UTC"),
        Column("duration", "number", "seconds from the first to the last event"),
        Column("pageviews", "integer", "page views"),
        Column("clicks", "integer", "clicks"),
        Column("entry_page", "string", "first page"),
        Column("country", "string", "country"),
        Column("device", "string", "device class"),
        Column("browser", "string", "browser family"),
        *(
            Column(c, "integer", f"{s.replace('_', ' ')} occurrences")
            for s, c in zip(SIGNALS, TAG_COLUMNS, strict=True)
        ),
        Column("tags", "array", "the frustration signals of the visit"),
        Column("favourite", "boolean", "favourited"),
        Column("labels", "array", "analyst labels"),
        Column("duration_label", "string", "duration with units", label=("duration", "duration")),
        Column("country_name", "string", "country name", label=("country", "country")),
        Column("device_label", "string", "device class, readable", label=("device", "device")),
    ),
    recordings_sql,
    options=RECORDING_OPTIONS,
    choose=page_sql,
)


def timeline_sql(ctx: Context, query: Query) -> Sql:
    """What happened in one recording, on the replay's clock: ms since its first recorded moment."""
    params = Params()
    if not query.option("recording"):
        return Sql("SELECT toInt64(0), '', '', '', '' WHERE 0", {})  # a listing of no recording is empty
    session = params.p(session_hash(query.option("recording")), "UInt64")
    first, last = utc_days(query.period.start, query.period.end)
    site = params.p(query.site, "String")
    where = f"site = {site} AND day BETWEEN {params.day(first)} AND {params.day(last)} AND session_hash = {session}"
    origin = f"(SELECT toUnixTimestamp64Milli(min(ts)) FROM {ctx.table('playback')} WHERE {where})"
    scope = Scope(ctx, params, query.site, query.period.start, query.period.end, f"SELECT {session}")
    items = (
        f"SELECT min(started_at) AS at, 'page' AS kind, path(max(url)) AS label, max(title) AS detail, "
        f"path(max(url)) AS page FROM {ctx.table('pageviews')} WHERE {where} GROUP BY pageview_id "
        "UNION ALL SELECT ts, 'click', if(text != '', text, target_tag), target_hash, path(url) "
        f"FROM {ctx.table('events')} WHERE {where} AND type = 9 "
        "UNION ALL SELECT ts, 'custom', key, value, path(url) "
        f"FROM {ctx.table('events')} WHERE {where} AND type = 24 "
        f"UNION ALL SELECT at, signal, label, detail, page FROM ({signals_sql(scope)})"
    )
    return Sql(
        f"SELECT toUnixTimestamp64Milli(at) - {origin} AS at_ms, kind, label, detail, page FROM ({items}) "
        "ORDER BY at_ms, kind LIMIT 5000",
        params.values,
    )


RECORDING_TIMELINE = Panel(
    "recording_timeline",
    "Recording timeline",
    "Page changes, clicks, custom events, frustration signals and errors of one recording (option recording: "
    "its id; without it, no rows) in time order, at ms on the replay's clock (0 = its first recorded moment; one "
    "clock across pages).",
    (
        Column("at_ms", "integer", "ms since the recording's first recorded moment"),
        Column("kind", "string", f"page, click, custom or a signal ({', '.join(SIGNALS)})"),
        Column("label", "string", "path, element text, event name or error message"),
        Column("detail", "string", "title, element hash, event value, or the signal's detail"),
        Column("page", "string", "path of the page it happened on"),
    ),
    timeline_sql,
    options=("recording",),
)

PANELS = (RECORDINGS, RECORDING_TIMELINE)


# --- one recording --------------------------------------------------------------------------------


def _first_moment(payload: str) -> int:
    """The earliest page-relative time in a stored upload (what its playback row's `ts` stands for)."""
    try:
        document = orjson.loads(payload)
        times = [e[0] for key in ("a", "p") for e in document.get(key) or () if e and isinstance(e[0], int)]
        return min(times) if times else int(document["e"][2])
    except (orjson.JSONDecodeError, KeyError, IndexError, TypeError, ValueError):
        return 0


def recording_pages(storage: Storage, site: str, session: int) -> list[dict[str, Any]]:
    """The masked payloads of one recording, grouped by page view in the order they were viewed, each with
    `offset_ms` (its first recorded moment on the recording's clock) and `first_ms` (that moment in the page's
    own time), so the replay keeps one clock across pages: visit time = offset_ms + (t - first_ms)."""
    rows = storage.query_rows(
        "SELECT pageview_id, page_num, min(ts) OVER (PARTITION BY pageview_id) AS first, sequence, payload "
        f"FROM {storage.table('playback')} WHERE site = {{site:String}} AND session_hash = {{session:UInt64}} "
        "ORDER BY first, pageview_id, sequence LIMIT 1 BY pageview_id, sequence",
        {"site": site, "session": session},
    )
    if not rows:
        raise NotFound("no such recording")
    pages: dict[int, dict[str, Any]] = {}
    origin = rows[0][2]
    for pageview_id, page_num, first, _, payload in rows:
        page = pages.get(int(pageview_id))
        if page is None:
            page = pages[int(pageview_id)] = {
                "page_num": int(page_num),
                "started_at": _iso(first),
                "payloads": [],
                "offset_ms": _ms_between(origin, first),
                "first_ms": _first_moment(payload),
            }
        page["payloads"].append(payload)
    return list(pages.values())


def _ms_between(a: Any, b: Any) -> int:
    return round((b - a).total_seconds() * 1000) if isinstance(a, datetime) and isinstance(b, datetime) else 0


def page_snapshot(storage: Storage, ctx: Context, query: Query) -> list[str]:
    """The payloads of the latest recorded view of the query's page in its layout (the option, the device
    filter, else the page's most viewed device class; see heatmaps.layout_views), from its DOM snapshot."""
    params = Params()
    first, last = utc_days(query.period.start, query.period.end)
    site = params.p(query.site, "String")
    days = f"day BETWEEN {params.day(first)} AND {params.day(last)}"
    views, _ = layout_views(ctx, params, query)
    rows = storage.query_rows(
        f"SELECT session_hash, pageview_id FROM {ctx.table('playback')} WHERE site = {site} AND {days} "
        f"AND sequence = 1 AND pageview_id IN ({views}) AND has_snapshot = 1 "
        "ORDER BY ts DESC LIMIT 1",
        params.values,
    )
    if not rows:
        raise NotFound("no recorded view of this page in the period")
    session, pageview = rows[0]
    payloads = storage.query_rows(
        f"SELECT payload FROM {ctx.table('playback')} WHERE site = {{site:String}} AND session_hash = {{s:UInt64}} "
        "AND pageview_id = {pv:UInt64} ORDER BY sequence LIMIT 1 BY sequence",
        {"site": query.site, "s": int(session), "pv": int(pageview)},
    )
    return [str(r[0]) for r in payloads]


def clean_labels(raw: Any) -> list[str]:
    if not isinstance(raw, list) or len(raw) > MAX_LABELS:
        raise BadQuery(f"labels must be a list of at most {MAX_LABELS} strings")
    labels = []
    for label in raw:
        if not isinstance(label, str) or not _LABEL.fullmatch(label.strip()):
            raise BadQuery(f"a label is 1-{MAX_LABEL_CHARS} letters, digits, spaces or . : / - _")
        labels.append(label.strip())
    return sorted(set(labels))


def set_marks(storage: Storage, site: str, session: int, favourite: bool, labels: list[str]) -> dict[str, Any]:
    """Record the marks, then keep (or release) the recording's playback rows accordingly."""
    if not storage.query_rows(
        f"SELECT 1 FROM {storage.table('playback')} WHERE site = {{site:String}} AND session_hash = {{s:UInt64}} "
        "LIMIT 1",
        {"site": site, "s": session},
    ):
        raise NotFound("no such recording")
    storage.insert(
        "recordings",
        ("site", "session_hash", "favourite", "labels", "updated_at"),
        [(site, session, int(favourite), labels, datetime.now(timezone.utc))],
    )
    keep = int(favourite or bool(labels))
    storage.command(
        f"ALTER TABLE {storage.table('playback')} UPDATE keep = {keep} "
        "WHERE site = {site:String} AND session_hash = {s:UInt64}",
        {"site": site, "s": session},
        settings=SYNC,
    )
    return {"favourite": bool(favourite), "labels": labels, "kept": bool(keep)}


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
