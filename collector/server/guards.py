"""Middlewares every request passes before a handler: security headers, the per-IP rate limit on the
tracking endpoints, and the body deadline that keeps a slow client from holding a connection.

Order (outermost first): `security_headers`, `rate_limit`, `body_deadline`. A rate-limited request is
refused before its body is read; every answer, refusals included, gets the security headers.
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from collector.core.errors import BadEnvelope, RateLimited, Refusal, SlowClient, TooLarge
from collector.core.keys import SETTINGS, SITES
from collector.ingest.cors import origin_allowed_anywhere
from collector.ingest.geo import client_ip
from collector.ingest.keys import METRICS, RATE_LIMITER
from collector.ingest.metrics import DropReason
from collector.ingest.request import refusal
from collector.server.primary import FORWARDED

#: tracking endpoints and their metric route; GET /js/ without a query serves matomo.js, not a hit
TRACKING_ROUTES = {
    "/collect": "collect",
    "/matomo.php": "matomo",
    "/piwik.php": "matomo",
    "/js/": "matomo",
    "/js/index.php": "matomo",
    "/js/tracker.php": "matomo",
}

#: headers on every answer (nosniff matters for the JS and JSON the collector serves)
COMMON_HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
#: for HTML answers without a policy of their own: no scripts, no framing, nothing loaded from elsewhere
HTML_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def tracking_route(request: web.Request) -> str | None:
    """The metric route of a tracking request, or None for anything else (pages, scripts, preflights)."""
    route = TRACKING_ROUTES.get(request.path)
    if route is None or request.method == "OPTIONS":
        return None
    if request.path.startswith("/js/") and request.method == "GET" and not request.query_string:
        return None
    return route


def refuse(request: web.Request, error: Refusal) -> web.Response:
    """A refusal from a guard: counted like the handlers' own on tracking routes, with CORS for a
    listed origin so the browser client can read the status."""
    route = tracking_route(request)
    origin = request.headers.get("Origin", "")
    if route is None:
        response = refusal(error, origin, cors_ok=False)
    else:
        metrics = request.config_dict[METRICS]
        metrics.drop(DropReason(error.reason))
        metrics.requests.labels(route, str(error.status)).inc()
        cors_ok = bool(origin) and origin_allowed_anywhere(request.config_dict[SITES], origin)
        response = refusal(error, origin, cors_ok)
    if error.status in (408, 413):
        response.force_close()  # the rest of the body is not worth waiting for
    return response


def _add_security_headers(response: web.StreamResponse) -> None:
    target = response.headers
    for name, value in COMMON_HEADERS.items():
        target.setdefault(name, value)
    if target.get("Content-Type", "").startswith("text/html"):
        target.setdefault("Content-Security-Policy", HTML_CSP)
        target.setdefault("X-Frame-Options", "DENY")


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """nosniff and Referrer-Policy everywhere; on HTML, a CSP and X-Frame-Options unless the handler (or
    a sub-app such as /dashboard) set its own: `setdefault`, never an override."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _add_security_headers(exc)
        raise
    if not response.prepared:
        _add_security_headers(response)
    return response


@web.middleware
async def rate_limit(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Tracking requests over the per-IP budget get 429 with Retry-After (the IP itself is not kept); a
    request another worker forwarded was counted there."""
    if tracking_route(request) is not None and not request.get(FORWARDED):
        ip = client_ip(request.remote, request.headers, request.config_dict[SETTINGS].client_ip_header)
        wait = request.config_dict[RATE_LIMITER].admit(ip)
        if wait is not None:
            return refuse(request, RateLimited("too many requests from this address", wait))
    return await handler(request)


@web.middleware
async def body_deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Read a request's body within the body timeout (and the size cap) before any handler runs, so a
    client trickling bytes is answered 408 and dropped instead of holding a connection and a buffer.
    Handlers then get aiohttp's cached body from `request.read()` / `request.post()`. Multipart bodies outside
    the tracking routes are left to their handler's streaming reader, which a pre-read would empty."""
    if request.body_exists and (tracking_route(request) or request.content_type != "multipart/form-data"):
        settings = request.config_dict[SETTINGS]
        limit = settings.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            return refuse(request, TooLarge(f"body over {limit} bytes"))
        try:
            async with asyncio.timeout(settings.body_timeout_s):
                await request.read()
        except TimeoutError:
            return refuse(request, SlowClient(f"body not received within {settings.body_timeout_s} s"))
        except web.HTTPRequestEntityTooLarge:
            return refuse(request, TooLarge(f"body over {limit} bytes"))
        except web.RequestPayloadError:  # a Content-Encoding that does not decode, a broken chunk
            response = refuse(request, BadEnvelope("body could not be read (its encoding or chunking is broken)"))
            response.force_close()
            return response
    return await handler(request)
