"""Schemathesis against the dashboards' own OpenAPI document: every documented operation gets
generated queries, valid and invalid, over a real socket with an API token; every answer must be
a documented status (never a 5xx) whose body matches the documented schema, and the process stays up.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.core.result import Err

from tests.support.collector import CollectorFactory
from tests.support.dashboard import SITE, dashboard_site, seed, with_token

pytestmark = pytest.mark.asyncio
EXAMPLES_PER_OPERATION = 10


def fuzz_operations(document: dict[str, Any], base_url: str, headers: dict[str, str]) -> dict[str, int]:
    """Run every GET operation of the document with positive and negative generated cases (blocking)."""
    schema = schemathesis.openapi.from_dict(document)
    statuses: dict[str, int] = {}
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            raise result.err()  # an operation the document describes wrongly: its own error, not an AttributeError
        operation = result.ok()
        if operation.method.upper() != "GET":
            continue  # the one POST needs a session's CSRF token: covered by the API tests
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                response = case.call(base_url=base_url, headers=headers, timeout=30)
                key = str(response.status_code)
                statuses[key] = statuses.get(key, 0) + 1
                assert response.status_code < 500, (case.path, case.query, response.text[:300])
                documented = case.operation.definition.raw["responses"]
                assert key in documented, (case.path, case.query, response.status_code, response.text[:200])
                if response.status_code == 200 and response.headers.get("Content-Type", "").startswith(
                    "application/json"
                ):
                    case.validate_response(response)

            run()
    return statuses


async def test_fuzz_dashboard_api_from_its_openapi_document(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site())
    await seed(collector, matomo=False)
    script = await with_token(collector)
    try:
        status, body, _ = await script.get("/dashboard/api/openapi.json")
        assert status == 200
        import orjson

        document = orjson.loads(body)
        statuses = await asyncio.to_thread(fuzz_operations, document, collector.url, script.extra_headers)
        assert statuses.get("200", 0) > 100 and statuses.get("400", 0) > 100, statuses
        assert not any(code.startswith("5") for code in statuses)
        assert (await script.get("/dashboard/api/v1/overview", site=SITE))[0] == 200, "still serving"
        print(f"dashboards API fuzz: {sum(statuses.values())} cases, statuses {statuses}")
    finally:
        await script.close()
