"""Many goals at once: the goal panel tests every goal's action in one read, 64 goals to a bit mask, so a
site with more goals than one mask holds must still count each goal on its own.

The visits go in through the real tracking API (tests/support/goals_funnels_data.py); expected
conversions and revenue come from the plan of those visits, in plain Python.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.goals_funnels import create, started, visit_count
from tests.support.goals_funnels_data import SITE, Test, converted, event, matomo_goal, page

pytestmark = pytest.mark.asyncio

#: goals that match something, placed at mask bits 0, 63, 64, 65 and 69; the rest match nothing
REAL: dict[int, tuple[dict[str, Any], Test]] = {
    0: (
        {"name": "Checkout", "kind": "page", "match": "exact", "value": "/checkout", "revenue": 5},
        page("exact", "/checkout"),
    ),
    63: ({"name": "Product", "kind": "page", "match": "prefix", "value": "/product/"}, page("prefix", "/product/")),
    64: ({"name": "Cart", "kind": "event", "event_category": "Cart", "event_action": "Add"}, event("Cart", "Add")),
    65: ({"name": "Order", "kind": "matomo_goal", "value": "1"}, matomo_goal),
    69: (
        {"name": "Thanks", "kind": "page", "match": "pattern", "value": r"^/thanks\?order=\d+$"},
        page("pattern", r"^/thanks\?order=\d+$"),
    ),
}
GOALS = 70


async def test_seventy_goals_each_count_their_own_conversions(collector_factory: Any) -> None:
    collector, analyst, visits = await started(collector_factory)
    try:
        ids = []
        for i in range(GOALS):
            body: dict[str, Any] = (
                REAL[i][0]
                if i in REAL
                else {"name": f"Nothing {i}", "kind": "page", "match": "exact", "value": f"/never-{i}"}
            )
            ids.append((await create(analyst, "goals", body))["id"])
        rows = {r["goal"]: r for r in (await analyst.api("goal_conversions", site=SITE, period="7d"))["rows"]}
        assert list(rows) == ids
        for i, goal_id in enumerate(ids):
            expected = visit_count(visits, REAL[i][1]) if i in REAL else 0
            assert rows[goal_id]["conversions"] == expected, (i, rows[goal_id])
            assert (expected > 0) == (i in REAL), f"the plan must exercise goal {i}"
        assert rows[ids[0]]["revenue"] == 5 * visit_count(visits, REAL[0][1])
        tracked = sum(a.revenue for v in visits for a in v.acts if a.kind == "goal")
        assert rows[ids[65]]["revenue"] == round(tracked, 2), "a Matomo goal past the first mask keeps its revenue"
        assert rows[ids[65]]["visitors"] == len({v.visitor for v in visits if converted(v, matomo_goal)})
    finally:
        await analyst.close()
