"""`POST /admin/retention`: the retention job's door into a running collector.

chdb lets one process hold a data folder, so while the collector runs, `python -m retention`
sends its request here and the collector executes it with the same code on its own storage.
Bearer-token protected (COLLECTOR_ADMIN_TOKEN); answers the JSON report.

The job runs only after `PENDING_WRITES.flush()` put every acknowledged row into ClickHouse (with
several workers: after each sealed its open spool segment, docs/scale-out.md); when that cannot be
done the answer is a 503 with Retry-After and nothing is read or erased.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from aiohttp import web

from collector.core.errors import StorageUnavailable
from collector.core.keys import HASHER, PENDING_WRITES, SETTINGS, SITES, STORAGE
from ingest_schema.storage import StorageError
from retention.service import execute, validate


def _authorised(request: web.Request) -> bool:
    expected = request.app[SETTINGS].admin_token
    supplied = request.headers.get("Authorization", "")
    return bool(expected) and hmac.compare_digest(supplied.encode(), f"Bearer {expected}".encode())


def _json(data: Any, status: int = 200, retry_after_s: int | None = None) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if retry_after_s is not None:
        headers["Retry-After"] = str(retry_after_s)
    return web.Response(
        body=orjson.dumps(data, default=str, option=orjson.OPT_NON_STR_KEYS),
        status=status,
        content_type="application/json",
        headers=headers,
    )


async def retention_request(request: web.Request) -> web.Response:
    if not _authorised(request):
        return _json({"error": "admin token required"}, status=401)
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError:
        return _json({"error": "body is not JSON"}, status=400)
    try:
        clean = validate(body, [s.id for s in request.app[SITES].all()])
    except ValueError as exc:
        return _json({"error": str(exc)[:200]}, status=400)
    try:
        await request.app[PENDING_WRITES].flush()
    except (StorageUnavailable, StorageError) as exc:  # a worker did not seal, or ClickHouse refused
        return _json({"error": f"accepted rows cannot be written first: {exc}"[:300]}, 503, retry_after_s=30)
    storage = request.app[STORAGE]
    report = await storage.run(execute, storage, request.app[HASHER], clean)
    return _json(report)


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/admin/retention", retention_request)
