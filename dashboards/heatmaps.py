"""Heatmap panels of one page, per layout: click density, element areas, scroll reach and attention.

A layout is a device class (desktop, mobile, tablet): pages reflow between them, so each heatmap only holds
the page views of one layout and is drawn over a recorded view of that same layout (`layout` option; by
default the device filter, else the page's most viewed layout). Positions are page pixels divided by the
page view's document width (x and y alike, so shapes keep their aspect) and are drawn over the snapshot at
whatever width it is shown. Rage and dead clicks live with the other frustration signals (insights.py).
"""

from __future__ import annotations

from dashboards.errors import BadQuery
from dashboards.insights import Scope, clicks_sql
from dashboards.model import Column, Context, Panel, Params, Query, Sql, utc_days
from dashboards.visits import page_condition, visit_sessions

GRID = 200  # cells across the document width: 5 px on a 1000 px page
BANDS = 20  # attention and scroll bands: 5 % of the page height each
#: an interval without scrolling counts at most this long towards attention (an idle, forgotten tab)
ATTENTION_CAP_MS = 60_000
CLICK_PRECISION = 32767  # clarity-js (and the beacon) send the click's place in its element in 1/32767
LAYOUTS = ("desktop", "mobile", "tablet", "unknown")
OPTIONS = ("layout",)

X = Column("x", "number", "horizontal position as a fraction of the document width")
Y = Column("y", "number", "vertical position in document widths (y px / document width px)")
LAYOUT = Column("layout", "string", "device class whose page views the heatmap holds")


def layout_of(ctx: Context, params: Params, query: Query, where: str) -> str:
    """SQL for the layout: the option, the device filter, else the most viewed device class of the page."""
    wanted = query.option("layout") or query.filters.device
    if wanted:
        if wanted not in LAYOUTS:
            raise BadQuery(f"layout must be one of {', '.join(LAYOUTS)}")
        return params.p(wanted, "String")
    return (
        f"(SELECT argMax(d, (n, d)) FROM (SELECT CAST(device, 'String') AS d, uniqExact(pageview_id) AS n "
        f"FROM {ctx.table('pageviews')} WHERE {where} GROUP BY d))"
    )


def layout_views(ctx: Context, params: Params, query: Query) -> tuple[str, str]:
    """(page views of the query's page in its visits and layout, the layout expression)."""
    first, last = utc_days(query.period.start, query.period.end)
    where = (
        f"site = {params.p(query.site, 'String')} AND day BETWEEN {params.day(first)} AND {params.day(last)} "
        f"AND {page_condition(params, query.filters.page)} "
        f"AND session_hash IN ({visit_sessions(ctx, params, query)})"
    )
    layout = layout_of(ctx, params, query, where)
    views = f"SELECT pageview_id FROM {ctx.table('pageviews')} WHERE {where} AND device = {layout}"
    return views, layout


def _layout_clicks(ctx: Context, params: Params, query: Query, with_data: bool = False) -> tuple[str, str]:
    """Clicks of the layout's page views that can be placed (a known document width)."""
    views, layout = layout_views(ctx, params, query)
    scope = Scope(ctx, params, query.site, query.period.start, query.period.end, views, "pageview_id")
    clicks = f"SELECT * FROM ({clicks_sql(scope, with_data)}) WHERE width > 0 AND x >= 0 AND y >= 0"
    return clicks, layout


def layouts_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    first, last = utc_days(query.period.start, query.period.end)
    return Sql(
        "SELECT device AS layout, uniqExact(pageview_id) AS pageviews, sum(clicks) AS clicks, "
        "round(quantileExact(0.5)(screen_width)) AS screen_width "
        f"FROM {ctx.table('pageviews')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} AND {page_condition(params, query.filters.page)} "
        f"AND session_hash IN ({visit_sessions(ctx, params, query)}) GROUP BY layout ORDER BY pageviews DESC, layout",
        params.values,
    )


HEATMAP_LAYOUTS = Panel(
    "heatmap_layouts",
    "Layouts of a page",
    "The device classes the page was viewed on, each with its own heatmaps.",
    (
        LAYOUT,
        Column("pageviews", "integer", "page views"),
        Column("clicks", "integer", "clicks"),
        Column("screen_width", "number", "median screen width, px"),
    ),
    layouts_sql,
    needs_page=True,
)


def clicks_panel_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    clicks, layout = _layout_clicks(ctx, params, query)
    return Sql(
        f"SELECT {layout} AS layout, (intDiv(x * {GRID}, width) + 0.5) / {GRID} AS cx, "
        f"(intDiv(y * {GRID}, width) + 0.5) / {GRID} AS cy, count() AS clicks FROM ({clicks}) "
        "GROUP BY cx, cy ORDER BY clicks DESC, cx, cy LIMIT 100000",
        params.values,
    )


HEATMAP_CLICKS = Panel(
    "heatmap_clicks",
    "Click heatmap",
    f"Clicks on the page in cells of 1/{GRID} of the document width, for one layout (option layout).",
    (LAYOUT, X, Y, Column("clicks", "integer", "clicks in the cell")),
    clicks_panel_sql,
    needs_page=True,
    options=OPTIONS,
)


def areas_sql(ctx: Context, query: Query) -> Sql:
    """Clicks per element with the element's box, recovered from each click: its place inside the element
    (data fields 4-5, in 1/32767) and the element's size (fields 14-15)."""
    params = Params()
    clicks, layout = _layout_clicks(ctx, params, query, with_data=True)
    p = CLICK_PRECISION
    boxed = (
        "SELECT *, JSONExtractFloat(data, 14) AS bw, JSONExtractFloat(data, 15) AS bh, "
        f"x - JSONExtractFloat(data, 4) / {p} * bw AS bx, y - JSONExtractFloat(data, 5) / {p} * bh AS by "
        f"FROM ({clicks})"
    )
    return Sql(
        f"SELECT {layout} AS layout, target_hash AS element, argMax(text, t) AS label, argMax(target_tag, t) AS tag, "
        "count() AS clicks, round(count() * 100 / sum(count()) OVER (), 1) AS share, "
        "round(quantileExact(0.5)(bx / width), 4) AS left, round(quantileExact(0.5)(by / width), 4) AS top, "
        "round(quantileExact(0.5)(bw / width), 4) AS w, round(quantileExact(0.5)(bh / width), 4) AS h "
        f"FROM ({boxed}) GROUP BY element ORDER BY clicks DESC, element LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


HEATMAP_AREAS = Panel(
    "heatmap_areas",
    "Area heatmap",
    "Clicks per element region of the page for one layout, with the share of the page's clicks and the element's "
    "box (left, top, width, height in document widths).",
    (
        LAYOUT,
        Column("element", "string", "selector hash of the element"),
        Column("text", "string", "masked text of the element"),
        Column("tag", "string", "tag name"),
        Column("clicks", "integer", "clicks on it"),
        Column("share", "number", "percent of the layout's clicks on the page"),
        Column("left", "number", "box left, fraction of the document width"),
        Column("top", "number", "box top, in document widths"),
        Column("width", "number", "box width, fraction of the document width"),
        Column("height", "number", "box height, in document widths"),
    ),
    areas_sql,
    needs_page=True,
    options=OPTIONS,
)


def _view_facts(ctx: Context, params: Params, query: Query) -> tuple[str, str, str]:
    """(page views of the layout with start, end, document and screen height; the events filter; the layout)."""
    views, layout = layout_views(ctx, params, query)
    first, last = utc_days(query.period.start, query.period.end)
    site, days = params.p(query.site, "String"), f"day BETWEEN {params.day(first)} AND {params.day(last)}"
    facts = (
        "SELECT pageview_id, toUnixTimestamp64Milli(min(started_at)) AS t0, "
        "toUnixTimestamp64Milli(max(last_at)) AS t1, "
        f"max(doc_height) AS h, max(screen_height) AS sh FROM {ctx.table('pageviews')} WHERE site = {site} AND {days} "
        f"AND pageview_id IN ({views}) GROUP BY pageview_id HAVING h > 0"
    )
    events = f"site = {site} AND {days} AND pageview_id IN ({views})"
    return facts, events, layout


def scroll_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    facts, events, layout = _view_facts(ctx, params, query)
    depths = (
        f"SELECT f.pageview_id, least(max(p.scroll_bottom) / any(f.h), 1) * 100 AS reach FROM ({facts}) AS f "
        f"JOIN {ctx.table('pageviews')} AS p ON p.pageview_id = f.pageview_id WHERE p.{events} "
        "GROUP BY f.pageview_id"
    )
    return Sql(
        f"SELECT {layout} AS layout, depth, countIf(reach >= depth) AS pageviews, "
        "round(countIf(reach >= depth) * 100 / count(), 1) AS share "
        f"FROM ({depths}) ARRAY JOIN range(0, 101, {100 // BANDS}) AS depth GROUP BY depth ORDER BY depth",
        params.values,
    )


HEATMAP_SCROLL = Panel(
    "heatmap_scroll",
    "Scroll depth",
    "Share of the page's views (one layout) whose deepest scroll (bottom of the viewport) reached each 5% of the "
    "page height.",
    (
        LAYOUT,
        Column("depth", "integer", "percent of the page height"),
        Column("pageviews", "integer", "page views that reached it"),
        Column("share", "number", "percent of the page's views"),
    ),
    scroll_sql,
    needs_page=True,
    options=OPTIONS,
)


def attention_sql(ctx: Context, query: Query) -> Sql:
    """Per page view: the scroll positions over time (from the top at its start) and the viewport height; each
    band's time in view is the sum of the intervals whose viewport overlapped it (each capped)."""
    params = Params()
    facts, events, layout = _view_facts(ctx, params, query)
    moves = (
        "SELECT pageview_id, "
        "arraySort(groupArrayIf((toUnixTimestamp64Milli(ts), toInt64(y)), type = 10)) AS pos, "
        "argMaxIf(y, ts, type = 11 AND y > 0) AS vh "
        f"FROM {ctx.table('events')} WHERE {events} AND type IN (10, 11) GROUP BY pageview_id"
    )
    per_view = (
        "SELECT f.pageview_id AS pageview_id, f.h AS h, if(m.vh > 0, m.vh, f.sh) AS view_h, "
        "arrayConcat([f.t0], arrayMap(p -> p.1, m.pos)) AS starts, "
        "arrayConcat([toInt64(0)], arrayMap(p -> p.2, m.pos)) AS tops, "
        "arrayPushBack(arrayPopFront(starts), greatest(f.t1, starts[-1])) AS ends "
        f"FROM ({facts}) AS f LEFT JOIN ({moves}) AS m ON m.pageview_id = f.pageview_id"
    )
    seen = (
        f"arraySum((s, e, top) -> if(top < (band + 1) * h / {BANDS} AND top + view_h > band * h / {BANDS}, "
        f"least(greatest(e - s, 0), {ATTENTION_CAP_MS}), 0), starts, ends, tops)"
    )
    return Sql(
        f"SELECT {layout} AS layout, band * {100 // BANDS} AS depth, round(avg({seen}) / 1000, 2) AS seconds, "
        "round(avg(least(view_h / h, 1)) * 100, 1) AS fold, count() AS pageviews "
        f"FROM ({per_view}) ARRAY JOIN range(0, {BANDS}) AS band GROUP BY band ORDER BY band",
        params.values,
    )


HEATMAP_ATTENTION = Panel(
    "heatmap_attention",
    "Attention",
    f"Average seconds each {100 // BANDS}% band of the page (one layout) was inside the viewport per page view "
    f"(an interval without scrolling counts at most {ATTENTION_CAP_MS // 1000} s), and the average fold (viewport "
    "height as a percent of the page height).",
    (
        LAYOUT,
        Column("depth", "integer", "top of the band, percent of the page height"),
        Column("seconds", "number", "average seconds in view per page view"),
        Column("fold", "number", "average viewport height, percent of the page height"),
        Column("pageviews", "integer", "page views of the layout"),
    ),
    attention_sql,
    needs_page=True,
    options=OPTIONS,
)

PANELS = (HEATMAP_LAYOUTS, HEATMAP_CLICKS, HEATMAP_AREAS, HEATMAP_SCROLL, HEATMAP_ATTENTION)
