"""Saved segments: named sets of conditions over visit, page and event attributes, shared per site,
applied to every panel as a session pre-selection (`segment=<id>`).

A definition is JSON: `{"match": "all" | "any", "conditions": [condition or group, …]}`, where a
condition is `{"field": …, "op": …, "value": …}` and a group nests another match/conditions (three
levels at most). Visit fields compare the visit's first page view's attribute (channel, country, …)
or its page views and duration; page fields hold when the visit viewed a matching page, event fields
when it has a matching event, and their negative operators when it has none. The visit facts that
visit_stats does not hold (its actions, campaign keyword, whether the visitor came before, its user)
are read by a subquery of the visit's rows over the same days. The whole definition becomes one
boolean condition on each visit row of `visits_sql`, so it is exact and composes with the other filters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Mapping, Union

import orjson

from dashboards.definitions import DefinitionTable
from dashboards.errors import BadQuery
from dashboards.matomo_reports import ACTION_TYPES, ORDER
from dashboards.model import Column, Context, Panel, Params, Query, Sql, utc_days
from dashboards.selections import Selector
from ingest_schema.storage import Storage

#: visit field → visit column of visits_sql
VISIT_FIELDS = {
    "channel": "v_channel",
    "source": "v_source_name",
    "campaign": "v_campaign_name",
    "medium": "v_campaign_medium",
    "country": "v_country",
    "device": "v_device",
    "browser": "v_browser",
    "os": "v_os",
    "entry_page": "v_entry_page",
    "exit_page": "v_exit_page",
}
DURATION = "(toUnixTimestamp64Milli(v_end) - toUnixTimestamp64Milli(v_start)) / 1000"
NUMBER_FIELDS = {"pageviews": "v_pageviews", "duration": DURATION}
#: visit facts visit_stats does not hold, each read by a subquery over the visit's rows:
#: `actions` (number): page views plus Matomo events, site searches, outlinks and downloads, as the
#: Reporting API's visit figures count them (matomo_reports.ACTION_TYPES);
#: `keyword` (string): the campaign keyword of the visit's first page view (Matomo's referrer keyword);
#: `visitor_type` (one of VISITOR_TYPES): Matomo's visitor type, see _visitor_types_sql;
#: `user`: the keyed hash of the site's user id (ingest_schema.hashing.user_id_hash, as stored), or ''.
ACTIONS, KEYWORD, VISITOR_TYPE, USER = "actions", "keyword", "visitor_type", "user"
COUNTED_FIELDS = (ACTIONS,)
VISITOR_TYPES = ("new", "returning", "returningCustomer")
_USER_HASH = re.compile(r"^[0-9a-f]{32}$")
#: page field → expression over a `pageviews` row
PAGE_FIELDS = {"page": "path(url)", "page_url": "url", "page_title": "title"}
#: event field → (events column, event types): Clarity custom events (24) and Matomo events (1001, see
#: docs/matomo.md), Matomo goals (1005) and site searches (1002)
EVENT_FIELDS: dict[str, tuple[str, tuple[int, ...]]] = {
    "event": ("key", (24, 1001)),
    "event_action": ("value", (24, 1001)),
    "event_name": ("text", (1001,)),
    "goal": ("key", (1005,)),
    "site_search": ("text", (1002,)),
}
FIELDS = (*VISIT_FIELDS, KEYWORD, VISITOR_TYPE, USER, *NUMBER_FIELDS, *COUNTED_FIELDS, *PAGE_FIELDS, *EVENT_FIELDS)
#: the fields as the segment editor groups them (not `user`: its value is a keyed hash, for the API)
FIELD_GROUPS = (
    ("Visit", (*VISIT_FIELDS, KEYWORD, VISITOR_TYPE, *NUMBER_FIELDS, *COUNTED_FIELDS)),
    ("Page viewed", tuple(PAGE_FIELDS)),
    ("Event", tuple(EVENT_FIELDS)),
)
STRING_OPS = ("is", "is_not", "contains", "not_contains", "prefix", "matches", "not_matches")
NUMBER_OPS = ("is", "is_not", "gt", "gte", "lt", "lte")
EQUALITY_OPS = ("is", "is_not")
NEGATIVE = {"is_not": "is", "not_contains": "contains", "not_matches": "matches"}
COMPARE = {"is": "=", "is_not": "!=", "gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
MAX_CONDITIONS, MAX_DEPTH, MAX_VALUE_CHARS, MAX_NAME_CHARS = 30, 3, 500, 80
#: constructs Python's re accepts but ClickHouse's RE2 does not
_NOT_RE2 = re.compile(r"\(\?[=!<]|\(\?P?<[=!]|\\[1-9]")


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: str


@dataclass(frozen=True)
class Group:
    match: str  # all | any
    items: tuple[Union[Condition, "Group"], ...]


# --- parsing --------------------------------------------------------------------------------------


def check_pattern(value: str, where: str) -> None:
    """A regular expression ClickHouse's RE2 can run, else a 400 naming the field."""
    if _NOT_RE2.search(value):
        raise BadQuery(f"{where}: look-around and back-references are not supported in patterns")
    try:
        re.compile(value)
    except re.error as exc:
        raise BadQuery(f"{where}: invalid pattern ({exc.msg})") from exc


def _ops(field: str) -> tuple[str, ...]:
    if field in NUMBER_FIELDS or field in COUNTED_FIELDS:
        return NUMBER_OPS
    return EQUALITY_OPS if field in (VISITOR_TYPE, USER) else STRING_OPS


def _condition(raw: Mapping[str, Any], where: str) -> Condition:
    field = raw.get("field")
    if field not in FIELDS:
        raise BadQuery(f"{where}.field must be one of {', '.join(FIELDS)}")
    ops = _ops(str(field))
    op = raw.get("op", "is")
    if op not in ops:
        raise BadQuery(f"{where}.op must be one of {', '.join(ops)} for {field}")
    value = raw.get("value")
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise BadQuery(f"{where}.value must be a string or a number")
    text = str(value).strip()
    if len(text) > MAX_VALUE_CHARS:
        raise BadQuery(f"{where}.value is longer than {MAX_VALUE_CHARS} characters")
    if field in NUMBER_FIELDS or field in COUNTED_FIELDS:
        try:
            number = float(text)
        except ValueError as exc:
            raise BadQuery(f"{where}.value must be a number for {field}") from exc
        if not 0 <= number <= 1e9:
            raise BadQuery(f"{where}.value must be between 0 and 1e9")
    elif field == VISITOR_TYPE and text not in VISITOR_TYPES:
        raise BadQuery(f"{where}.value must be one of {', '.join(VISITOR_TYPES)} for {field}")
    elif field == USER and text and not _USER_HASH.fullmatch(text):
        raise BadQuery(f"{where}.value must be the user's keyed hash (32 hex digits, as stored) or '' for {field}")
    elif op in ("matches", "not_matches"):
        check_pattern(text, f"{where}.value")
    return Condition(str(field), str(op), text)


def _group(raw: Any, where: str, depth: int, counted: list[int]) -> Group:
    if not isinstance(raw, dict):
        raise BadQuery(f"{where} must be an object with match and conditions")
    match = raw.get("match", "all")
    if match not in ("all", "any"):
        raise BadQuery(f"{where}.match must be all or any")
    conditions = raw.get("conditions")
    if not isinstance(conditions, list) or not conditions:
        raise BadQuery(f"{where}.conditions must be a non-empty list")
    items: list[Condition | Group] = []
    for i, item in enumerate(conditions):
        here = f"{where}.conditions[{i}]"
        if isinstance(item, dict) and "conditions" in item:
            if depth >= MAX_DEPTH:
                raise BadQuery(f"{here}: groups nest {MAX_DEPTH} levels deep at most")
            items.append(_group(item, here, depth + 1, counted))
            continue
        if not isinstance(item, dict):
            raise BadQuery(f"{here} must be an object with field, op and value")
        counted[0] += 1
        if counted[0] > MAX_CONDITIONS:
            raise BadQuery(f"a segment has at most {MAX_CONDITIONS} conditions")
        items.append(_condition(item, here))
    return Group(str(match), tuple(items))


def parse_definition(raw: Any) -> Group:
    """A validated definition (BadQuery names the offending field, e.g. definition.conditions[1].value)."""
    return _group(raw, "definition", 1, [0])


def definition_json(group: Group) -> dict[str, Any]:
    def item(x: Condition | Group) -> dict[str, Any]:
        if isinstance(x, Group):
            return definition_json(x)
        return {"field": x.field, "op": x.op, "value": x.value}

    return {"match": group.match, "conditions": [item(x) for x in group.items]}


def clean_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > MAX_NAME_CHARS:
        raise BadQuery(f"name must be 1-{MAX_NAME_CHARS} characters")
    return raw.strip()


# --- SQL ------------------------------------------------------------------------------------------


def _test(params: Params, op: str, expression: str, value: str) -> str:
    """A positive string test (is, contains, prefix, matches)."""
    bound = params.p(value, "String")
    return {
        "is": f"{expression} = {bound}",
        "contains": f"positionCaseInsensitiveUTF8({expression}, {bound}) > 0",
        "prefix": f"startsWith({expression}, {bound})",
        "matches": f"match({expression}, {bound})",
    }[op]


@dataclass(frozen=True)
class _Scope:
    """Where a segment's subqueries read: the site and the UTC days of the visit set (bound parameters)."""

    site: str
    first: str
    last: str

    @property
    def days(self) -> str:
        return f"site = {self.site} AND day BETWEEN {self.first} AND {self.last}"


@dataclass(frozen=True)
class SegmentSelection:
    """A resolved segment: its definition as a condition on a visit row."""

    segment_id: str
    name: str
    definition: Group

    @property
    def attributes(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(VISIT_FIELDS[c.field] for c in _conditions(self.definition) if c.field in VISIT_FIELDS)
        )

    def condition(self, ctx: Context, params: Params, site: str, start: datetime, end: datetime) -> str:
        first, last = utc_days(start, end)
        scope = _Scope(params.p(site, "String"), params.day(first), params.day(last))
        return _group_sql(ctx, params, scope, self.definition)


#: the selector name an unsaved definition is recorded under (it is never resolved from storage)
ADHOC = "adhoc_segment"


def with_definition(query: Query, definition: Group, label: str) -> Query:
    """The query pre-selecting the visits of an unsaved definition (the Reporting API's `segment`)
    exactly as a saved segment does. It is added resolved, so the query's other selectors must be
    resolved already (or absent): run_panel would otherwise try to resolve this one too."""
    if len(query.selections) != len(query.selectors):
        raise ValueError("resolve the query's selectors before adding an unsaved segment")
    return replace(
        query,
        selectors={**query.selectors, ADHOC: {"segment": label}},
        selections=(*query.selections, SegmentSelection("", label, definition)),
    )


def _conditions(group: Group) -> list[Condition]:
    out: list[Condition] = []
    for item in group.items:
        out.extend(_conditions(item) if isinstance(item, Group) else [item])
    return out


def _group_sql(ctx: Context, params: Params, scope: _Scope, group: Group) -> str:
    parts = [
        _group_sql(ctx, params, scope, x) if isinstance(x, Group) else _condition_sql(ctx, params, scope, x)
        for x in group.items
    ]
    return "(" + (" AND " if group.match == "all" else " OR ").join(parts) + ")"


def _visit_rows(ctx: Context) -> tuple[str, str]:
    """The table a visit's start, visitor and page views are read from (as visits_sql reads them), and
    the page-view count over its rows."""
    if ctx.use_view:
        return ctx.table("visit_stats"), "uniqExactArray(pageview_ids)"
    return ctx.table("pageviews"), "uniqExact(pageview_id)"


def _actions_sql(ctx: Context, scope: _Scope) -> str:
    """session_hash, actions: the visit's page views plus its Matomo actions over the days read (the
    Reporting API's visit figures count them alike)."""
    table, pageviews = _visit_rows(ctx)
    types = ", ".join(map(str, ACTION_TYPES))
    return (
        f"SELECT session_hash, sum(n) AS actions FROM (SELECT session_hash, {pageviews} AS n FROM {table} "
        f"WHERE {scope.days} GROUP BY session_hash UNION ALL SELECT session_hash, count() AS n "
        f"FROM {ctx.table('events')} WHERE {scope.days} AND type IN ({types}) GROUP BY session_hash) "
        "GROUP BY session_hash"
    )


def _visitor_types_sql(ctx: Context, scope: _Scope) -> str:
    """session_hash, visitor_type, as Matomo sets visitor_returning when a visit starts: `returningCustomer`
    when the visitor ordered before (or with the visit's first hit), else `returning` when the visitor has
    an earlier visit (Matomo: the visitor id is found in its log; here: in the stored page views up to the
    period's end, so within retention), else `new`. The visitor is the visit set's (max visitor_hash)."""
    table, _ = _visit_rows(ctx)
    until = f"site = {scope.site} AND day <= {scope.last}"
    visits = (
        f"SELECT session_hash, max(visitor_hash) AS visitor, min(started_at) AS start FROM {table} "
        f"WHERE {scope.days} GROUP BY session_hash"
    )
    firsts = (
        f"SELECT visitor_hash AS visitor, 1 AS seen, min(started_at) AS first FROM {table} "
        f"WHERE {until} GROUP BY visitor"
    )
    orders = (
        f"SELECT visitor_hash AS visitor, 1 AS ordered, min(ts) AS first_order FROM {ctx.table('events')} "
        f"WHERE {until} AND type = {ORDER} GROUP BY visitor"
    )
    return (
        "SELECT v.session_hash AS session_hash, multiIf(o.ordered = 1 AND o.first_order <= v.start, "
        "'returningCustomer', f.seen = 1 AND f.first < v.start, 'returning', 'new') AS visitor_type "
        f"FROM ({visits}) AS v LEFT JOIN ({firsts}) AS f ON v.visitor = f.visitor "
        f"LEFT JOIN ({orders}) AS o ON v.visitor = o.visitor"
    )


def _computed_sql(ctx: Context, params: Params, scope: _Scope, c: Condition) -> str:
    """A condition on a visit fact visit_stats does not hold: `session_hash [NOT] IN (visits with it)`.
    Every visit of the set has rows on the days read, so the negative form is exact."""
    if c.field == ACTIONS:
        limit = params.p(float(c.value), "Float64")
        counted = f"SELECT session_hash FROM ({_actions_sql(ctx, scope)}) WHERE actions {COMPARE[c.op]} {limit}"
        return f"session_hash IN ({counted})"
    negate = "NOT " if c.op in NEGATIVE else ""
    if c.field == VISITOR_TYPE:
        wanted = params.p(c.value, "String")
        rows = f"SELECT session_hash FROM ({_visitor_types_sql(ctx, scope)}) WHERE visitor_type = {wanted}"
    elif c.field == USER and not c.value:  # '' means no user: `is` keeps visits without any
        negate = "" if negate else "NOT "
        rows = f"SELECT session_hash FROM {ctx.table('pageviews')} WHERE {scope.days} AND user_hash != ''"
    elif c.field == USER:
        rows = (
            f"SELECT session_hash FROM {ctx.table('pageviews')} WHERE {scope.days} "
            f"AND user_hash = {params.p(c.value, 'String')}"
        )
    else:  # KEYWORD: the first page view's, as visit_stats keeps the other attribution columns
        first = "min((started_at, campaign_keyword)).2"
        rows = (
            f"SELECT session_hash FROM {ctx.table('pageviews')} WHERE {scope.days} GROUP BY session_hash "
            f"HAVING {_test(params, NEGATIVE.get(c.op, c.op), first, c.value)}"
        )
    return f"session_hash {negate}IN ({rows})"


def _condition_sql(ctx: Context, params: Params, scope: _Scope, c: Condition) -> str:
    if c.field in NUMBER_FIELDS:
        return f"{NUMBER_FIELDS[c.field]} {COMPARE[c.op]} {params.p(float(c.value), 'Float64')}"
    if c.field in (ACTIONS, KEYWORD, VISITOR_TYPE, USER):
        return _computed_sql(ctx, params, scope, c)
    positive = NEGATIVE.get(c.op, c.op)
    negate = "NOT " if c.op in NEGATIVE else ""
    if c.field in VISIT_FIELDS:
        return f"{negate}{_test(params, positive, VISIT_FIELDS[c.field], c.value)}"
    if c.field in PAGE_FIELDS:
        rows = (
            f"SELECT session_hash FROM {ctx.table('pageviews')} WHERE {scope.days} "
            f"AND {_test(params, positive, PAGE_FIELDS[c.field], c.value)}"
        )
    else:
        column, types = EVENT_FIELDS[c.field]
        rows = (
            f"SELECT session_hash FROM {ctx.table('events')} WHERE {scope.days} "
            f"AND type IN ({', '.join(map(str, types))}) AND {_test(params, positive, column, c.value)}"
        )
    return f"session_hash {negate}IN ({rows})"


# --- storage and the selector ---------------------------------------------------------------------

STORE = DefinitionTable("segments", "segment_id", ("name", "definition"), "segment")


def segment_record(row: dict[str, Any]) -> dict[str, Any]:
    """A stored segment as the API shows it."""
    return {
        "id": row["segment_id"],
        "name": row["name"],
        "definition": orjson.loads(row["definition"]),
        "author": row["author"],
        "updated_at": row["updated_at"],
    }


def save_segment(storage: Storage, site: str, ident: str | None, body: Any, author: str) -> dict[str, Any]:
    """Validate everything first, then write one row (blocking)."""
    if not isinstance(body, dict):
        raise BadQuery('body must be JSON: {"name": "…", "definition": {"match": "all", "conditions": […]}}')
    name = clean_name(body.get("name"))
    definition = definition_json(parse_definition(body.get("definition")))
    row = STORE.save(storage, site, ident, {"name": name, "definition": orjson.dumps(definition).decode()}, author)
    return segment_record(row)


_ID = re.compile(r"^[0-9a-f]{1,32}$")


def _check(values: Mapping[str, str]) -> None:
    if not _ID.fullmatch(values["segment"]):
        raise BadQuery("segment must be a segment id (hex, see /dashboard/api/v1/segments)")


def _resolve(storage: Storage, site: str, values: Mapping[str, str]) -> SegmentSelection:
    row = STORE.one(storage, site, values["segment"])
    return SegmentSelection(row["segment_id"], row["name"], parse_definition(orjson.loads(row["definition"])))


SELECTOR = Selector(
    "segment",
    {"segment": "id of a saved segment of the site: only its visits count, in every panel"},
    _check,
    _resolve,
)


def segments_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    latest = STORE.latest_sql(ctx.table("segments"), params, query.site)
    return Sql(
        f"SELECT segment_id, name, definition, author, updated_at FROM ({latest}) ORDER BY name, segment_id "
        f"LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


SEGMENTS = Panel(
    "segments",
    "Saved segments",
    "The site's saved segments (the period and filters do not apply). Create with POST, change with PUT and "
    "remove with DELETE on /dashboard/api/v1/segments[/<id>]; apply one to any panel with segment=<id>.",
    (
        Column("id", "string", "segment id"),
        Column("name", "string", "segment name"),
        Column("definition", "string", "the conditions as JSON: {match: all|any, conditions: [...]}"),
        Column("author", "string", "analyst who saved it last"),
        Column("updated_at", "datetime", "last change, UTC"),
    ),
    segments_sql,
)

PANELS = (SEGMENTS,)
