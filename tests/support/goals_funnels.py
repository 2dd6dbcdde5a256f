"""Helpers of tests/test_goals_funnels.py that other test modules use too."""

from __future__ import annotations

from typing import Any

import orjson

from tests.support.dashboard import Analyst, log_in
from tests.support.goals_funnels_data import (
    SITE,
    TOKEN,
    Visit,
    converted,
    goals_site,
    plan,
    send,
)

DEFS = "/dashboard/api/v1/definitions"


async def started(collector_factory: Any) -> tuple[Any, Analyst, list[Visit]]:
    collector = await collector_factory(goals_site(), matomo_token_auth=TOKEN)
    visits = plan()
    await send(collector, visits)
    stored = collector.rows("SELECT uniqExact(session_hash) FROM {db}.pageviews WHERE site = {site:String}", site=SITE)
    assert stored[0][0] == len(visits), "every planned visit is one stored visit"
    return collector, await log_in(collector), visits


async def create(analyst: Analyst, kind: str, body: dict[str, Any]) -> dict[str, Any]:
    status, answer = await analyst.post_json(f"{DEFS}/{kind}", body, csrf=analyst.csrf, site=SITE)
    assert status == 201, (status, answer[:300])
    document: dict[str, Any] = orjson.loads(answer)
    return document


def visit_count(visits: list[Visit], test: Any) -> int:
    return sum(1 for v in visits if converted(v, test))
