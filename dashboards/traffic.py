"""Traffic panels: figures with the previous period, a time series, breakdowns by source, page,
location and device, events, goals and the real-time count.

Visit-level panels read the visit set (visits.py); page- and event-level panels read `pageviews` and
`events` for the sessions of that set, so every filter applies to every panel and, for instance, the
page views of `top_pages` add up to the overview's page views.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any

from dashboards.labels import duration_text
from dashboards.model import Column, Context, Panel, Params, Query, Sql, utc_days
from dashboards.periods import Period
from dashboards.visits import page_condition, visit_sessions, visits_sql

VISITORS = Column("visitors", "integer", "distinct visitor hashes")
VISITS = Column("visits", "integer", "distinct sessions")
PAGEVIEWS = Column("pageviews", "integer", "distinct page views")
BOUNCE = Column("bounce_rate", "number", "percentage of visits with one page view")
FIGURES = ("visitors", "visits", "pageviews", "views_per_visit", "bounce_rate", "visit_duration")


def _ratio(numerator: float, denominator: float, scale: float = 1.0, digits: int = 2) -> float:
    return round(numerator * scale / denominator, digits) if denominator else 0.0


# --- overview -------------------------------------------------------------------------------------


def overview_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    previous = query.period.previous
    visits = visits_sql(ctx, params, query, previous.start, query.period.end)
    return Sql(
        f"SELECT v_start >= {params.instant(query.period.start)} AS current, uniqExact(v_visitor), count(), "
        "sum(v_pageviews), countIf(v_pageviews = 1), "
        "sum(toUnixTimestamp64Milli(v_end) - toUnixTimestamp64Milli(v_start)) / 1000 "
        f"FROM ({visits}) GROUP BY current",
        params.values,
    )


def _figures(row: tuple[Any, ...] | None) -> dict[str, float]:
    _, visitors, visits, pageviews, bounces, seconds = row or (0, 0, 0, 0, 0, 0.0)
    return {
        "visitors": int(visitors),
        "visits": int(visits),
        "pageviews": int(pageviews),
        "views_per_visit": _ratio(pageviews, visits),
        "bounce_rate": _ratio(bounces, visits, 100, 1),
        "visit_duration": _ratio(float(seconds), visits, 1, 1),
    }


def figure_text(metric: str, value: float) -> str:
    """A figure with its unit, as a reader expects it (`1 min 05 s`, `42.5 %`)."""
    if metric == "visit_duration":
        return duration_text(value)
    if metric == "bounce_rate":
        return f"{value:g} %"
    return f"{value:,g}"


def overview_shape(query: Query, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    current = _figures(next((r for r in rows if r[0]), None))
    previous = _figures(next((r for r in rows if not r[0]), None))
    return [
        (
            name,
            current[name],
            previous[name],
            _ratio(current[name] - previous[name], previous[name], 100, 1) if previous[name] else None,
            figure_text(name, current[name]),
            figure_text(name, previous[name]),
        )
        for name in FIGURES
    ]


OVERVIEW = Panel(
    "overview",
    "Overview",
    "Visitors, visits, page views, views per visit, bounce rate and visit duration (seconds), with the "
    "previous period of the same length.",
    (
        Column("metric", "string", "figure name"),
        Column("value", "number", "this period"),
        Column("previous", "number", "the period of the same length just before"),
        Column("change", "number", "change in percent (null when the previous value is 0)"),
        Column("display", "string", "this period's value with its unit (durations as 1 min 05 s, rates in %)"),
        Column("previous_display", "string", "the previous value with its unit"),
    ),
    overview_sql,
    overview_shape,
)


# --- time series ----------------------------------------------------------------------------------


def timeseries_sql(ctx: Context, query: Query) -> Sql:
    """Buckets of the period and of the previous period (the chart's second line), in one pass."""
    params = Params()
    period = query.period
    unit = "toStartOfHour" if period.hourly else "toStartOfDay"
    zone = params.p(period.timezone, "String")
    visits = visits_sql(ctx, params, query, period.previous.start, period.end)
    return Sql(
        f"SELECT formatDateTime({unit}(v_start, {zone}), '%Y-%m-%d %H:00', {zone}) AS bucket, uniqExact(v_visitor), "
        f"count(), sum(v_pageviews), countIf(v_pageviews = 1) FROM ({visits}) GROUP BY bucket ORDER BY bucket",
        params.values,
    )


def _buckets(period: Period) -> list[datetime]:
    """Local starts of every hour or day of the period (naive, in the site's zone)."""
    if not period.hourly:
        return [datetime.combine(period.first_day + timedelta(days=i), time()) for i in range(period.days)]
    hours = int((period.end - period.start).total_seconds() // 3600)
    return [(period.start + timedelta(hours=i)).astimezone(period.zone).replace(tzinfo=None) for i in range(hours)]


def timeseries_shape(query: Query, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """Every bucket of the period, empty ones as zeros (a chart needs a continuous axis), each beside the
    bucket at the same position of the previous period (None past its end: a DST day has 23 or 25 hours)."""
    found = {str(r[0]): r for r in rows}
    empty = (None, 0, 0, 0, 0)
    previous = _buckets(query.period.previous)
    out: list[tuple[Any, ...]] = []
    for i, bucket in enumerate(_buckets(query.period)):
        _, visitors, visits, pageviews, bounces = found.get(bucket.strftime("%Y-%m-%d %H:00"), empty)
        row = (bucket, int(visitors), int(visits), int(pageviews), _ratio(bounces, visits, 100, 1))
        if i < len(previous):
            _, p_visitors, p_visits, p_pageviews, _ = found.get(previous[i].strftime("%Y-%m-%d %H:00"), empty)
            out.append((*row, previous[i], int(p_visitors), int(p_visits), int(p_pageviews)))
        else:
            out.append((*row, None, None, None, None))
    return out


TIMESERIES = Panel(
    "timeseries",
    "Visitors over time",
    "Per hour (periods of one or two days) or per day, in the site's time zone, by visit start; each bucket "
    "beside the bucket at the same position of the previous period (the chart's second line).",
    (
        Column("bucket", "datetime", "start of the hour or day, site time zone"),
        VISITORS,
        VISITS,
        PAGEVIEWS,
        BOUNCE,
        Column("previous_bucket", "datetime", "the previous period's bucket at the same position"),
        Column("previous_visitors", "integer", "visitors in that bucket"),
        Column("previous_visits", "integer", "visits in that bucket"),
        Column("previous_pageviews", "integer", "page views in that bucket"),
    ),
    timeseries_sql,
    timeseries_shape,
)


# --- visit breakdowns -----------------------------------------------------------------------------


def _breakdown(dimensions: tuple[tuple[str, str], ...]) -> Any:
    """A panel body grouping visits by visit columns (name shown, visit column)."""

    def build(ctx: Context, query: Query) -> Sql:
        params = Params()
        attributes = tuple(column for _, column in dimensions)
        visits = visits_sql(ctx, params, query, query.period.start, query.period.end, attributes)
        keys = ", ".join(f"{column} AS {name}" for name, column in dimensions)
        group = ", ".join(name for name, _ in dimensions)
        return Sql(
            f"SELECT {keys}, uniqExact(v_visitor) AS visitors, count() AS visits, sum(v_pageviews) AS pageviews, "
            f"round(countIf(v_pageviews = 1) * 100 / count(), 1) AS bounce_rate FROM ({visits}) "
            f"GROUP BY {group} ORDER BY visits DESC, {group} LIMIT {params.p(query.limit, 'UInt32')}",
            params.values,
        )

    return build


def _breakdown_panel(
    name: str,
    title: str,
    description: str,
    dimensions: tuple[tuple[str, str, str], ...],
    labels: tuple[Column, ...] = (),
) -> Panel:
    return Panel(
        name,
        title,
        description,
        tuple(Column(n, "string", d) for n, _, d in dimensions) + labels + (VISITORS, VISITS, PAGEVIEWS, BOUNCE),
        _breakdown(tuple((n, c) for n, c, _ in dimensions)),
    )


BREAKDOWNS = (
    _breakdown_panel(
        "sources",
        "Sources",
        "Campaign source, search engine or social network, or referring host ('' is direct).",
        (("source", "v_source_name", "where the visit came from"),),
    ),
    _breakdown_panel(
        "channels",
        "Channels",
        "direct, search, social, website or campaign.",
        (("channel", "v_channel", "acquisition channel"),),
        (Column("channel_label", "string", "channel, readable", label=("channel", "channel")),),
    ),
    _breakdown_panel(
        "campaigns",
        "Campaigns",
        "utm_/mtm_ campaign name and medium of the visit's first page.",
        (("campaign", "v_campaign_name", "campaign name"), ("medium", "v_campaign_medium", "campaign medium")),
    ),
    _breakdown_panel(
        "countries",
        "Countries",
        "ISO country code from the IP at ingest (the IP is not stored).",
        (("country", "v_country", "ISO 3166 code"),),
        (
            Column("country_name", "string", "country name", label=("country", "country")),
            Column("flag", "string", "country flag (emoji)", label=("flag", "country")),
        ),
    ),
    _breakdown_panel(
        "devices",
        "Devices",
        "desktop, mobile, tablet or unknown.",
        (("device", "v_device", "device class"),),
        (Column("device_label", "string", "device class, readable", label=("device", "device")),),
    ),
    _breakdown_panel("browsers", "Browsers", "Browser family.", (("browser", "v_browser", "browser family"),)),
    _breakdown_panel("os", "Operating systems", "Operating system family.", (("os", "v_os", "OS family"),)),
    _breakdown_panel(
        "entry_pages", "Entry pages", "The first page of each visit.", (("page", "v_entry_page", "path"),)
    ),
    _breakdown_panel(
        "exit_pages", "Exit pages", "The page of each visit's last page view.", (("page", "v_exit_page", "path"),)
    ),
)


# --- pages ----------------------------------------------------------------------------------------


def page_views_sql(ctx: Context, params: Params, query: Query) -> str:
    """One row per page view of the query's visits: p_visitor, p_session, p_page, p_depth (0-1)."""
    first, last = utc_days(query.period.start, query.period.end)
    return (
        "SELECT pageview_id, max(visitor_hash) AS p_visitor, any(session_hash) AS p_session, "
        "path(max(url)) AS p_page, if(max(doc_height) > 0, least(max(scroll_bottom) / max(doc_height), 1), NULL) "
        f"AS p_depth FROM {ctx.table('pageviews')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} "
        f"AND session_hash IN ({visit_sessions(ctx, params, query)}) GROUP BY pageview_id"
    )


def top_pages_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    rows = page_views_sql(ctx, params, query)
    only = f"WHERE {page_condition(params, query.filters.page, 'p_page')}" if query.filters.page else ""
    return Sql(
        "SELECT p_page AS page, uniqExact(p_visitor) AS visitors, count() AS pageviews, "
        "round(avg(p_depth) * 100, 1) AS scroll_depth "
        f"FROM ({rows}) {only} GROUP BY page ORDER BY pageviews DESC, page LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


TOP_PAGES = Panel(
    "top_pages",
    "Top pages",
    "Page views by path (with the page filter: only the matching pages).",
    (
        Column("page", "string", "path"),
        VISITORS,
        PAGEVIEWS,
        Column("scroll_depth", "number", "average deepest scroll, percent of the page height"),
    ),
    top_pages_sql,
)


# --- events and goals -----------------------------------------------------------------------------

#: Event types shown in the events panel: Clarity custom events and the Matomo actions (1000+, see
#: docs/matomo.md), each with the two fields that name it.
EVENT_LABELS = (
    "multiIf(type = 24, key, type = 1002, text, type IN (1003, 1004), link, key)",
    "multiIf(type = 24, value, type = 1002, key, type IN (1003, 1004), '', value)",
)
EVENT_TYPES = (24, 1001, 1002, 1003, 1004, 1008)
GOAL_TYPES = (1005, 1006)
PRODUCT_VIEW = 1011  # Matomo setEcommerceView (collector/matomo/hit.py)


def _events_where(ctx: Context, params: Params, query: Query, types: tuple[int, ...]) -> str:
    first, last = utc_days(query.period.start, query.period.end)
    return (
        f"FROM {ctx.table('events')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} AND type IN ({', '.join(map(str, types))}) "
        f"AND session_hash IN ({visit_sessions(ctx, params, query)})"
    )


def events_sql(ctx: Context, query: Query) -> Sql:
    """Events by name: counts, visitors and a summary of their values instead of one row per value. The beacon's
    `engagement` event repeats the page view's running total, so only its last (largest) value per page view
    counts, once."""
    params = Params()
    name, detail = EVENT_LABELS
    number = "if(type = 24, toFloat64OrNull(value), if(type = 1001 AND num != 0, num, NULL))"
    plain = (
        f"SELECT name AS kind, {name} AS event, {detail} AS detail, {number} AS amount, visitor_hash "
        f"{_events_where(ctx, params, query, EVENT_TYPES)} AND NOT (type = 24 AND key = 'engagement')"
    )
    engagement = (
        f"SELECT any(name), 'engagement', '', max(toFloat64OrNull(value)), any(visitor_hash) "
        f"{_events_where(ctx, params, query, (24,))} AND key = 'engagement' GROUP BY pageview_id"
    )
    return Sql(
        "SELECT kind, event, count() AS events, uniqExact(visitor_hash) AS visitors, "
        "uniqExactIf(detail, detail != '') AS values, topKIf(1)(detail, detail != '')[1] AS top_value, "
        "round(sum(amount), 2) AS total, round(avg(amount), 2) AS average "
        f"FROM ({plain} UNION ALL {engagement}) GROUP BY kind, event "
        f"ORDER BY events DESC, kind, event LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


EVENTS = Panel(
    "events",
    "Events",
    "Custom events (Clarity `event`, our beacon) and Matomo events, site searches, outlinks, downloads and "
    "content interactions, by name; their values summarised (engagement: milliseconds per page view).",
    (
        Column("kind", "string", "custom, event, site_search, outlink, download or content"),
        Column("event", "string", "custom event key, Matomo category, search keyword or link"),
        Column("events", "integer", "occurrences (engagement: page views)"),
        VISITORS,
        Column("values", "integer", "distinct values (custom event value, Matomo action, search category)"),
        Column("top_value", "string", "the most frequent value"),
        Column("total", "number", "sum of the numeric values (null when none is a number)"),
        Column("average", "number", "average of the numeric values"),
    ),
    events_sql,
)


def goals_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    total = f"(SELECT count() FROM ({visits_sql(ctx, params, query, query.period.start, query.period.end)}))"
    return Sql(
        "SELECT if(type = 1005, concat('goal ', key), 'ecommerce order') AS goal, count() AS conversions, "
        "uniqExact(visitor_hash) AS visitors, round(sum(num), 2) AS revenue, "
        f"round(uniqExact(session_hash) * 100 / greatest({total}, 1), 2) AS conversion_rate "
        f"{_events_where(ctx, params, query, GOAL_TYPES)} "
        f"GROUP BY goal ORDER BY conversions DESC, goal LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


GOALS = Panel(
    "goals",
    "Goals",
    "Matomo goal conversions and e-commerce orders.",
    (
        Column("goal", "string", "goal id or 'ecommerce order'"),
        Column("conversions", "integer", "conversions"),
        VISITORS,
        Column("revenue", "number", "sum of revenue"),
        Column("conversion_rate", "number", "percentage of visits that converted"),
    ),
    goals_sql,
)


def product_views_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    return Sql(
        "SELECT key AS sku, any(value) AS name, any(text) AS category, count() AS views, "
        "uniqExact(visitor_hash) AS visitors, round(avg(num), 2) AS price "
        f"{_events_where(ctx, params, query, (PRODUCT_VIEW,))} "
        f"GROUP BY sku ORDER BY views DESC, sku LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


PRODUCT_VIEWS = Panel(
    "product_views",
    "Product views",
    "Product and category pages marked with Matomo's `setEcommerceView` (SKU, name, category, price).",
    (
        Column("sku", "string", "product SKU ('' for a category page)"),
        Column("name", "string", "product name"),
        Column("category", "string", "product category (several joined by ', ')"),
        Column("views", "integer", "product page views"),
        VISITORS,
        Column("price", "number", "average price sent with the views"),
    ),
    product_views_sql,
)


# --- real time ------------------------------------------------------------------------------------

REALTIME_MINUTES = 30


def realtime_sql(ctx: Context, query: Query) -> Sql:
    """Visits begun in the last day, active in the last 30 minutes (period ignored, filters apply)."""
    params = Params()
    now = datetime.now(timezone.utc)
    visits = visits_sql(
        ctx,
        params,
        query,
        now - timedelta(days=1),
        now + timedelta(minutes=1),
        having=f"v_end >= {params.instant(now - timedelta(minutes=REALTIME_MINUTES))}",
    )
    return Sql(f"SELECT uniqExact(v_visitor), count(), sum(v_pageviews) FROM ({visits})", params.values)


REALTIME = Panel(
    "realtime",
    "Visitors now",
    f"Visitors active in the last {REALTIME_MINUTES} minutes (the period is ignored).",
    (VISITORS, VISITS, PAGEVIEWS),
    realtime_sql,
    lambda query, rows: [tuple(int(v or 0) for v in rows[0])] if rows else [(0, 0, 0)],
)

PANELS = (OVERVIEW, TIMESERIES, *BREAKDOWNS, TOP_PAGES, EVENTS, GOALS, PRODUCT_VIEWS, REALTIME)
