"""Frustration signals (rage clicks, dead clicks, quick backs, excessive scrolling, JavaScript errors),
computed in ClickHouse for the visits of a query, and the insights panels built on them.

Every signal is one SQL branch that yields one row per occurrence with the same columns (see
`SIGNAL_COLUMNS`); `signals_sql` joins them with UNION ALL, and the insights page, the heatmap markers,
the recordings list (tags and the `signal` filter) and the replay timeline all aggregate that one
relation, so they cannot disagree. The exact rules are in docs/insights.md.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from dashboards.model import Column, Context, Panel, Params, Query, Sql, utc_days
from dashboards.traffic import _buckets
from dashboards.visits import page_condition, visits_sql

CLICK, SCROLL, DOCUMENT, SCRIPT_ERROR = 9, 10, 8, 31
SIGNALS = ("rage_click", "dead_click", "quick_back", "excessive_scroll", "js_error")
#: rage: a burst of at least RAGE_MIN clicks, each within RAGE_GAP_MS of the one before it and on the same
#: element or within RAGE_BOX_PX of it (page pixels, both axes)
RAGE_MIN, RAGE_GAP_MS, RAGE_BOX_PX = 3, 1000, 60
#: dead: no DOM mutation within DEAD_WINDOW_MS after the click, nor (for the page view's last click) its end
DEAD_WINDOW_MS = 1000
FORM_TAGS = ("input", "select", "textarea", "option", "label")
#: quick back: the page after this one is this one's previous page again, within QUICK_BACK_MS
QUICK_BACK_MS = 10_000
#: excessive scrolling: at least SCROLL_REVERSALS changes of direction between scroll legs of at least
#: SCROLL_LEG_PX each, on one page view
SCROLL_REVERSALS, SCROLL_LEG_PX = 3, 200

#: The columns every signal branch yields, in this order.
SIGNAL_COLUMNS = (
    "signal",
    "session_hash",
    "pageview_id",
    "page",
    "at",
    "element",
    "label",
    "x",
    "y",
    "width",
    "detail",
)


def _row(
    signal: str,
    session: str,
    pageview: str,
    page: str,
    at: str,
    element: str,
    label: str,
    x: str,
    y: str,
    width: str,
    detail: str,
) -> str:
    """One branch's SELECT list, typed alike so the branches can be UNIONed."""
    return (
        f"SELECT '{signal}' AS signal, toUInt64({session}) AS session_hash, toUInt64({pageview}) AS pageview_id, "
        f"toString({page}) AS page, toDateTime64({at}, 3, 'UTC') AS at, toString({element}) AS element, "
        f"toString({label}) AS label, toInt32({x}) AS x, toInt32({y}) AS y, toUInt32({width}) AS width, "
        f"toString({detail}) AS detail"
    )


class Scope:
    """Where signals are looked for: a site, the UTC days to read and a subquery of session hashes (or, with
    `column="pageview_id"`, of page views); `narrower` is one more condition on the rows read (e.g. no day
    before the listed visits began)."""

    def __init__(
        self,
        ctx: Context,
        params: Params,
        site: str,
        start: datetime,
        end: datetime,
        subquery: str,
        column: str = "session_hash",
        narrower: str = "",
    ):
        first, last = utc_days(start, end)
        self.ctx = ctx
        self.where = (
            f"site = {params.p(site, 'String')} AND day BETWEEN {params.day(first)} AND "
            f"{params.day(last)} AND {column} IN ({subquery})"
        ) + (f" AND {narrower}" if narrower else "")

    def table(self, name: str) -> str:
        return self.ctx.table(name)


def clicks_sql(scope: Scope, with_data: bool = False) -> str:
    """Clicks with `t` (ms), `page` and `width`: the document width of the click's page view (clarity-js sends
    its Document event in the first upload only, so later clicks carry none of their own)."""
    return (
        "SELECT * FROM (SELECT session_hash, pageview_id, source, type, ts, toUnixTimestamp64Milli(ts) AS t, x, y, "
        f"target, target_hash, target_tag, text, link, path(url) AS page, {'data, ' if with_data else ''}"
        "if(doc_width > 0, doc_width, max(doc_width) OVER (PARTITION BY pageview_id)) AS width "
        f"FROM {scope.table('events')} WHERE {scope.where} AND type IN ({CLICK}, {DOCUMENT})) WHERE type = {CLICK}"
    )


def rage_sql(scope: Scope) -> str:
    """Bursts: a click starts a new run unless it follows the previous click of its page view closely in time
    and place; runs of RAGE_MIN or more clicks are rage clicks (one occurrence per burst)."""
    w = "PARTITION BY pageview_id ORDER BY t, x, y ROWS BETWEEN 1 PRECEDING AND CURRENT ROW"
    follows = (
        f"t - lagInFrame(t) OVER w <= {RAGE_GAP_MS} AND ((target_hash != '' AND target_hash = lagInFrame(target_hash) "
        f"OVER w) OR (abs(x - lagInFrame(x) OVER w) <= {RAGE_BOX_PX} AND abs(y - lagInFrame(y) OVER w) <= "
        f"{RAGE_BOX_PX}))"
    )
    flagged = (
        f"SELECT *, if(row_number() OVER w = 1 OR NOT ({follows}), 1, 0) AS fresh FROM ({clicks_sql(scope)}) "
        f"WINDOW w AS ({w})"
    )
    runs = (
        "SELECT *, sum(fresh) OVER (PARTITION BY pageview_id ORDER BY t, x, y ROWS UNBOUNDED PRECEDING) AS run, "
        "(t, x, y, target_hash, text) AS first "  # the burst's first click, ties broken alike everywhere
        f"FROM ({flagged})"
    )
    select = _row(
        "rage_click",
        "any(session_hash)",
        "pageview_id",
        "any(page)",
        "min(ts)",
        "argMin(target_hash, first)",
        "argMin(text, first)",
        "argMin(x, first)",
        "argMin(y, first)",
        "max(width)",
        "count()",
    )
    return f"{select} FROM ({runs}) GROUP BY pageview_id, run HAVING count() >= {RAGE_MIN}"


def _payload_pages(scope: Scope) -> str:
    """Per recorded page view with a candidate click: mutation times, clicks (time, target, x, y) and the end of
    the page view, from the stored uploads (page-relative times; each upload once). These are playback columns
    ClickHouse computed from each payload when it was written (ingest_schema.tables.PLAYBACK_FACTS): searching
    the payloads here was most of the insights' time."""
    clicked = f"SELECT pageview_id FROM {scope.table('events')} WHERE {scope.where} AND type = {CLICK} AND link = ''"
    uploads = (
        f"SELECT pageview_id, mutation_times, payload_clicks, page_end FROM {scope.table('playback')} "
        f"WHERE {scope.where} AND pageview_id IN ({clicked}) LIMIT 1 BY pageview_id, sequence"
    )
    return (
        "SELECT pageview_id, groupArrayArray(mutation_times) AS muts, groupArrayArray(payload_clicks) AS clicks, "
        f"max(page_end) AS page_end FROM ({uploads}) GROUP BY pageview_id"
    )


def dead_sql(scope: Scope) -> str:
    """Clicks (not on links or form fields) after which the recorded DOM did not change for DEAD_WINDOW_MS,
    and which did not lead away (the page view's last click, its end within that window). clarity-js records
    the DOM changes themselves; our beacon records a Mutation marker (`[t, 6, 1]` changed, `[t, 6, 2]` page
    ended) within 1 s of a click, in the same stored payload. Payload
    clicks and stored click rows are paired by page view, target, position and their rank among identical
    ones, so repeated clicks on one spot are judged one by one."""
    in_payload = (
        "SELECT pageview_id, c.2 AS target, c.3 AS x, c.4 AS y, c.1 AS pt, "
        f"NOT arrayExists(m -> m >= pt AND m <= pt + {DEAD_WINDOW_MS}, muts) AND NOT (pt = last_click "
        f"AND pt + {DEAD_WINDOW_MS} >= page_end) AS dead FROM (SELECT *, arrayMax(arrayMap(c -> c.1, "
        f"clicks)) AS last_click FROM ({_payload_pages(scope)})) ARRAY JOIN clicks AS c"
    )
    ranked_payload = (
        "SELECT pageview_id, target, x, y, row_number() OVER (PARTITION BY pageview_id, target, x, y "
        f"ORDER BY pt) AS k, dead FROM ({in_payload})"
    )
    forms = ", ".join(f"'{t}'" for t in FORM_TAGS)
    ranked_rows = (
        "SELECT *, row_number() OVER (PARTITION BY pageview_id, target, x, y ORDER BY t) AS k "
        f"FROM ({clicks_sql(scope)})"
    )
    select = _row(
        "dead_click",
        "session_hash",
        "pageview_id",
        "page",
        "ts",
        "target_hash",
        "text",
        "x",
        "y",
        "width",
        "target_tag",
    )
    return (
        f"{select} FROM ({ranked_rows}) WHERE link = '' AND lower(target_tag) NOT IN ({forms}) "
        f"AND (pageview_id, target, x, y, k) IN (SELECT pageview_id, target, x, y, k FROM ({ranked_payload}) "
        "WHERE dead)"
    )


def quick_back_sql(scope: Scope) -> str:
    """A page view B whose previous page A is also the page after it, within QUICK_BACK_MS of B's start; the
    occurrence belongs to A (the page the visitor left and came back to), B is its label. Each visit's page
    views as one time-ordered array (a window per visit cost several times more)."""
    views = (
        "SELECT session_hash AS s, pageview_id AS pv, min(started_at) AS t0, path(max(url)) AS here "
        f"FROM {scope.table('pageviews')} WHERE {scope.where} GROUP BY s, pv"
    )
    visits = (
        f"SELECT s, arraySort(v -> (v.1, v.2), groupArray((t0, pv, here))) AS seq FROM ({views}) "
        "GROUP BY s HAVING length(seq) >= 3"
    )
    spent = "toUnixTimestamp64Milli(seq[i + 1].1) - toUnixTimestamp64Milli(seq[i].1)"
    select = _row("quick_back", "s", "seq[i].2", "seq[i - 1].3", "seq[i].1", "''", "seq[i].3", "0", "0", "0", spent)
    return (
        f"{select} FROM ({visits}) ARRAY JOIN arraySlice(arrayEnumerate(seq), 2, length(seq) - 2) AS i "
        f"WHERE seq[i + 1].3 = seq[i - 1].3 AND seq[i].3 != seq[i - 1].3 AND {spent} <= {QUICK_BACK_MS}"
    )


def excessive_scroll_sql(scope: Scope) -> str:
    """Scroll positions of a page view in time order (from the top), cut into legs of one direction; legs shorter
    than SCROLL_LEG_PX are jitter; SCROLL_REVERSALS or more changes of direction between the other legs."""
    positions = (
        "SELECT session_hash, pageview_id, any(path(url)) AS page, min(ts) AS first, "
        "arrayMap(p -> p.2, arraySort(groupArray((toUnixTimestamp64Milli(ts), toInt64(y))))) AS ys "
        f"FROM {scope.table('events')} WHERE {scope.where} AND type = {SCROLL} GROUP BY session_hash, pageview_id"
    )
    steps = "arrayFilter(v -> v != 0, arrayDifference(arrayConcat([toInt64(0)], ys)))"
    legs = (
        "arrayFilter(l -> abs(l) >= {leg}, arrayMap(part -> arraySum(part), arraySplit((v, i) -> i > 1 AND "
        "sign(v) != sign(d[greatest(i - 1, 1)]), d, arrayEnumerate(d))))"
    ).replace("{leg}", str(SCROLL_LEG_PX))
    legged = f"SELECT *, {steps} AS d, {legs} AS legs FROM ({positions})"
    reversals = "arrayCount((a, b) -> sign(a) != sign(b), arrayPopBack(legs), arrayPopFront(legs))"
    select = _row(
        "excessive_scroll", "session_hash", "pageview_id", "page", "first", "''", "''", "0", "0", "0", reversals
    )
    return f"{select} FROM ({legged}) WHERE {reversals} >= {SCROLL_REVERSALS}"


def js_error_sql(scope: Scope) -> str:
    """clarity-js ScriptError events (31): [message, line, column, stack, source]."""
    select = _row(
        "js_error",
        "session_hash",
        "pageview_id",
        "path(url)",
        "ts",
        "''",
        "JSONExtractString(data, 1)",
        "0",
        "0",
        "0",
        "concat(path(JSONExtractString(data, 5)), ':', toString(JSONExtractInt(data, 2)))",
    )
    return f"{select} FROM {scope.table('events')} WHERE {scope.where} AND type = {SCRIPT_ERROR}"


BRANCHES = {
    "rage_click": rage_sql,
    "dead_click": dead_sql,
    "quick_back": quick_back_sql,
    "excessive_scroll": excessive_scroll_sql,
    "js_error": js_error_sql,
}


def signals_sql(scope: Scope, signals: tuple[str, ...] = SIGNALS) -> str:
    """Every occurrence of the chosen signals in the scope (columns: SIGNAL_COLUMNS)."""
    return " UNION ALL ".join(f"({BRANCHES[s](scope)})" for s in signals)


#: whether a visit (a row of visits_sql) began on an archived day (needs `archive_days` in the WITH clause)
ARCHIVED_VISIT = "has(arrayMap(a -> a.1, archive_days), toDate(v_start, 'UTC'))"


def archive_days_sql(ctx: Context, params: Params, site: str, start: datetime, end: datetime) -> tuple[str, str]:
    """A scalar subquery of the archived UTC days read for [start, end) with their newest version (`archive_days`
    in a WITH clause), and the condition on `signal_occurrences` rows of those days' newest archives."""
    first, last = utc_days(start, end)
    where = f"site = {params.p(site, 'String')} AND day BETWEEN {params.day(first)} AND {params.day(last)}"
    days = (
        f"SELECT groupArray((day, v)) FROM (SELECT day, max(archived_at) AS v FROM "
        f"{ctx.table('signal_archive_days')} WHERE {where} GROUP BY day)"
    )
    return days, f"{where} AND (day, archived_at) IN (SELECT arrayJoin(archive_days))"


def split_sql(visits: str) -> str:
    """A scalar subquery (`archive_days` must be in the WITH clause) splitting the rows of `visits` (columns
    session_hash, v_start) into a tuple: the live visits, the archived ones (begun on an archived UTC day), and
    the first day the live visits' rows can be on (the day before the first of them began, as utc_days reads;
    none: a day after every stored one)."""
    return (
        "SELECT (groupArrayIf(session_hash, NOT stored), groupArrayIf(session_hash, stored), "
        "if(countIf(NOT stored) = 0, toDate('2149-06-06'), minIf(toDate(v_start, 'UTC'), NOT stored) - 1)) "
        f"FROM (SELECT session_hash, v_start, {ARCHIVED_VISIT} AS stored FROM ({visits}))"
    )


def occurrences_relation(
    ctx: Context,
    params: Params,
    site: str,
    start: datetime,
    end: datetime,
    visits: tuple[str, str, str],
    stored: str,
    signals: tuple[str, ...] = SIGNALS,
) -> str:
    """The chosen signals' occurrences (SIGNAL_COLUMNS) over the days of [start, end) of `visits`: subqueries of
    the live and of the archived session hashes and the first day the live ones' rows can be on (split_sql's
    tuple). The live ones are computed, the archived ones read from the `signal_occurrences` rows that `stored`
    selects (archive_days_sql), which hold what the same SQL computed when their day was archived. A visit is
    either live or archived, so counts and distinct visits add up."""
    live_visits, archived_visits, live_from = visits
    scope = Scope(ctx, params, site, start, end, live_visits, narrower=f"day >= {live_from}")
    names = ", ".join(f"'{s}'" for s in signals)
    archived = (
        f"SELECT {', '.join(SIGNAL_COLUMNS)} FROM {ctx.table('signal_occurrences')} "
        f"WHERE {stored} AND session_hash IN ({archived_visits}) AND signal IN ({names})"
    )
    return f"{signals_sql(scope, signals)} UNION ALL {archived}"


def occurrences_sql(
    ctx: Context, params: Params, query: Query, start: datetime | None = None, signals: tuple[str, ...] = SIGNALS
) -> tuple[str, str]:
    """The WITH clause and the occurrences (SIGNAL_COLUMNS) of the chosen signals in the query's visits from
    `start` (default the period's start): visits begun on an archived UTC day read from the archive, the others
    are computed live (occurrences_relation). What every insights panel aggregates."""
    begin = start or query.period.start
    days, stored = archive_days_sql(ctx, params, query.site, begin, query.period.end)
    visits = visits_sql(ctx, params, query, begin, query.period.end)
    prelude = f"WITH ({days}) AS archive_days, ({split_sql(visits)}) AS scope_split"
    split = ("SELECT arrayJoin(scope_split.1)", "SELECT arrayJoin(scope_split.2)", "scope_split.3")
    return prelude, occurrences_relation(ctx, params, query.site, begin, query.period.end, split, stored, signals)


def signal_option(query: Query) -> str:
    """The `signal` option (one of SIGNALS) or ''."""
    from dashboards.errors import BadQuery

    value = query.option("signal")
    if value and value not in SIGNALS:
        raise BadQuery(f"signal must be one of {', '.join(SIGNALS)}")
    return value


# --- panels ---------------------------------------------------------------------------------------

SIGNAL = Column("signal", "string", "rage_click, dead_click, quick_back, excessive_scroll or js_error")
OCCURRENCES = Column("occurrences", "integer", "times it happened")
SESSIONS = Column("sessions", "integer", "visits where it happened")


def summary_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    previous = query.period.previous
    prelude, found = occurrences_sql(ctx, params, query, previous.start)
    start = params.instant(query.period.start)
    visits = visits_sql(ctx, params, query, previous.start, query.period.end)
    return Sql(
        f"{prelude}, (SELECT (countIf(v_start >= {start}), countIf(v_start < {start})) FROM ({visits})) AS counted "
        f"SELECT signal, countIf(at >= {start}) AS occurrences, "
        f"uniqExactIf(session_hash, at >= {start}) AS sessions, "
        f"countIf(at < {start}) AS before, uniqExactIf(session_hash, at < {start}) AS sessions_before, "
        "counted.1 AS visits, counted.2 AS visits_before "
        f"FROM ({found}) GROUP BY signal",
        params.values,
    )


def _share(part: int, whole: int) -> float:
    return round(part * 100 / whole, 1) if whole else 0.0


def summary_shape(query: Query, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """One row per signal (zeros included), with the share of visits and the previous period."""
    found = {r[0]: r for r in rows}
    out = []
    for signal in SIGNALS:
        _, now, sessions, before, sessions_before, visits, visits_before = found.get(signal, (signal, 0, 0, 0, 0, 0, 0))
        change = round((now - before) * 100 / before, 1) if before else None
        out.append(
            (
                signal,
                int(now),
                int(sessions),
                _share(sessions, visits),
                int(before),
                _share(sessions_before, visits_before),
                change,
            )
        )
    return out


INSIGHTS = Panel(
    "insights",
    "Frustration signals",
    "Rage clicks, dead clicks, quick backs, excessive scrolling and JavaScript errors in the period's visits, with "
    "the share of visits affected and the previous period of the same length (rules: docs/insights.md).",
    (
        SIGNAL,
        OCCURRENCES,
        SESSIONS,
        Column("visit_share", "number", "percent of the period's visits affected"),
        Column("previous", "integer", "occurrences in the previous period"),
        Column("previous_visit_share", "number", "percent of the previous period's visits affected"),
        Column("change", "number", "change of occurrences in percent (null when the previous value is 0)"),
    ),
    summary_sql,
    summary_shape,
)


def trend_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    period = query.period
    unit = "toStartOfHour" if period.hourly else "toStartOfDay"
    zone = params.p(period.timezone, "String")
    counts = ", ".join(f"countIf(signal = '{s}')" for s in SIGNALS)
    prelude, found = occurrences_sql(ctx, params, query)
    return Sql(
        f"{prelude} SELECT formatDateTime({unit}(at, {zone}), '%Y-%m-%d %H:00', {zone}) AS bucket, {counts} "
        f"FROM ({found}) WHERE at >= {params.instant(period.start)} "
        f"AND at < {params.instant(period.end)} GROUP BY bucket ORDER BY bucket",
        params.values,
    )


def trend_shape(query: Query, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    found = {str(r[0]): r[1:] for r in rows}
    empty = (0,) * len(SIGNALS)
    return [(b, *map(int, found.get(b.strftime("%Y-%m-%d %H:00"), empty))) for b in _buckets(query.period)]


INSIGHTS_TREND = Panel(
    "insights_trend",
    "Frustration over time",
    "Occurrences of each signal per hour (periods of one or two days) or per day, in the site's time zone.",
    (
        Column("bucket", "datetime", "start of the hour or day, site time zone"),
        *(Column(s, "integer", f"{s.replace('_', ' ')} occurrences") for s in SIGNALS),
    ),
    trend_sql,
    trend_shape,
)


def pages_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    counts = ", ".join(f"countIf(signal = '{s}') AS {s}" for s in SIGNALS)
    prelude, found = occurrences_sql(ctx, params, query)
    only = f"WHERE {page_condition(params, query.filters.page, 'page')}" if query.filters.page else ""
    return Sql(
        f"{prelude} SELECT page, {counts}, uniqExact(session_hash) AS sessions, count() AS total "
        f"FROM ({found}) {only} GROUP BY page "
        f"ORDER BY total DESC, page LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


INSIGHTS_PAGES = Panel(
    "insights_pages",
    "Frustration by page",
    "Each signal's occurrences per page (a quick back counts for the page left and returned to).",
    (
        Column("page", "string", "path"),
        *(Column(s, "integer", f"{s.replace('_', ' ')} occurrences") for s in SIGNALS),
        SESSIONS,
        Column("total", "integer", "all signals"),
    ),
    pages_sql,
)


def errors_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    prelude, found = occurrences_sql(ctx, params, query, signals=("js_error",))
    return Sql(
        f"{prelude} SELECT label AS message, argMax(detail, (at, detail)) AS source, count() AS errors, "
        "uniqExact(session_hash) AS sessions, arraySlice(arraySort(groupUniqArray(page)), 1, 5) AS pages "
        f"FROM ({found}) "
        f"GROUP BY message ORDER BY errors DESC, message LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


JS_ERRORS = Panel(
    "js_errors",
    "JavaScript errors",
    "Script errors reported by clarity-js or the beacon, by message (masked like any other text).",
    (
        Column("message", "string", "error message"),
        Column("source", "string", "script path and line"),
        Column("errors", "integer", "occurrences"),
        SESSIONS,
        Column("pages", "array", "the first 5 pages (in path order) where it happened"),
    ),
    errors_sql,
)


def _exact_avg(value: str) -> str:
    """An average that does not depend on the order rows arrive in (a Decimal sum is exact): archived and live
    occurrences reach the same aggregate in different orders, and a float sum can then differ in its last bit."""
    return f"toFloat64(avg(toDecimal64({value}, 9)))"


def element_signal_panel(name: str, signal: str, title: str, description: str) -> Panel:
    """A signal by page and element (the heatmap markers): position in fractions of the document width."""

    def build(ctx: Context, query: Query) -> Sql:
        params = Params()
        prelude, found = occurrences_sql(ctx, params, query, signals=(signal,))
        only = f"AND {page_condition(params, query.filters.page, 'page')}" if query.filters.page else ""
        return Sql(
            f"{prelude} SELECT page, element, argMax(label, (at, label)) AS text, count() AS {name}, "
            "uniqExact(session_hash) AS sessions, "
            f"round({_exact_avg('x / greatest(width, 1)')}, 4) AS ax, "
            f"round({_exact_avg('y / greatest(width, 1)')}, 4) AS ay "
            f"FROM ({found}) WHERE 1 {only} "
            f"GROUP BY page, element ORDER BY {name} DESC, page, element LIMIT {params.p(query.limit, 'UInt32')}",
            params.values,
        )

    return Panel(
        name,
        title,
        description,
        (
            Column("page", "string", "path"),
            Column("element", "string", "selector hash of the clicked element"),
            Column("text", "string", "masked text of the clicked element"),
            Column(name, "integer", "occurrences"),
            SESSIONS,
            Column("x", "number", "horizontal position, fraction of the document width"),
            Column("y", "number", "vertical position in document widths"),
        ),
        build,
    )


RAGE_CLICKS = element_signal_panel(
    "rage_clicks",
    "rage_click",
    "Rage clicks",
    f"Bursts of {RAGE_MIN} or more clicks, each within {RAGE_GAP_MS} ms of the previous one on the same element or "
    f"within {RAGE_BOX_PX} px, by page and element (one per burst).",
)
DEAD_CLICKS = element_signal_panel(
    "dead_clicks",
    "dead_click",
    "Dead clicks",
    f"Clicks (not on links or form fields) followed by no change of the recorded page and no navigation within "
    f"{DEAD_WINDOW_MS} ms, by page and element (clarity-js recordings and beacon clicks).",
)

PANELS = (INSIGHTS, INSIGHTS_TREND, INSIGHTS_PAGES, JS_ERRORS, RAGE_CLICKS, DEAD_CLICKS)
