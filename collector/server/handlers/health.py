"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from collector.core.keys import STORAGE
from collector.ingest.keys import METRICS, WRITER


async def healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def readyz(request: web.Request) -> web.Response:
    """Ready when ClickHouse answers and the spool is under its disk budget."""
    storage = request.app[STORAGE]
    reachable = await storage.run(storage.ping)
    spool = request.app[WRITER].spool
    body = {"clickhouse": reachable, "spool_bytes": spool.size_bytes, "spool_budget_bytes": spool.max_bytes}
    return web.json_response(body, status=200 if reachable and spool.has_room() else 503)


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup_routes(app: web.Application, local_only: bool = False) -> None:
    """`local_only`: a worker other than the primary answers liveness itself and forwards the rest."""
    app.router.add_get("/healthz", healthz)
    if local_only:
        return
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
