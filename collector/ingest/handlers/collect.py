"""`POST /collect`: the URL a site gives clarity-js (and our beacon) as `upload`.

Replies 204 with an empty body whatever was stored (a 200 body would be run as commands by
clarity-js), 4xx with a short reason for refused input, and never echoes the request.
"""

from __future__ import annotations

import logging

from aiohttp import web

from collector.core.errors import Overloaded, PayloadError, Refusal, TooLarge, http_status
from collector.core.keys import SETTINGS
from collector.ingest.cors import add_cors_headers, origin_allowed_anywhere, preflight_response
from collector.ingest.geo import client_ip
from collector.ingest.keys import GEO, METRICS, SERVICES
from collector.ingest.metrics import DropReason
from collector.ingest.pipeline import RequestInfo, ingest_clarity, now_ms

log = logging.getLogger(__name__)


def request_info(request: web.Request) -> RequestInfo:
    """The request as the pipeline sees it: the country is looked up here and the IP forgotten."""
    headers = request.headers
    ip = client_ip(request.remote, headers, request.app[SETTINGS].client_ip_header)
    return RequestInfo(
        origin=headers.get("Origin", ""),
        user_agent=headers.get("User-Agent", ""),
        gpc=headers.get("Sec-GPC", "").strip() == "1",
        dnt=headers.get("DNT", "").strip() == "1",
        received_ms=now_ms(),
        country=request.app[GEO].country(ip),
    )


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, at most `limit` bytes. The `body_deadline` guard has read it already (within the body
    timeout and the app's size cap), so this returns aiohttp's cached copy."""
    body = await request.read()
    if len(body) > limit:
        raise TooLarge(f"body over {limit} bytes")
    return body


def refusal(error: Refusal, origin: str, cors_ok: bool) -> web.Response:
    response = web.Response(status=http_status(error), text=str(error)[:200] or error.reason,
                            content_type="text/plain")
    if error.retry_after_s is not None:
        response.headers["Retry-After"] = str(error.retry_after_s)
    if cors_ok:
        add_cors_headers(response, origin)
    return response


async def collect(request: web.Request) -> web.Response:
    app = request.app
    services, metrics = app[SERVICES], app[METRICS]
    info = request_info(request)
    cors_ok = bool(info.origin) and origin_allowed_anywhere(services.sites, info.origin)
    try:
        if not services.writer.has_room():
            raise Overloaded("spool full: ClickHouse is not keeping up")
        body = await read_body(request, app[SETTINGS].max_body_bytes)
        await ingest_clarity(services, body, info)
        await services.writer.committed()
    except (PayloadError, Overloaded) as error:
        metrics.drop(DropReason(error.reason))
        metrics.requests.labels("collect", str(error.status)).inc()
        return refusal(error, info.origin, cors_ok)
    response = web.Response(status=204)
    if cors_ok:
        add_cors_headers(response, info.origin)
    metrics.requests.labels("collect", "204").inc()
    return response


async def collect_preflight(request: web.Request) -> web.Response:
    return preflight_response(request.app[SERVICES].sites, request, "POST, OPTIONS")


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/collect", collect)
    app.router.add_route("OPTIONS", "/collect", collect_preflight)
