"""The visitor log (Matomo's Visits Log): every visit of the query, newest first, paged, with its pages,
events, goals and orders, source, device, country, duration and a link to its recording; one visit's
timeline; and a visitor's profile (the summary of their visits in the period).

Every filter, saved segment and funnel step applies (the visits come from `visits_sql`). Only consented
visits are stored at all; a cookieless Matomo visitor's id changes every day, so their profile is that
day's visits. Ids are hex: `visit` the session hash, `visitor` the visitor hash.
"""

from __future__ import annotations

import re
from dataclasses import replace

from dashboards.errors import BadQuery
from dashboards.model import Column, Context, Filters, Panel, Params, Query, Sql, utc_days
from dashboards.traffic import EVENT_LABELS, EVENT_TYPES, GOAL_TYPES, PRODUCT_VIEW
from dashboards.visits import visits_sql

LOG_OPTIONS = ("visitor", "offset")
MAX_OFFSET = 100_000
MAX_PAGES_LISTED = 50
GOAL, ORDER = GOAL_TYPES
DURATION = "round((toUnixTimestamp64Milli(v_end) - toUnixTimestamp64Milli(v_start)) / 1000, 1)"
ATTRIBUTES = (
    "v_entry_page",
    "v_exit_page",
    "v_channel",
    "v_source_name",
    "v_campaign_name",
    "v_country",
    "v_device",
    "v_browser",
    "v_os",
)
_HEX = re.compile(r"^[0-9a-f]{1,16}$")
#: ids as 16 hex digits (hex() drops leading zero bytes)
HEX = "leftPad(lower(hex({})), 16, '0')"


def hex_id(query: Query, name: str, required: bool = False) -> int | None:
    """A visit or visitor id option (1-16 hex digits), validated."""
    raw = query.option(name).lower()
    if not raw:
        if required:
            raise BadQuery(f"{name} is required (1-16 hex digits)")
        return None
    if not _HEX.fullmatch(raw):
        raise BadQuery(f"{name} must be 1-16 hex digits")
    return int(raw, 16)


def _offset(query: Query) -> int:
    raw = query.option("offset")
    if raw and (not raw.isdecimal() or int(raw) > MAX_OFFSET):
        raise BadQuery(f"offset must be a whole number from 0 to {MAX_OFFSET}")
    return int(raw or 0)


def _visits(ctx: Context, params: Params, query: Query) -> str:
    visitor = hex_id(query, "visitor")
    where = f"visitor_hash = {params.p(visitor, 'UInt64')}" if visitor is not None else ""
    return visits_sql(ctx, params, query, query.period.start, query.period.end, ATTRIBUTES, where_rows=where)


def _days(params: Params, query: Query) -> str:
    first, last = utc_days(query.period.start, query.period.end)
    return f"site = {params.p(query.site, 'String')} AND day BETWEEN {params.day(first)} AND {params.day(last)}"


def visitor_log_sql(ctx: Context, query: Query) -> Sql:
    """The page of visits is chosen once (a scalar WITH: ClickHouse computes it once per query, where an
    `IN (subquery)` repeated in each part below is computed again in each) from the visit set without its
    attributes, so the filters and selections run once. The attributes, events, page paths and recordings
    are then read for those visits only: `IN (SELECT arrayJoin(…))` is a set the tables' primary keys use (a
    bare `IN` on the array is not indexed: 10x slower on playback), and only from the day before the
    page's oldest visit began (as the period itself is read from the day before it starts), so the newest
    page of a long period reads a day or two of events rather than all of them."""
    params = Params()
    visitor = hex_id(query, "visitor")
    only = f"visitor_hash = {params.p(visitor, 'UInt64')}" if visitor is not None else ""
    start, end = query.period.start, query.period.end
    chosen = (
        f"SELECT session_hash, v_start FROM ({visits_sql(ctx, params, query, start, end, where_rows=only)}) "
        f"ORDER BY v_start DESC, session_hash LIMIT {params.p(query.limit, 'UInt32')} "
        f"OFFSET {params.p(_offset(query), 'UInt32')}"
    )
    in_page = "day >= log_page.2 AND session_hash IN (SELECT arrayJoin(log_page.1))"
    # the chosen visits passed the filters and selections already: only their attributes are read here
    bare = replace(query, filters=Filters(), selectors={}, selections=())
    listed = visits_sql(ctx, params, bare, start, end, ATTRIBUTES, where_rows=in_page)
    days = _days(params, query)
    counted = ", ".join(map(str, (*EVENT_TYPES, GOAL, ORDER)))
    events = (
        f"SELECT session_hash, countIf(type IN ({', '.join(map(str, EVENT_TYPES))})) AS n_events, "
        f"countIf(type = {GOAL}) AS n_goals, countIf(type = {ORDER}) AS n_orders, "
        f"round(sumIf(num, type IN ({GOAL}, {ORDER})), 2) AS revenue FROM {ctx.table('events')} "
        f"WHERE {days} AND type IN ({counted}) AND {in_page} GROUP BY session_hash"
    )
    pages = (
        f"SELECT session_hash, arraySlice(arrayMap(x -> x.2, arraySort(groupArray((t, p)))), 1, {MAX_PAGES_LISTED}) "
        "AS pages FROM (SELECT session_hash, pageview_id, min(started_at) AS t, path(max(url)) AS p "
        f"FROM {ctx.table('pageviews')} WHERE {days} AND {in_page} "
        "GROUP BY session_hash, pageview_id) GROUP BY session_hash"
    )
    recorded = f"SELECT DISTINCT session_hash FROM {ctx.table('playback')} WHERE {days} AND {in_page}"
    return Sql(
        f"WITH (SELECT (groupArray(session_hash), toDate(min(v_start)) - 1) FROM ({chosen})) AS log_page "
        f"SELECT {HEX.format('l.session_hash')}, {HEX.format('l.v_visitor')}, l.v_start, "
        f"{DURATION.replace('v_', 'l.v_')}, l.v_pageviews, "
        "e.n_events, e.n_goals, e.n_orders, e.revenue, l.v_entry_page, l.v_exit_page, l.v_channel, l.v_source_name, "
        "l.v_campaign_name, l.v_country, l.v_device, l.v_browser, l.v_os, "
        f"if(r.session_hash != 0, {HEX.format('l.session_hash')}, ''), pv.pages "
        f"FROM ({listed}) AS l "
        f"LEFT JOIN ({events}) AS e ON e.session_hash = l.session_hash "
        f"LEFT JOIN ({pages}) AS pv ON pv.session_hash = l.session_hash "
        f"LEFT JOIN ({recorded}) AS r ON r.session_hash = l.session_hash "
        "ORDER BY l.v_start DESC, l.session_hash",
        params.values,
    )


VISIT_COLUMNS = (
    Column("visit", "string", "visit id (session hash, hex): the option `visit` of visit_timeline"),
    Column("visitor", "string", "visitor id (hex): the option `visitor` of visitor_profile and visitor_log"),
    Column("started_at", "datetime", "visit start, UTC"),
    Column("duration", "number", "seconds from the first to the last page activity"),
    Column("duration_label", "string", "the duration with units", label=("duration", "duration")),
    Column("pageviews", "integer", "page views"),
    Column("events", "integer", "events, site searches, outlinks, downloads and content interactions"),
    Column("goals", "integer", "Matomo goal conversions"),
    Column("orders", "integer", "e-commerce orders"),
    Column("revenue", "number", "revenue of the goals and orders"),
    Column("entry_page", "string", "first page"),
    Column("exit_page", "string", "last page"),
    Column("channel", "string", "acquisition channel code"),
    Column("channel_label", "string", "acquisition channel", label=("channel", "channel")),
    Column("source", "string", "campaign source, search engine, social network or referring host"),
    Column("campaign", "string", "campaign name"),
    Column("country", "string", "ISO 3166 code"),
    Column("country_name", "string", "country name", label=("country", "country")),
    Column("flag", "string", "country flag (emoji)", label=("flag", "country")),
    Column("device", "string", "device class code"),
    Column("device_label", "string", "device class", label=("device", "device")),
    Column("browser", "string", "browser family"),
    Column("os", "string", "operating system family"),
    Column("recording", "string", "recording id ('' without a recording): /dashboard/replay?recording=…"),
    Column("pages", "array", f"paths viewed, in order (the first {MAX_PAGES_LISTED})"),
)

VISITOR_LOG = Panel(
    "visitor_log",
    "Visitor log",
    "Visits newest first with their pages, events, goals, orders, source, device, country and recording. "
    f"Options: offset (rows to skip, paging with limit; at most {MAX_OFFSET}), visitor (a visitor id: their "
    "visits only).",
    VISIT_COLUMNS,
    visitor_log_sql,
    options=LOG_OPTIONS,
)


# --- one visit's timeline -------------------------------------------------------------------------

KIND_TYPES = (*EVENT_TYPES, *GOAL_TYPES, PRODUCT_VIEW)


def visit_timeline_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    visit = params.p(hex_id(query, "visit", required=True), "UInt64")
    days = _days(params, query)
    name, detail = EVENT_LABELS
    views = (
        "SELECT min(started_at) AS at, 'pageview' AS kind, path(max(url)) AS page, max(title) AS label, "
        "'' AS detail, toFloat64(NULL) AS value "
        f"FROM {ctx.table('pageviews')} WHERE {days} AND session_hash = {visit} GROUP BY pageview_id"
    )
    events = (
        f"SELECT ts AS at, name AS kind, path(url) AS page, "
        f"if(type IN ({GOAL}, {ORDER}, {PRODUCT_VIEW}), key, {name}) AS label, "
        f"if(type IN ({GOAL}, {ORDER}), '', if(type = {PRODUCT_VIEW}, value, {detail})) AS detail, "
        f"if(type IN ({GOAL}, {ORDER}, {PRODUCT_VIEW}, 1001, 1002), toNullable(num), NULL) AS value "
        f"FROM {ctx.table('events')} WHERE {days} AND session_hash = {visit} "
        f"AND type IN ({', '.join(map(str, KIND_TYPES))})"
    )
    return Sql(
        f"SELECT * FROM ({views} UNION ALL {events}) ORDER BY at, kind DESC LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


VISIT_TIMELINE = Panel(
    "visit_timeline",
    "Visit timeline",
    "One visit's page views, events, goals and orders in order. Option: visit (visit id, required); the period "
    "must include the visit.",
    (
        Column("at", "datetime", "when, UTC"),
        Column(
            "kind",
            "string",
            "pageview, custom, event, site_search, outlink, download, content, goal, ecommerce_order or product_view",
        ),
        Column("page", "string", "path"),
        Column("label", "string", "page title, event category or key, goal id, order id or SKU"),
        Column("detail", "string", "event action or value, product name"),
        Column("value", "number", "event value, revenue, price or search results"),
    ),
    visit_timeline_sql,
    options=("visit",),
    required=("visit",),
)


# --- a visitor's profile --------------------------------------------------------------------------


def visitor_profile_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    visitor = hex_id(query, "visitor", required=True)
    visits = _visits(ctx, params, query)
    days = _days(params, query)
    sessions = f"SELECT session_hash FROM ({visits})"
    events = (
        f"SELECT countIf(type = {GOAL}), countIf(type = {ORDER}), round(sumIf(num, type IN ({GOAL}, {ORDER})), 2) "
        f"FROM {ctx.table('events')} WHERE {days} AND type IN ({GOAL}, {ORDER}) AND session_hash IN ({sessions})"
    )
    recorded = (
        f"SELECT uniqExact(session_hash) FROM {ctx.table('playback')} WHERE {days} AND session_hash IN ({sessions})"
    )
    return Sql(
        f"WITH ({events}) AS e SELECT {params.p(f'{visitor:016x}', 'String')}, count(), min(v_start), max(v_end), "
        f"sum(v_pageviews), round(sum({DURATION}), 1), toUInt64(e.1), toUInt64(e.2), toFloat64(e.3), ({recorded}), "
        "arraySort(groupUniqArray(v_country)), arraySort(groupUniqArray(v_device)), "
        "arraySort(groupUniqArray(v_browser)), arraySort(groupUniqArray(v_channel)) "
        f"FROM ({visits}) HAVING count() > 0",
        params.values,
    )


VISITOR_PROFILE = Panel(
    "visitor_profile",
    "Visitor profile",
    "One visitor's visits in the period, summed up (no row when they have none). Option: visitor (visitor id, "
    "required); the visitor_log panel with the same visitor option lists the visits.",
    (
        Column("visitor", "string", "visitor id (hex)"),
        Column("visits", "integer", "visits"),
        Column("first_visit", "datetime", "start of the first visit, UTC"),
        Column("last_seen", "datetime", "end of the last visit, UTC"),
        Column("pageviews", "integer", "page views"),
        Column("duration", "number", "seconds spent over all visits"),
        Column("duration_label", "string", "time spent, with units", label=("duration", "duration")),
        Column("goals", "integer", "goal conversions"),
        Column("orders", "integer", "e-commerce orders"),
        Column("revenue", "number", "revenue"),
        Column("recordings", "integer", "visits with a recording"),
        Column("countries", "array", "countries (ISO codes)"),
        Column("devices", "array", "device classes"),
        Column("browsers", "array", "browser families"),
        Column("channels", "array", "acquisition channels"),
    ),
    visitor_profile_sql,
    options=("visitor",),
    required=("visitor",),
)

PANELS = (VISITOR_LOG, VISIT_TIMELINE, VISITOR_PROFILE)
