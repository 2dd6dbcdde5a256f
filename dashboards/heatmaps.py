"""Heatmap panels of one page: click density, scroll reach, rage clicks and dead clicks, for the visits
of the query (so the device filter gives a heatmap per device class).

Click coordinates are page pixels; they are normalised by the page's document width (x and y alike,
so shapes keep their aspect) and drawn over the recorded page at whatever width it is shown.
Rage click: the third click within 1 s inside a 60 px box on one page view. Dead click: a click (not
on a link or a form field) after which the recorded DOM did not change for 1 s, read from the
playback payloads (mutation times and click times are both page-relative there).
"""

from __future__ import annotations

from dashboards.model import Column, Context, Panel, Params, Query, Sql, utc_days
from dashboards.visits import page_condition, visit_sessions

GRID = 200  # cells across the document width: 5 px on a 1000 px page
RAGE_WINDOW_MS, RAGE_CLICKS, RAGE_BOX_PX = 1000, 3, 60
DEAD_WINDOW_MS = 1000
FORM_TAGS = ("input", "select", "textarea", "option", "label")
CLICK = 9

X = Column("x", "number", "horizontal position as a fraction of the document width")
Y = Column("y", "number", "vertical position in document widths (y px / document width px)")
PAGE = Column("page", "string", "path")
ELEMENT = Column("element", "string", "Clarity selector hash of the clicked element")
TEXT = Column("text", "string", "masked text of the clicked element")
SESSIONS = Column("sessions", "integer", "visits where it happened")


def _clicks_where(ctx: Context, params: Params, query: Query) -> str:
    first, last = utc_days(query.period.start, query.period.end)
    page = f"AND {page_condition(params, query.filters.page)}" if query.filters.page else ""
    return (
        f"FROM {ctx.table('events')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} AND type = {CLICK} {page} "
        f"AND session_hash IN ({visit_sessions(ctx, params, query)})"
    )


def clicks_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    return Sql(
        f"SELECT (intDiv(x * {GRID}, doc_width) + 0.5) / {GRID} AS cx, (intDiv(y * {GRID}, doc_width) + 0.5) / {GRID} "
        f"AS cy, count() AS clicks {_clicks_where(ctx, params, query)} AND doc_width > 0 AND x >= 0 AND y >= 0 "
        "GROUP BY cx, cy ORDER BY clicks DESC, cx, cy LIMIT 100000",
        params.values,
    )


HEATMAP_CLICKS = Panel(
    "heatmap_clicks", "Click heatmap",
    f"Clicks on the page in cells of 1/{GRID} of the document width.",
    (X, Y, Column("clicks", "integer", "clicks in the cell")),
    clicks_sql, needs_page=True,
)


def scroll_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    first, last = utc_days(query.period.start, query.period.end)
    depths = (
        "SELECT pageview_id, least(max(scroll_bottom) / max(doc_height), 1) * 100 AS reach "
        f"FROM {ctx.table('pageviews')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} AND {page_condition(params, query.filters.page)} "
        f"AND session_hash IN ({visit_sessions(ctx, params, query)}) GROUP BY pageview_id HAVING max(doc_height) > 0"
    )
    return Sql(
        "SELECT depth, countIf(reach >= depth) AS pageviews, "
        "round(countIf(reach >= depth) * 100 / count(), 1) AS share "
        f"FROM ({depths}) ARRAY JOIN range(0, 101, 5) AS depth GROUP BY depth ORDER BY depth",
        params.values,
    )


HEATMAP_SCROLL = Panel(
    "heatmap_scroll", "Scroll depth",
    "Share of the page's views whose deepest scroll (bottom of the viewport) reached each 5% of the page height.",
    (Column("depth", "integer", "percent of the page height"),
     Column("pageviews", "integer", "page views that reached it"),
     Column("share", "number", "percent of the page's views")),
    scroll_sql, needs_page=True,
)


def rage_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    window = (
        "PARTITION BY pageview_id ORDER BY toUnixTimestamp64Milli(ts) "
        f"RANGE BETWEEN {RAGE_WINDOW_MS} PRECEDING AND CURRENT ROW"
    )
    clicks = (
        "SELECT path(url) AS page, session_hash, target_hash, text, x, y, doc_width, count() OVER w AS burst, "
        "max(x) OVER w - min(x) OVER w AS spread_x, max(y) OVER w - min(y) OVER w AS spread_y "
        f"{_clicks_where(ctx, params, query)} WINDOW w AS ({window})"
    )
    return Sql(
        "SELECT page, target_hash AS element, any(text) AS label, count() AS rage_clicks, "
        "uniqExact(session_hash) AS sessions, round(avg(x / greatest(doc_width, 1)), 4) AS ax, "
        f"round(avg(y / greatest(doc_width, 1)), 4) AS ay FROM ({clicks}) WHERE burst = {RAGE_CLICKS} "
        f"AND spread_x <= {RAGE_BOX_PX} AND spread_y <= {RAGE_BOX_PX} GROUP BY page, element "
        f"ORDER BY rage_clicks DESC, page, element LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


RAGE_CLICKS_PANEL = Panel(
    "rage_clicks", "Rage clicks",
    f"{RAGE_CLICKS} clicks within {RAGE_WINDOW_MS} ms inside a {RAGE_BOX_PX} px box, by page and element.",
    (PAGE, ELEMENT, TEXT, Column("rage_clicks", "integer", "bursts"), SESSIONS, X, Y),
    rage_sql,
)


def dead_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    first, last = utc_days(query.period.start, query.period.end)
    site, day_from, day_to = params.p(query.site, "String"), params.day(first), params.day(last)
    sessions = visit_sessions(ctx, params, query)
    per_page_view = (
        r"SELECT pageview_id, arrayMap(m -> toInt64(m), groupArrayArray(extractAll(payload, '\\[(\\d+),6,'))) AS muts, "
        r"groupArrayArray(extractAllGroupsVertical(payload, '\\[(\\d+),9,(-?\\d+),(-?\\d+),(-?\\d+),')) AS clicks "
        f"FROM {ctx.table('playback')} WHERE site = {site} AND day BETWEEN {day_from} AND {day_to} "
        f"AND session_hash IN ({sessions}) GROUP BY pageview_id"
    )
    dead = (
        "SELECT pageview_id, toInt64(c[2]), toInt32(c[3]), toInt32(c[4]) "
        f"FROM ({per_page_view}) ARRAY JOIN clicks AS c "
        f"WHERE NOT arrayExists(m -> m > toInt64(c[1]) AND m <= toInt64(c[1]) + {DEAD_WINDOW_MS}, muts)"
    )
    page = f"AND {page_condition(params, query.filters.page)}" if query.filters.page else ""
    forms = ", ".join(f"'{t}'" for t in FORM_TAGS)
    return Sql(
        "SELECT path(url) AS page, target_hash AS element, any(text) AS label, count() AS dead_clicks, "
        "uniqExact(session_hash) AS sessions, round(avg(x / greatest(doc_width, 1)), 4) AS ax, "
        f"round(avg(y / greatest(doc_width, 1)), 4) AS ay FROM {ctx.table('events')} WHERE site = {site} "
        f"AND day BETWEEN {day_from} AND {day_to} AND type = {CLICK} {page} AND link = '' "
        f"AND lower(target_tag) NOT IN ({forms}) AND (pageview_id, target, x, y) IN ({dead}) "
        f"GROUP BY page, element ORDER BY dead_clicks DESC, page, element LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


DEAD_CLICKS_PANEL = Panel(
    "dead_clicks", "Dead clicks",
    f"Clicks (not on links or form fields) followed by no change of the recorded page within {DEAD_WINDOW_MS} ms.",
    (PAGE, ELEMENT, TEXT, Column("dead_clicks", "integer", "clicks"), SESSIONS, X, Y),
    dead_sql,
)

PANELS = (HEATMAP_CLICKS, HEATMAP_SCROLL, RAGE_CLICKS_PANEL, DEAD_CLICKS_PANEL)
