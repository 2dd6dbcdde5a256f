"""Panels with the figures Matomo's Reporting API needs and the traffic panels do not give: actions,
visit lengths and conversions per visit group, page and title metrics with entries and exits, action
counts, event metrics and the last visits with their pages.

They start from the same visit set as every other panel (visits.py), so a filter, a site and a period
select the same visits here as on the dashboards, and `visits`/`visitors` agree with the overview and
the breakdowns. `/index.php?module=API` (dashboards/matomo_api) reads them through `run_panel`.
"""

from __future__ import annotations

from dashboards.errors import BadQuery
from dashboards.model import Column, Context, Panel, Params, Query, Sql, utc_days
from dashboards.traffic import VISITORS, VISITS
from dashboards.visits import page_condition, visit_sessions, visits_sql

#: Matomo action types (docs/matomo.md): event, site search, outlink, download; with page views they are
#: a visit's actions.
ACTION_TYPES = (1001, 1002, 1003, 1004)
EVENT, SITE_SEARCH, OUTLINK, DOWNLOAD, GOAL, ORDER = 1001, 1002, 1003, 1004, 1005, 1006

#: `by` option of visit_metrics → the visit column grouped on ("" = one row for all visits).
VISIT_GROUPS = {
    "": "",
    "channel": "v_channel",
    "source": "v_source_name",
    "campaign": "v_campaign_name",
    "country": "v_country",
    "device": "v_device",
    "browser": "v_browser",
    "os": "v_os",
}
PAGE_GROUPS = {"url": "page", "title": "title"}
EVENT_GROUPS = {"category": "key", "action": "value", "name": "text"}


def _choice(query: Query, name: str, allowed: dict[str, str], default: str) -> str:
    value = query.option(name, default)
    if value not in allowed:
        names = ", ".join(key or "''" for key in allowed)
        raise BadQuery(f"{name} must be one of {names}")
    return allowed[value]


def _events_of_visits(ctx: Context, params: Params, query: Query) -> str:
    first, last = utc_days(query.period.start, query.period.end)
    return (
        f"FROM {ctx.table('events')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} "
        f"AND session_hash IN ({visit_sessions(ctx, params, query)})"
    )


def _goal_condition(params: Params, goal: str) -> str:
    """'' any goal or order; a goal id; `ecommerceOrder` (Matomo's name) the orders only."""
    if goal == "":
        return f"type IN ({GOAL}, {ORDER})"
    if goal == "ecommerceOrder":
        return f"type = {ORDER}"
    if goal.isdecimal() and len(goal) < 10:
        return f"(type = {GOAL} AND key = {params.p(goal, 'String')})"
    raise BadQuery("goal must be a goal id or ecommerceOrder")


# --- visit metrics --------------------------------------------------------------------------------


def visit_metrics_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    column = _choice(query, "by", VISIT_GROUPS, "")
    goal = _goal_condition(params, query.option("goal"))
    visits = visits_sql(ctx, params, query, query.period.start, query.period.end, (column,) if column else ())
    actions = ", ".join(map(str, ACTION_TYPES))
    per_visit = (
        f"SELECT session_hash, countIf(type IN ({actions})) AS e_actions, countIf({goal}) AS e_conversions, "
        f"sumIf(num, {goal}) AS e_revenue {_events_of_visits(ctx, params, query)} GROUP BY session_hash"
    )
    label = f"{column} AS label, " if column else "'' AS label, "
    grouped = "GROUP BY label ORDER BY visits DESC, label " if column else ""
    return Sql(
        f"SELECT {label}uniqExact(v_visitor), count() AS visits, sum(v_pageviews + e_actions), "
        "max(v_pageviews + e_actions), countIf(v_pageviews = 1), "
        "toUInt64(round(sum(toUnixTimestamp64Milli(v_end) - toUnixTimestamp64Milli(v_start)) / 1000)), "
        "countIf(e_conversions > 0), sum(e_conversions), round(sum(e_revenue), 2) "
        f"FROM ({visits}) AS v LEFT JOIN ({per_visit}) AS e ON v.session_hash = e.session_hash "
        f"{grouped}LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


VISIT_METRICS = Panel(
    "visit_metrics",
    "Visit metrics",
    "Visits with their actions (page views, events, site searches, outlinks, downloads), lengths, bounces "
    "and conversions, for all visits (by='') or grouped by channel, source, campaign, country, device, "
    "browser or os. goal: count only this goal id (or ecommerceOrder) as a conversion.",
    (
        Column("label", "string", "the group's value ('' without by)"),
        VISITORS,
        VISITS,
        Column("actions", "integer", "page views plus Matomo events, site searches, outlinks and downloads"),
        Column("max_actions", "integer", "most actions in one visit"),
        Column("bounces", "integer", "visits with one page view (the overview's bounce)"),
        Column("visit_seconds", "integer", "sum of visit lengths, first to last hit, in seconds"),
        Column("converted_visits", "integer", "visits with at least one conversion"),
        Column("conversions", "integer", "goal conversions and orders"),
        Column("revenue", "number", "their revenue"),
    ),
    visit_metrics_sql,
    options=("by", "goal"),
)


# --- action counts --------------------------------------------------------------------------------


def action_metrics_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    first, last = utc_days(query.period.start, query.period.end)
    views = (
        f"SELECT count(), uniqExact(s, p) FROM (SELECT pageview_id, any(session_hash) AS s, path(max(url)) AS p "
        f"FROM {ctx.table('pageviews')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} "
        f"AND session_hash IN ({visit_sessions(ctx, params, query)}) GROUP BY pageview_id)"
    )
    actions = (
        f"SELECT countIf(type = {DOWNLOAD}), uniqExactIf((session_hash, link), type = {DOWNLOAD}), "
        f"countIf(type = {OUTLINK}), uniqExactIf((session_hash, link), type = {OUTLINK}), "
        f"countIf(type = {SITE_SEARCH}), uniqExactIf(text, type = {SITE_SEARCH}), countIf(type = {EVENT}) "
        f"{_events_of_visits(ctx, params, query)} AND type IN ({DOWNLOAD}, {OUTLINK}, {SITE_SEARCH}, {EVENT})"
    )
    return Sql(f"SELECT * FROM ({views}) AS a CROSS JOIN ({actions}) AS b", params.values)


ACTION_METRICS = Panel(
    "action_metrics",
    "Action counts",
    "Page views (and per visit and path), downloads and outlinks (and per visit and link), site searches, "
    "distinct search keywords and Matomo events of the period's visits.",
    (
        Column("pageviews", "integer", "page views"),
        Column("unique_pageviews", "integer", "distinct (visit, path) pairs"),
        Column("downloads", "integer", "download clicks"),
        Column("unique_downloads", "integer", "distinct (visit, link)"),
        Column("outlinks", "integer", "outlink clicks"),
        Column("unique_outlinks", "integer", "distinct (visit, link)"),
        Column("searches", "integer", "site searches"),
        Column("keywords", "integer", "distinct search keywords"),
        Column("events", "integer", "Matomo events"),
    ),
    action_metrics_sql,
)


# --- pages and titles -----------------------------------------------------------------------------


def page_metrics_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    group = _choice(query, "by", PAGE_GROUPS, "url")
    first, last = utc_days(query.period.start, query.period.end)
    views = (
        "SELECT pageview_id, any(session_hash) AS s, max(visitor_hash) AS v, path(max(url)) AS page, "
        "max(url) AS full_url, max(title) AS title, min(started_at) AS t0, "
        "toUnixTimestamp64Milli(max(last_at)) - toUnixTimestamp64Milli(min(started_at)) AS ms "
        f"FROM {ctx.table('pageviews')} WHERE site = {params.p(query.site, 'String')} "
        f"AND day BETWEEN {params.day(first)} AND {params.day(last)} "
        f"AND session_hash IN ({visit_sessions(ctx, params, query)}) GROUP BY pageview_id"
    )
    placed = (
        "SELECT *, t0 = min(t0) OVER (PARTITION BY s) AS entry, t0 = max(t0) OVER (PARTITION BY s) AS exit, "
        f"count() OVER (PARTITION BY s) AS views FROM ({views})"
    )
    only = f"WHERE {page_condition(params, query.filters.page, 'page')}" if query.filters.page else ""
    return Sql(
        f"SELECT {group} AS label, any(full_url), uniqExact(v) AS visitors, uniqExact(s) AS visits, count() AS hits, "
        "toUInt64(round(sum(greatest(ms, 0)) / 1000)), countIf(entry), countIf(entry AND views = 1), countIf(exit) "
        f"FROM ({placed}) {only} GROUP BY label ORDER BY hits DESC, label LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


PAGE_METRICS = Panel(
    "page_metrics",
    "Page metrics",
    "Page views grouped by path (by=url) or title (by=title), with visits, time on page (first to last hit "
    "of each page view), entries, bounces and exits.",
    (
        Column("label", "string", "path or title"),
        Column("url", "string", "one full URL of the group"),
        VISITORS,
        VISITS,
        Column("hits", "integer", "page views"),
        Column("time_spent", "integer", "sum of time on page, seconds"),
        Column("entries", "integer", "visits that began here"),
        Column("bounces", "integer", "visits that began here and viewed one page"),
        Column("exits", "integer", "visits that ended here"),
    ),
    page_metrics_sql,
    options=("by",),
)


# --- events ---------------------------------------------------------------------------------------


def event_metrics_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    column = _choice(query, "by", EVENT_GROUPS, "category")
    return Sql(
        f"SELECT {column} AS label, uniqExact(visitor_hash), uniqExact(session_hash), count() AS events, "
        "countIf(num != 0), round(sum(num), 2), round(min(num), 2), round(max(num), 2) "
        f"{_events_of_visits(ctx, params, query)} AND type = {EVENT} "
        f"GROUP BY label ORDER BY events DESC, label LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


EVENT_METRICS = Panel(
    "event_metrics",
    "Event metrics",
    "Matomo events grouped by category (by=category), action or name, with visits and values.",
    (
        Column("label", "string", "category, action or name"),
        VISITORS,
        VISITS,
        Column("events", "integer", "events"),
        Column("events_with_value", "integer", "events with a non-zero value"),
        Column("value_sum", "number", "sum of values"),
        Column("value_min", "number", "smallest value"),
        Column("value_max", "number", "largest value"),
    ),
    event_metrics_sql,
    options=("by",),
)


# --- last visits ----------------------------------------------------------------------------------

LAST_VISIT_ATTRIBUTES = ("v_channel", "v_source_name", "v_campaign_name", "v_country", "v_device", "v_browser", "v_os")


def last_visits_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    visits = visits_sql(ctx, params, query, query.period.start, query.period.end, LAST_VISIT_ATTRIBUTES)
    limit = params.p(query.limit, "UInt32")
    first, last = utc_days(query.period.start, query.period.end)
    site, day_from, day_to = params.p(query.site, "String"), params.day(first), params.day(last)
    latest = f"SELECT * FROM ({visits}) ORDER BY v_start DESC, session_hash LIMIT {limit}"
    pages = (
        "SELECT s AS session_hash, arraySort(groupArray((t0, url, title))) AS pages FROM (SELECT pageview_id, "
        "any(session_hash) AS s, min(started_at) AS t0, max(url) AS url, max(title) AS title "
        f"FROM {ctx.table('pageviews')} WHERE site = {site} AND day BETWEEN {day_from} AND {day_to} "
        f"AND session_hash IN (SELECT session_hash FROM ({latest})) GROUP BY pageview_id) GROUP BY s"
    )
    actions = ", ".join(map(str, ACTION_TYPES))
    events = (
        f"SELECT session_hash, countIf(type IN ({actions})) AS e_actions FROM {ctx.table('events')} "
        f"WHERE site = {site} AND day BETWEEN {day_from} AND {day_to} "
        f"AND session_hash IN (SELECT session_hash FROM ({latest})) GROUP BY session_hash"
    )
    return Sql(
        "SELECT lower(hex(v.session_hash)), lower(hex(v_visitor)), v_start, v_end, v_pageviews, "
        f"v_pageviews + e_actions, {', '.join(LAST_VISIT_ATTRIBUTES)}, p.pages FROM ({latest}) AS v "
        "LEFT JOIN (" + pages + ") AS p ON v.session_hash = p.session_hash "
        "LEFT JOIN (" + events + ") AS e ON v.session_hash = e.session_hash ORDER BY v_start DESC, v.session_hash",
        params.values,
    )


LAST_VISITS = Panel(
    "last_visits",
    "Last visits",
    "The period's latest visits, newest first, each with its pages (time, URL, title).",
    (
        Column("visit", "string", "visit id (hex)"),
        Column("visitor", "string", "visitor id (hex keyed hash)"),
        Column("start", "datetime", "first hit, UTC"),
        Column("end", "datetime", "last hit, UTC"),
        Column("pageviews", "integer", "page views"),
        Column("actions", "integer", "page views and Matomo actions"),
        Column("channel", "string", "acquisition channel"),
        Column("source", "string", "referrer or campaign source"),
        Column("campaign", "string", "campaign name"),
        Column("country", "string", "ISO 3166 code"),
        Column("device", "string", "device class"),
        Column("browser", "string", "browser family"),
        Column("os", "string", "OS family"),
        Column("pages", "array", "(time UTC, URL, title) of each page view"),
    ),
    last_visits_sql,
)

PANELS = (VISIT_METRICS, ACTION_METRICS, PAGE_METRICS, EVENT_METRICS, LAST_VISITS)
