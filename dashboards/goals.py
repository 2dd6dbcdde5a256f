"""Goals defined in the dashboards: their validation, and the panels that count them over stored data.

A goal is reached by a visit that contains a matching action (dashboards.actions: a page, a Matomo
event, a custom event, a Matomo goal id), or by a visit of at least N seconds (`duration`) or N page
views (`pages`). As in Matomo's default, a goal counts once per visit: conversions are visits. Revenue
is the goal's fixed `revenue` per conversion, except a Matomo goal whose hits carried revenue (their sum
for the visit). Goals are evaluated when a panel runs, over the stored events, so a new goal also counts
the past; every filter (and so every segment) applies, through the visit set of dashboards.visits.

Panels: `goal_conversions` (every goal of the site) and `goal_breakdown` (one goal by channel, source,
campaign, device, country, browser, OS, entry page or page viewed).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from dashboards.actions import MASK_BITS, Action, mask_words, matched_sql, parse_action
from dashboards.actions import describe as describe_action
from dashboards.errors import BadQuery
from dashboards.goal_funnel_store import DefinitionStore, Stored, check_name
from dashboards.model import Column, Context, Panel, Params, Query, Sql, utc_days
from dashboards.visits import visit_sessions, visits_sql

STORE = DefinitionStore("goal_definitions", "goal")
VISIT_KINDS = ("duration", "pages")
KINDS = ("page", "event", "custom_event", "matomo_goal", *VISIT_KINDS)
MAX_REVENUE = 1e9
MAX_THRESHOLD = 86_400
DURATION = "(toUnixTimestamp64Milli(v_end) - toUnixTimestamp64Milli(v_start)) / 1000"


@dataclass(frozen=True)
class Goal:
    id: str
    name: str
    revenue: float
    action: Action | None = None  # the action kinds
    kind: str = ""  # duration | pages (visit kinds)
    threshold: int = 0

    @property
    def goal_kind(self) -> str:
        return self.action.kind if self.action is not None else self.kind


def parse_goal(raw: Any) -> tuple[str, dict[str, Any]]:
    """(name, stored definition) from a request body; a 400 names the first bad field."""
    if not isinstance(raw, dict):
        raise BadQuery("body: a JSON object with name and kind")
    name = check_name(raw.get("name"))
    revenue = raw.get("revenue", 0) or 0
    if isinstance(revenue, bool) or not isinstance(revenue, (int, float)) or not 0 <= revenue <= MAX_REVENUE:
        raise BadQuery(f"revenue: a number from 0 to {MAX_REVENUE:.0f}")
    kind = raw.get("kind")
    if kind in VISIT_KINDS:
        threshold = raw.get("value")
        if isinstance(threshold, str) and threshold.strip().isdecimal():
            threshold = int(threshold)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or not 1 <= threshold <= MAX_THRESHOLD:
            raise BadQuery(
                f"value: a whole number of {'seconds' if kind == 'duration' else 'page views'} "
                f"from 1 to {MAX_THRESHOLD}"
            )
        return name, {"kind": kind, "value": threshold, "revenue": float(revenue)}
    if kind not in KINDS:
        raise BadQuery(f"kind: one of {', '.join(KINDS)}")
    return name, {**parse_action(raw).document(), "revenue": float(revenue)}


def goal_of(stored: Stored) -> Goal:
    definition = stored.definition
    revenue = float(definition.get("revenue", 0))
    if definition["kind"] in VISIT_KINDS:
        return Goal(stored.id, stored.name, revenue, kind=definition["kind"], threshold=int(definition["value"]))
    fields = {k: v for k, v in definition.items() if k not in ("revenue",)}
    return Goal(stored.id, stored.name, revenue, action=Action(**fields))


def describe(goal: Goal) -> str:
    """The goal's rule in words (the panels' `rule` column)."""
    if goal.kind == "duration":
        return f"visit of at least {goal.threshold} s"
    if goal.kind == "pages":
        return f"visit of at least {goal.threshold} page views"
    assert goal.action is not None
    return describe_action(goal.action)


# --- what each visit converted --------------------------------------------------------------------


def _hits_sql(ctx: Context, params: Params, query: Query, goals: list[Goal]) -> str | None:
    """Per session with a matching action: g<i> (0/1) and t<i> (revenue a Matomo goal's hits carried), from
    one read of the page views and events that tests every goal's action once per row (a bit mask)."""
    indexed = [(i, g.action) for i, g in enumerate(goals) if g.action is not None]
    if not indexed:
        return None
    actions = [a for _, a in indexed]
    columns = [f"groupBitOr(a_mask{w}) AS m{w}" for w in range(mask_words(len(actions)))]
    for k, (i, action) in enumerate(indexed):
        word, bit = divmod(k, MASK_BITS)
        tracked = f"sumIf(a_num, bitTest(a_mask{word}, {bit}))" if action.kind == "matomo_goal" else "0"
        columns.append(f"bitTest(m{word}, {bit}) AS g{i}, {tracked} AS t{i}")
    # every action of the days read: the caller's join with the visit set keeps the query's visits (a
    # `session_hash IN (visits)` here as well doubled the panel's time at 1M events)
    rows = matched_sql(ctx, params, query.site, query.period.start, query.period.end, actions)
    return f"SELECT session_hash, {', '.join(columns)} FROM ({rows}) GROUP BY session_hash"


def converted_visits_sql(
    ctx: Context, params: Params, query: Query, goals: list[Goal], attributes: tuple[str, ...] = ()
) -> str:
    """One row per visit of the query: session_hash, v_visitor, the `attributes`, and for each goal i
    c<i> (converted, 0/1) and r<i> (its revenue in this visit)."""
    visits = visits_sql(ctx, params, query, query.period.start, query.period.end, attributes)
    hits = _hits_sql(ctx, params, query, goals)
    columns = []
    for i, goal in enumerate(goals):
        fixed = params.p(goal.revenue, "Float64")
        if goal.action is None:
            measure = DURATION if goal.kind == "duration" else "v.v_pageviews"
            columns.append(f"toUInt8({measure} >= {params.p(goal.threshold, 'UInt32')}) AS c{i}, {fixed} AS r{i}")
        else:
            columns.append(f"toUInt8(h.g{i}) AS c{i}, if(h.t{i} > 0, h.t{i}, {fixed}) AS r{i}")
    selected = ["v.session_hash AS session_hash", "v.v_visitor AS v_visitor"]
    selected += [f"v.{a} AS {a}" for a in attributes] + columns
    source = f"({visits}) AS v"
    if hits is not None:
        source += f" LEFT JOIN ({hits}) AS h ON h.session_hash = v.session_hash"
    return f"SELECT {', '.join(selected)} FROM {source}"


# --- panels ---------------------------------------------------------------------------------------


def prepare_all(storage: Any, query: Query) -> Query:
    return replace(query, definitions={"goals": [goal_of(s) for s in STORE.all(storage, query.site)]})


def conversions_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    goals: list[Goal] = query.definitions["goals"]
    if not goals:
        return Sql("SELECT 0 WHERE 0", params.values)
    figures = ", ".join(
        f"countIf(c{i} = 1), uniqExactIf(v_visitor, c{i} = 1), sumIf(r{i}, c{i} = 1)" for i in range(len(goals))
    )
    return Sql(f"SELECT count(), {figures} FROM ({converted_visits_sql(ctx, params, query, goals)})", params.values)


def conversions_shape(query: Query, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    goals: list[Goal] = query.definitions["goals"]
    row = rows[0] if rows else (0,)
    visits = int(row[0])
    out = []
    for i, goal in enumerate(goals):
        conversions, visitors, revenue = row[1 + 3 * i : 4 + 3 * i] if len(row) > 1 else (0, 0, 0.0)
        out.append(
            (
                goal.id,
                goal.name,
                goal.goal_kind,
                describe(goal),
                int(conversions),
                int(visitors),
                round(int(conversions) * 100 / visits, 2) if visits else 0.0,
                round(float(revenue), 2),
            )
        )
    return out


GOAL_COLUMNS = (
    Column("conversions", "integer", "visits that reached the goal (a goal counts once per visit)"),
    Column("conversion_rate", "number", "conversions per 100 visits"),
    Column("revenue", "number", "the goal's revenue per conversion, or the revenue a Matomo goal hit carried"),
)
GOAL_CONVERSIONS = Panel(
    "goal_conversions",
    "Goals",
    "Every goal defined for the site (dashboards /dashboard/goals or POST /dashboard/api/v1/definitions/goals) "
    "with its conversions, converting visitors, conversion rate and revenue in the period, over the stored data.",
    (
        Column("goal", "string", "goal id"),
        Column("name", "string", "goal name"),
        Column("kind", "string", "page, event, custom_event, matomo_goal, duration or pages"),
        Column("rule", "string", "what the goal matches, in words"),
        GOAL_COLUMNS[0],
        Column("visitors", "integer", "distinct visitors who converted"),
        GOAL_COLUMNS[1],
        GOAL_COLUMNS[2],
    ),
    conversions_sql,
    conversions_shape,
    prepare=prepare_all,
)

#: Breakdown dimension → visit attribute (dashboards.visits) or "page" (every page viewed in the visit).
BREAKDOWNS = {
    "channel": "v_channel",
    "source": "v_source_name",
    "campaign": "v_campaign_name",
    "device": "v_device",
    "country": "v_country",
    "browser": "v_browser",
    "os": "v_os",
    "entry_page": "v_entry_page",
    "page": "",
}


def prepare_one(storage: Any, query: Query) -> Query:
    """The goal the option names (404 if unknown), or every goal of the site without it."""
    if query.option("by", "channel") not in BREAKDOWNS:
        raise BadQuery(f"by: one of {', '.join(BREAKDOWNS)}")
    raw = query.option("goal")
    if not raw:
        return prepare_all(storage, query)
    return replace(query, definitions={"goals": [goal_of(STORE.get(storage, query.site, raw))]})


def breakdown_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    goals: list[Goal] = query.definitions["goals"]
    by = query.option("by", "channel")
    attribute = BREAKDOWNS[by]
    visits = converted_visits_sql(ctx, params, query, goals, (attribute,) if attribute else ())
    # one goal, or any of the site's goals (revenue: of every goal the visit reached)
    converted = " + ".join(f"c{i}" for i in range(len(goals))) or "0"
    revenue = " + ".join(f"r{i} * c{i}" for i in range(len(goals))) or "0"
    figures = (
        f"count() AS visits, countIf(({converted}) > 0) AS conversions, "
        f"round(conversions * 100 / visits, 2), round(sum({revenue}), 2)"
    )
    limit = params.p(query.limit, "UInt32")
    if attribute:
        return Sql(
            f"SELECT {attribute} AS value, {figures} FROM ({visits}) GROUP BY value "
            f"ORDER BY conversions DESC, visits DESC, value LIMIT {limit}",
            params.values,
        )
    first, last = utc_days(query.period.start, query.period.end)
    pages = (
        f"SELECT DISTINCT path(url) AS page, session_hash FROM {ctx.table('pageviews')} "
        f"WHERE site = {params.p(query.site, 'String')} AND day BETWEEN {params.day(first)} AND "
        f"{params.day(last)} AND session_hash IN ({visit_sessions(ctx, params, query)}) AND url != ''"
    )
    return Sql(
        f"SELECT p.page AS value, {figures} FROM ({pages}) AS p INNER JOIN ({visits}) AS c "
        f"ON c.session_hash = p.session_hash GROUP BY value "
        f"ORDER BY conversions DESC, visits DESC, value LIMIT {limit}",
        params.values,
    )


GOAL_BREAKDOWN = Panel(
    "goal_breakdown",
    "Goal by dimension",
    "One goal (option goal=<id>; without it: any of the site's goals) by a dimension (option by: channel, source, "
    "campaign, device, country, browser, os, entry_page, or page: every page viewed during the visit): visits, "
    "conversions, rate and revenue.",
    (
        Column("value", "string", "the dimension's value"),
        Column("visits", "integer", "visits with this value"),
        *GOAL_COLUMNS,
    ),
    breakdown_sql,
    options=("goal", "by"),
    prepare=prepare_one,
)

PANELS = (GOAL_CONVERSIONS, GOAL_BREAKDOWN)
