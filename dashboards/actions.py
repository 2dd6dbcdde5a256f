"""What a goal or a funnel step matches in a visit: a page view or an event, and the SQL that finds it.

An action is one of
    page          a page viewed: `exact` path, path `prefix`, or an RE2 `pattern` searched in the path with
                  its query string (the regular expressions ClickHouse runs, checked with the same library)
    event         a Matomo event (`_paq.push(["trackEvent", category, action, name])`): any of
                  event_category, event_action and event_name, each compared exactly; empty ones match anything
    custom_event  a Clarity/beacon custom event (`clarity("event", key)`, `wa("event", key, value)`) by key
    matomo_goal   a goal a Matomo tracker sent (`trackGoal(id)`), with the revenue it carried

`matched_sql` reads the page views and events of a site's visits as one timeline of actions with
common columns (a_ts in ms, a_type 0 for a page view, a_url, a_key, a_value, a_text, a_num), limited
to rows that match at least one of the given actions, and a bit mask of the actions each row matches;
`condition` is one action's test on those columns.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, Sequence

import re2

from dashboards.errors import BadQuery
from dashboards.model import Context, Params, utc_days

KINDS = ("page", "event", "custom_event", "matomo_goal")
PAGE_MATCHES = ("exact", "prefix", "pattern")
MAX_VALUE_CHARS = 500
#: events.type of each event kind (collector/ingest: Clarity custom event 24, Matomo event 1001, goal 1005)
EVENT_TYPES = {"event": 1001, "custom_event": 24, "matomo_goal": 1005}
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


@dataclass(frozen=True)
class Action:
    kind: str
    match: str = ""
    value: str = ""
    event_category: str = ""
    event_action: str = ""
    event_name: str = ""

    def document(self) -> dict[str, str]:
        return {k: v for k, v in asdict(self).items() if v}


def _text(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key, "")
    if value is None:
        return ""
    if not isinstance(value, (str, int)) or isinstance(value, bool) or len(str(value)) > MAX_VALUE_CHARS:
        raise BadQuery(f"{where}{key}: text of at most {MAX_VALUE_CHARS} characters")
    return str(value).strip()


def parse_action(raw: Any, where: str = "") -> Action:
    """A validated action from a JSON object; errors name the field (`where` prefixes it, e.g. `steps[2].`)."""
    if not isinstance(raw, dict):
        raise BadQuery(f"{where.rstrip('.') or 'action'}: an object with a kind")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise BadQuery(f"{where}kind: one of {', '.join(KINDS)}")
    value = _text(raw, "value", where)
    if kind == "page":
        match = raw.get("match") or "exact"
        if match not in PAGE_MATCHES:
            raise BadQuery(f"{where}match: one of {', '.join(PAGE_MATCHES)}")
        if not value:
            raise BadQuery(f"{where}value: the page path, prefix or pattern")
        if match == "pattern":
            try:
                re2.compile(value, _RE2_OPTIONS)
            except re2.error as exc:
                detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else exc
                raise BadQuery(f"{where}value: not a valid regular expression ({str(detail)[:80]})") from exc
        elif not value.startswith("/"):
            raise BadQuery(f"{where}value: a path starting with /")
        return Action("page", match, value)
    if kind == "event":
        category, action, name = (_text(raw, k, where) for k in ("event_category", "event_action", "event_name"))
        if not (category or action or name):
            raise BadQuery(f"{where}event_category: give an event category, action or name")
        return Action("event", event_category=category, event_action=action, event_name=name)
    if not value:
        raise BadQuery(f"{where}value: the {'custom event key' if kind == 'custom_event' else 'Matomo goal id'}")
    if kind == "matomo_goal" and not value.isdecimal():
        raise BadQuery(f"{where}value: a Matomo goal id is a whole number")
    return Action(kind, value=value)


def describe(action: Action) -> str:
    """The action in words (goal rules, default funnel step labels)."""
    if action.kind == "page":
        return f"page {action.match} {action.value}"
    if action.kind == "event":
        return "event " + " / ".join(v or "*" for v in (action.event_category, action.event_action, action.event_name))
    return f"{action.kind.replace('_', ' ')} {action.value}"


def condition(params: Params, action: Action) -> str:
    """The action's test on the timeline columns of `matched_sql`."""
    if action.kind == "page":
        if action.match == "exact":
            return f"(a_type = 0 AND path(a_url) = {params.p(action.value, 'String')})"
        if action.match == "prefix":
            return f"(a_type = 0 AND startsWith(path(a_url), {params.p(action.value, 'String')}))"
        return f"(a_type = 0 AND match(pathFull(a_url), {params.p(action.value, 'String')}))"
    tests = [f"a_type = {EVENT_TYPES[action.kind]}"]
    if action.kind == "event":
        for column, value in (
            ("a_key", action.event_category),
            ("a_value", action.event_action),
            ("a_text", action.event_name),
        ):
            if value:
                tests.append(f"{column} = {params.p(value, 'String')}")
    else:
        tests.append(f"a_key = {params.p(action.value, 'String')}")
    return f"({' AND '.join(tests)})"


_PAGE_ROWS = (
    "SELECT session_hash, toUInt64(toUnixTimestamp64Milli(started_at)) AS a_ts, toUInt16(0) AS a_type, "
    "url AS a_url, '' AS a_key, '' AS a_value, '' AS a_text, toFloat64(0) AS a_num"
)
_EVENT_ROWS = (
    "SELECT session_hash, toUInt64(toUnixTimestamp64Milli(ts)) AS a_ts, type AS a_type, url AS a_url, "
    "key AS a_key, value AS a_value, text AS a_text, num AS a_num"
)
MASK_BITS = 64


def _parts(
    ctx: Context, params: Params, site: str, start: datetime, end: datetime, actions: list[Action], sessions: str | None
) -> list[tuple[str, str, list[Action]]]:
    """Per table read: (its timeline columns, `FROM … WHERE` without the action test, the actions it can match)."""
    first, last = utc_days(start, end)
    where = f"site = {params.p(site, 'String')} AND day BETWEEN {params.day(first)} AND {params.day(last)}"
    if sessions is not None:
        where += f" AND session_hash IN ({sessions})"
    parts = []
    pages = [a for a in actions if a.kind == "page"]
    if pages:
        parts.append((_PAGE_ROWS, f"FROM {ctx.table('pageviews')} WHERE {where}", pages))
    events = [a for a in actions if a.kind != "page"]
    if events:
        types = ", ".join(sorted({str(EVENT_TYPES[a.kind]) for a in events}))
        parts.append((_EVENT_ROWS, f"FROM {ctx.table('events')} WHERE {where} AND type IN ({types})", events))
    if not parts:
        raise ValueError("actions need at least one action")
    return parts


def mask_words(count: int) -> int:
    """How many UInt64 masks `matched_sql` gives for `count` actions."""
    return (count + MASK_BITS - 1) // MASK_BITS


def matched_sql(
    ctx: Context,
    params: Params,
    site: str,
    start: datetime,
    end: datetime,
    actions: Sequence[Action],
    sessions: str | None = None,
) -> str:
    """The site's page views and events over the days of [start, end) (a visit's whole days) that match
    any of `actions` (a list, repeats allowed; of the `sessions`, SQL selecting session_hash, if given),
    with the timeline columns and a_mask0, a_mask1, …: bit i % 64 of a_mask<i // 64> is set when the row
    matches actions[i]. Each test runs once per row (the WHERE only compares the masks with 0): testing
    each action again after an OR filter cost as much as reading the rows."""
    words = mask_words(len(actions))
    selects = []
    for columns, source, matched in _parts(ctx, params, site, start, end, list(dict.fromkeys(actions)), sessions):
        tests = {a: condition(params, a) for a in matched}
        masks = []
        for w in range(words):
            bits = [
                f"bitShiftLeft(toUInt64({tests[a]}), {i % MASK_BITS})"
                for i, a in enumerate(actions)
                if i // MASK_BITS == w and a in tests
            ]
            masks.append(f"{' + '.join(bits) if bits else 'toUInt64(0)'} AS a_mask{w}")
        nonzero = " OR ".join(f"a_mask{w} != 0" for w in range(words))
        selects.append(f"{columns}, {', '.join(masks)} {source} AND ({nonzero})")
    return " UNION ALL ".join(selects)
