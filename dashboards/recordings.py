"""Recordings: the list (a panel like the others), the payloads of one recording for the replay, the
page snapshot a heatmap is drawn over, and the analyst's marks.

A recording is a visit with playback rows. Favouriting or labelling it writes `recordings` and sets
`playback.keep = 1` for its rows (kept 13 months by the table's TTL instead of 30 days); removing the
last mark sets it back to 0. Recording ids are the session hash in 16 hex digits (query parameters,
never paths, so access logs hold none).
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any

from dashboards.errors import BadQuery, NotFound
from dashboards.heatmaps import CLICK, RAGE_BOX_PX, RAGE_CLICKS, RAGE_WINDOW_MS
from dashboards.model import Column, Context, Panel, Params, Query, Sql, utc_days
from dashboards.visits import page_condition, visit_sessions, visits_sql
from ingest_schema.storage import Storage

RECORDING_OPTIONS = ("min_duration", "max_duration", "rage", "label", "tag", "favourite")
MAX_LABELS, MAX_LABEL_CHARS = 20, 40
_LABEL = re.compile(r"^[\w .:/-]{1,40}$")
_SESSION = re.compile(r"^[0-9a-f]{1,16}$")
SYNC = {"mutations_sync": 2}


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


def _rage_sessions(ctx: Context, params: Params, query: Query, sessions: str) -> str:
    first, last = utc_days(query.period.start, query.period.end)
    window = (f"PARTITION BY pageview_id ORDER BY toUnixTimestamp64Milli(ts) "
              f"RANGE BETWEEN {RAGE_WINDOW_MS} PRECEDING AND CURRENT ROW")
    return (
        "SELECT session_hash, countIf(burst = {n} AND sx <= {box} AND sy <= {box}) AS rage FROM (SELECT session_hash, "
        "count() OVER w AS burst, max(x) OVER w - min(x) OVER w AS sx, max(y) OVER w - min(y) OVER w AS sy "
        f"FROM {ctx.table('events')} WHERE site = {params.p(query.site, 'String')} AND day BETWEEN "
        f"{params.day(first)} AND {params.day(last)} AND type = {CLICK} AND session_hash IN ({sessions}) "
        f"WINDOW w AS ({window})) GROUP BY session_hash"
    ).replace("{n}", str(RAGE_CLICKS)).replace("{box}", str(RAGE_BOX_PX))


def recordings_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    period = query.period
    duration = "(toUnixTimestamp64Milli(v_end) - toUnixTimestamp64Milli(v_start)) / 1000"
    having = []
    for name, op in (("min_duration", ">="), ("max_duration", "<=")):
        seconds = _seconds(query, name)
        if seconds is not None:
            having.append(f"{duration} {op} {params.p(seconds, 'UInt32')}")
    visits = visits_sql(ctx, params, query, period.start, period.end,
                        ("v_entry_page", "v_country", "v_device", "v_browser"), " AND ".join(having))
    first, last = utc_days(period.start, period.end)
    site = params.p(query.site, "String")
    recorded = (f"SELECT DISTINCT session_hash FROM {ctx.table('playback')} WHERE site = {site} "
                f"AND day BETWEEN {params.day(first)} AND {params.day(last)}")
    marks = (f"SELECT session_hash, argMax(favourite, updated_at) AS favourite, argMax(labels, updated_at) AS labels "
             f"FROM {ctx.table('recordings')} WHERE site = {site} GROUP BY session_hash")
    where = [f"v.session_hash IN ({recorded})"]
    if query.option("favourite") in ("1", "true"):
        where.append("m.favourite = 1")
    if query.option("label"):
        where.append(f"has(m.labels, {params.p(query.option('label'), 'String')})")
    if query.option("tag"):
        where.append(f"v.session_hash IN ({_tagged(ctx, params, query)})")
    limit = params.p(query.limit, "UInt32")
    listed = (f"SELECT v.*, m.favourite AS favourite, m.labels AS labels FROM ({visits}) AS v "
              f"LEFT JOIN ({marks}) AS m ON m.session_hash = v.session_hash WHERE {' AND '.join(where)}")
    if query.option("rage") in ("1", "true"):
        # rage clicks decide which visits are listed: count them for every visit of the period
        rage = _rage_sessions(ctx, params, query, visit_sessions(ctx, params, query))
        chosen, rage_only = listed, "WHERE r.rage > 0"
    else:
        # the newest `limit` visits first, then rage clicks of those only (the window over every click of
        # the period was most of this panel's time at 10M events)
        chosen = f"{listed} ORDER BY v.v_start DESC LIMIT {limit}"
        rage = _rage_sessions(ctx, params, query, f"SELECT session_hash FROM ({chosen})")
        rage_only = ""
    return Sql(
        f"SELECT lower(hex(l.session_hash)) AS recording, l.v_start AS started, round({duration}, 1) AS seconds, "
        "l.v_pageviews AS views, l.v_entry_page AS entry, l.v_country AS c, l.v_device AS d, l.v_browser AS b, "
        "r.rage AS rage, toBool(l.favourite = 1) AS fav, l.labels AS marks "
        f"FROM ({chosen}) AS l LEFT JOIN ({rage}) AS r ON r.session_hash = l.session_hash {rage_only} "
        f"ORDER BY started DESC LIMIT {limit}",
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
    "recordings", "Recordings",
    "Visits with a recording, newest first. Options: min_duration, max_duration (seconds), rage=1 (with rage "
    "clicks), favourite=1, label (an analyst's label), tag (a Clarity custom tag or event).",
    (Column("recording", "string", "recording id (session hash, hex)"),
     Column("started_at", "datetime", "visit start, UTC"),
     Column("duration", "number", "seconds from the first to the last event"),
     Column("pageviews", "integer", "page views"), Column("entry_page", "string", "first page"),
     Column("country", "string", "country"), Column("device", "string", "device class"),
     Column("browser", "string", "browser family"), Column("rage_clicks", "integer", "rage-click bursts"),
     Column("favourite", "boolean", "favourited"), Column("labels", "array", "analyst labels"),
     Column("duration_label", "string", "duration with units", label=("duration", "duration")),
     Column("country_name", "string", "country name", label=("country", "country")),
     Column("device_label", "string", "device class, readable", label=("device", "device"))),
    recordings_sql, options=RECORDING_OPTIONS,
)

PANELS = (RECORDINGS,)


# --- one recording --------------------------------------------------------------------------------


def recording_pages(storage: Storage, site: str, session: int) -> list[dict[str, Any]]:
    """The masked payloads of one recording, grouped by page view in the order they were viewed."""
    rows = storage.query_rows(
        "SELECT pageview_id, page_num, min(ts) OVER (PARTITION BY pageview_id) AS first, sequence, payload "
        f"FROM {storage.table('playback')} WHERE site = {{site:String}} AND session_hash = {{session:UInt64}} "
        "ORDER BY first, pageview_id, sequence LIMIT 1 BY pageview_id, sequence",
        {"site": site, "session": session},
    )
    if not rows:
        raise NotFound("no such recording")
    pages: dict[int, dict[str, Any]] = {}
    for pageview_id, page_num, first, _, payload in rows:
        page = pages.setdefault(int(pageview_id), {
            "page_num": int(page_num), "started_at": _iso(first), "payloads": [],
        })
        page["payloads"].append(payload)
    return list(pages.values())


def page_snapshot(storage: Storage, ctx: Context, query: Query) -> list[str]:
    """The payloads of the latest recorded view of the query's page (by the query's visits, so a device
    filter picks a view of that device class) that starts with its DOM snapshot."""
    params = Params()
    first, last = utc_days(query.period.start, query.period.end)
    site = params.p(query.site, "String")
    days = f"day BETWEEN {params.day(first)} AND {params.day(last)}"
    views = (f"SELECT pageview_id FROM {ctx.table('pageviews')} WHERE site = {site} AND {days} "
             f"AND {page_condition(params, query.filters.page)}")
    rows = storage.query_rows(
        f"SELECT session_hash, pageview_id FROM {ctx.table('playback')} WHERE site = {site} AND {days} "
        f"AND sequence = 1 AND pageview_id IN ({views}) AND session_hash IN ({visit_sessions(ctx, params, query)}) "
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
        "LIMIT 1", {"site": site, "s": session},
    ):
        raise NotFound("no such recording")
    storage.insert("recordings", ("site", "session_hash", "favourite", "labels", "updated_at"),
                   [(site, session, int(favourite), labels, datetime.now(timezone.utc))])
    keep = int(favourite or bool(labels))
    storage.command(
        f"ALTER TABLE {storage.table('playback')} UPDATE keep = {keep} "
        "WHERE site = {site:String} AND session_hash = {s:UInt64}",
        {"site": site, "s": session}, settings=SYNC,
    )
    return {"favourite": bool(favourite), "labels": labels, "kept": bool(keep)}


def _iso(value: Any) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value)
