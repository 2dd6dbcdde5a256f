"""CORS for tracking endpoints: echo only origins a site allows, with credentials (never `*`).

clarity-js uploads with `withCredentials`, so a wildcard would make the browser drop the reply
and the client stop recording; an origin no site lists gets no CORS headers at all.
"""

from __future__ import annotations

from aiohttp import web

from collector.core.sites import SiteRegistry


def origin_allowed_anywhere(sites: SiteRegistry, origin: str) -> bool:
    return any(site.allows_origin(origin) for site in sites.all())


def add_cors_headers(response: web.StreamResponse, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Access-Control-Allow-Credentials"] = "true"
    response.headers["Vary"] = "Origin"


def preflight_response(sites: SiteRegistry, request: web.Request, methods: str) -> web.Response:
    """Answer an OPTIONS preflight: 204 with the allow headers for a listed origin, else 403."""
    origin = request.headers.get("Origin", "")
    if not origin or not origin_allowed_anywhere(sites, origin):
        return web.Response(status=403, text="origin not allowed")
    response = web.Response(status=204)
    add_cors_headers(response, origin)
    response.headers["Access-Control-Allow-Methods"] = methods
    response.headers["Access-Control-Allow-Headers"] = request.headers.get(
        "Access-Control-Request-Headers", "Content-Type"
    )[:200]
    response.headers["Access-Control-Max-Age"] = "86400"
    return response
