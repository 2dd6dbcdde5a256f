"""`POST /collect`: the URL a site gives clarity-js (and our beacon) as `upload`.

Replies 204 with an empty body whatever was stored (a 200 body would be run as commands by
clarity-js), 4xx with a short reason for refused input, and never echoes the request.
"""

from __future__ import annotations

import logging

from aiohttp import web

from collector.core.errors import Overloaded, PayloadError, StorageUnavailable
from collector.core.keys import SETTINGS
from collector.ingest.clarity.pipeline import ClarityUpload
from collector.ingest.cors import add_cors_headers, preflight_response
from collector.ingest.keys import COLLECT_STEPS, GEO, METRICS, SERVICES
from collector.ingest.metrics import DropReason
from collector.ingest.request import cors_allowed, ensure_room, ingest_request, read_body, refusal
from ingest_schema.storage import StorageError

log = logging.getLogger(__name__)


async def collect(request: web.Request) -> web.Response:
    app = request.app
    services, metrics = app[SERVICES], app[METRICS]
    upload = ingest_request(request, app[SETTINGS].client_ip_header, app[GEO])
    cors_ok = cors_allowed(upload, services.sites)
    try:
        ensure_room(services.writer)
        body = await read_body(request, app[SETTINGS].max_body_bytes)
        await app[COLLECT_STEPS].run(ClarityUpload(body, upload))
        await services.writer.committed()
    except (PayloadError, Overloaded) as error:
        metrics.drop(DropReason(error.reason))
        metrics.requests.labels("collect", str(error.status)).inc()
        return refusal(error, upload.origin, cors_ok)
    except StorageError as exc:
        log.error("upload not stored: %s", exc)
        metrics.requests.labels("collect", "503").inc()
        return refusal(StorageUnavailable(), upload.origin, cors_ok)
    response = web.Response(status=204)
    if cors_ok:
        add_cors_headers(response, upload.origin)
    metrics.requests.labels("collect", "204").inc()
    return response


async def collect_preflight(request: web.Request) -> web.Response:
    return preflight_response(request.app[SERVICES].sites, request, "POST, OPTIONS")


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/collect", collect)
    app.router.add_route("OPTIONS", "/collect", collect_preflight)
