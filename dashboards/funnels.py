"""Funnels: ordered steps (pages or events, dashboards.actions), some optional, within an optional window.

A funnel is counted per visit. A visit reaches a required step when it did the required steps up to it
in order (other actions in between allowed) within the window, timed from its first step (ClickHouse's
`windowFunnel`); a visit reaches an optional step when it reached the required steps before it and then
did the optional one. Visits that reached a step and not the next required step dropped off there.
The time between steps is the median, over the visits that reached a step, of the time from the first
time the previous required step was reached to the first time this step was reached after it.

The `funnel` panel gives one row per step; the session selector `funnel=<id>&step=<n>&dropped=1` limits any
panel (recordings, the visitor log, traffic) to the visits that dropped off after step n (without
`dropped`: the visits that reached it), so a funnel step links to its recordings.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Mapping

from dashboards.actions import MASK_BITS, Action, describe, matched_sql, parse_action
from dashboards.errors import BadQuery
from dashboards.goal_funnel_store import DefinitionStore, check_name
from dashboards.model import Column, Context, Panel, Params, Query, Sql
from dashboards.selections import Selector
from dashboards.visits import visit_sessions

STORE = DefinitionStore("funnel_definitions", "funnel")
MIN_STEPS, MAX_STEPS = 2, 10
MAX_WINDOW_S = 86_400
NO_WINDOW_MS = 2 * 86_400_000  # longer than any visit
MAX_LABEL_CHARS = 100
assert MAX_STEPS <= MASK_BITS, "per_visit_sql reads every step from one mask word"


@dataclass(frozen=True)
class Step:
    action: Action
    label: str
    optional: bool


@dataclass(frozen=True)
class Funnel:
    id: str
    name: str
    steps: tuple[Step, ...]
    window_seconds: int

    def previous_required(self, i: int) -> int:
        """The required step before step i (step 0 is always required)."""
        return max(j for j in range(i) if not self.steps[j].optional)

    def next_required(self, i: int) -> int | None:
        return next((j for j in range(i + 1, len(self.steps)) if not self.steps[j].optional), None)

    def chain(self, i: int) -> list[int]:
        """The steps a visit must do, in order, to reach step i."""
        return [j for j in range(i) if not self.steps[j].optional] + [i]


def parse_funnel(raw: Any) -> tuple[str, dict[str, Any]]:
    """(name, stored definition) from a request body; a 400 names the first bad field."""
    if not isinstance(raw, dict):
        raise BadQuery("body: a JSON object with name and steps")
    name = check_name(raw.get("name"))
    window = raw.get("window_seconds", 0) or 0
    if isinstance(window, bool) or not isinstance(window, int) or not 0 <= window <= MAX_WINDOW_S:
        raise BadQuery(f"window_seconds: a whole number from 0 (the whole visit) to {MAX_WINDOW_S}")
    steps = raw.get("steps")
    if not isinstance(steps, list) or not MIN_STEPS <= len(steps) <= MAX_STEPS:
        raise BadQuery(f"steps: a list of {MIN_STEPS} to {MAX_STEPS} steps")
    stored = []
    for i, step in enumerate(steps):
        where = f"steps[{i}]."
        action = parse_action(step, where)
        label = step.get("label") or ""
        if not isinstance(label, str) or len(label.strip()) > MAX_LABEL_CHARS:
            raise BadQuery(f"{where}label: text of at most {MAX_LABEL_CHARS} characters")
        optional = step.get("optional", False)
        if not isinstance(optional, bool):
            raise BadQuery(f"{where}optional: true or false")
        if optional and i in (0, len(steps) - 1):
            raise BadQuery(f"{where}optional: the first and the last step are required")
        stored.append({**action.document(), "label": label.strip(), "optional": optional})
    return name, {"steps": stored, "window_seconds": window}


def funnel_of(stored: Any) -> Funnel:
    steps = []
    for step in stored.definition["steps"]:
        fields = {k: v for k, v in step.items() if k not in ("label", "optional")}
        action = Action(**fields)
        steps.append(Step(action, step.get("label") or describe(action), bool(step.get("optional"))))
    return Funnel(stored.id, stored.name, tuple(steps), int(stored.definition.get("window_seconds", 0)))


# --- per visit ------------------------------------------------------------------------------------


def per_visit_sql(
    ctx: Context, params: Params, site: str, start: datetime, end: datetime, funnel: Funnel, sessions: str | None = None
) -> str:
    """One row per visit with a funnel action over the days of [start, end) (of `sessions` if given):
    r<i> (reached step i), k<i> (went on to the next required step), t<i> (ms when step i was first
    reached after the previous required step; 0: never)."""
    steps = funnel.steps
    # each step's test runs once per row, into a bit mask (MAX_STEPS fits one mask word)
    tests = ", ".join(f"bitTest(a_mask0, {i}) AS s{i}" for i in range(len(steps)))
    actions = matched_sql(ctx, params, site, start, end, [s.action for s in steps], sessions)
    timeline = f"SELECT session_hash, a_ts, {tests} FROM ({actions})"
    window = funnel.window_seconds * 1000 or NO_WINDOW_MS

    # windowFunnel's level for a chain of steps reaches k exactly when the chain's first k steps were done in
    # order within the window (the level of step k depends on steps 1..k only), so one call over the required
    # steps answers every required step, and one per optional step (the required steps before it, it, and
    # the next required step) answers that step: 1 + optional calls instead of two per step
    required = [j for j in range(len(steps)) if not steps[j].optional]
    levels = [f"windowFunnel({window})(a_ts, {', '.join(f's{j}' for j in required)}) AS lv"]
    flags = []
    for i in range(len(steps)):
        after = funnel.next_required(i)
        if not steps[i].optional:
            depth = required.index(i) + 1
            flags.append(f"lv >= {depth} AS r{i}")
            flags.append(f"lv >= {depth + 1} AS k{i}" if after is not None else f"0 AS k{i}")
            continue
        chain = funnel.chain(i) + [after] if after is not None else funnel.chain(i)
        levels.append(f"windowFunnel({window})(a_ts, {', '.join(f's{j}' for j in chain)}) AS lv{i}")
        depth = len(funnel.chain(i))
        flags.append(f"lv{i} >= {depth} AS r{i}")
        flags.append(f"lv{i} >= {depth + 1} AS k{i}" if after is not None else f"0 AS k{i}")
    # first times, greedily in order: each step after the previous required step was first reached (the
    # earliest of the step's times from then on; per-step arrays of times, not a sorted timeline of tuples)
    firsts = ["minIf(a_ts, s0) AS t0"] + [f"groupArrayIf(a_ts, s{i}) AS ts{i}" for i in range(1, len(steps))]
    times = ["t0"]
    for i in range(1, len(steps)):
        p = funnel.previous_required(i)
        times.append(f"if(t{p} > 0, arrayMin(arrayFilter(x -> x >= t{p}, ts{i})), 0) AS t{i}")
    names = ", ".join(f"r{i}, k{i}" for i in range(len(steps)))
    inner = f"SELECT session_hash, {', '.join(levels)}, {', '.join(firsts)} FROM ({timeline}) GROUP BY session_hash"
    return f"SELECT session_hash, {names}, {', '.join(times)} FROM (SELECT *, {', '.join(flags)} FROM ({inner}))"


def dropped_condition(funnel: Funnel, i: int) -> str:
    """Reached step i and did not go on to the next required step."""
    if funnel.next_required(i) is None:
        return "0"
    return f"(r{i} AND NOT k{i})"


# --- the panel ------------------------------------------------------------------------------------


def prepare(storage: Any, query: Query) -> Query:
    """The funnel the option names (404 if unknown); without one the panel has no rows."""
    raw = query.option("funnel")
    funnel = funnel_of(STORE.get(storage, query.site, raw)) if raw else None
    return replace(query, definitions={"funnel": funnel})


def funnel_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    funnel: Funnel | None = query.definitions["funnel"]
    if funnel is None:
        return Sql("SELECT 0 WHERE 0", params.values)
    figures = []
    for i in range(len(funnel.steps)):
        figures.append(f"countIf(r{i}), countIf({dropped_condition(funnel, i)})")
        if i:
            p = funnel.previous_required(i)
            figures.append(f"quantileExactInclusiveIf(0.5)(t{i} - t{p}, r{i} AND t{i} > 0 AND t{p} > 0)")
    # the funnel of every visit of the days read, joined with the query's visits (faster than limiting the
    # actions read to `session_hash IN (visits)`: measured at 1M events)
    visits = per_visit_sql(ctx, params, query.site, query.period.start, query.period.end, funnel)
    chosen = visit_sessions(ctx, params, query)
    return Sql(
        f"SELECT {', '.join(figures)} FROM ({visits}) AS f INNER JOIN ({chosen}) AS v USING session_hash", params.values
    )


def _percent(part: int, whole: int) -> float | None:
    return round(part * 100 / whole, 2) if whole else None


def funnel_shape(query: Query, rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    funnel: Funnel | None = query.definitions["funnel"]
    if funnel is None:
        return []
    values = list(rows[0]) if rows else []
    reached: list[int] = []
    out = []
    for i, step in enumerate(funnel.steps):
        visits, dropped = (int(v) for v in values[:2]) if values else (0, 0)
        median = None
        if i:
            median = round(float(values[2]) / 1000, 1) if values and visits else None
            values = values[3:]
        else:
            values = values[2:]
        reached.append(visits)
        previous = reached[funnel.previous_required(i)] if i else visits
        out.append(
            (
                i + 1,
                step.label,
                step.optional,
                visits,
                _percent(visits, reached[0]),
                _percent(visits, previous),
                dropped if funnel.next_required(i) is not None else None,
                _percent(dropped, visits) if funnel.next_required(i) is not None else None,
                median,
            )
        )
    return out


FUNNEL = Panel(
    "funnel",
    "Funnel",
    "One funnel (option funnel=<id>; without it, no rows), a row per step: visits that reached it, conversion "
    "from the first step and from the previous required step, visits that dropped off after it (reached it, not "
    "the next required step) and the median seconds from the previous required step. Recordings of a step's drop-off: "
    "/dashboard/api/v1/recordings?funnel=<id>&step=<n>&dropped=1.",
    (
        Column("step", "integer", "step number, from 1"),
        Column("label", "string", "step label"),
        Column("optional", "boolean", "an optional step"),
        Column("visits", "integer", "visits that reached the step"),
        Column("conversion_rate", "number", "percent of the visits that reached step 1"),
        Column("from_previous", "number", "percent of the visits that reached the previous required step"),
        Column("dropped", "integer", "visits that reached the step and not the next required one (null: last step)"),
        Column("drop_off_rate", "number", "dropped, percent of the step's visits"),
        Column("median_seconds", "number", "median seconds from the previous required step (null: step 1)"),
    ),
    funnel_sql,
    funnel_shape,
    options=("funnel",),
    prepare=prepare,
)

PANELS = (FUNNEL,)


# --- the session selector: a step's visits -------------------------------------------------------


@dataclass(frozen=True)
class StepVisits:
    """The visits that reached a funnel step (`dropped`: and did not go on to the next required step)."""

    funnel: Funnel | None  # None: the request names a funnel without a step (the funnel panel's subject)
    step: int = 0
    dropped: bool = False
    attributes: tuple[str, ...] = ()

    def condition(self, ctx: Context, params: Params, site: str, start: datetime, end: datetime) -> str:
        if self.funnel is None:
            return "1"
        test = dropped_condition(self.funnel, self.step) if self.dropped else f"r{self.step}"
        visits = per_visit_sql(ctx, params, site, start, end, self.funnel)
        return f"session_hash IN (SELECT session_hash FROM ({visits}) WHERE {test})"


def _check(values: Mapping[str, str]) -> None:
    if "step" in values and not values["step"].isdecimal():
        raise BadQuery("step: a step number, from 1")
    if "step" in values and "funnel" not in values:
        raise BadQuery("funnel: the funnel id, with step")
    if "dropped" in values and "step" not in values:
        raise BadQuery("step: the step whose drop-off to show, with dropped")
    if values.get("dropped", "0") not in ("0", "1"):
        raise BadQuery("dropped: 1 (visits that left after the step) or 0 (visits that reached it)")


def _resolve(storage: Any, site: str, values: Mapping[str, str]) -> StepVisits:
    if "step" not in values:
        return StepVisits(None)
    funnel = funnel_of(STORE.get(storage, site, values["funnel"]))
    step = int(values["step"])
    if not 1 <= step <= len(funnel.steps):
        raise BadQuery(f"step: a step number from 1 to {len(funnel.steps)}")
    return StepVisits(funnel, step - 1, values.get("dropped") == "1")


SELECTOR = Selector(
    "funnel",
    {
        "funnel": "a funnel id: with step, only the visits of that step (the funnel panel: the funnel shown)",
        "step": "funnel step number, from 1: only the visits that reached it",
        "dropped": "1: only the visits that dropped off after the step (reached it, not the next required step)",
    },
    _check,
    _resolve,
)
