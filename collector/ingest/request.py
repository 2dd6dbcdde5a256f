"""One upload as both ingest paths see it, built once per HTTP request, and the replies they share.

The client IP and user agent are held in memory for this request only: the country is looked up
here (the one place), the IP is used by the Matomo path's cookieless hash, and neither is stored.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

from aiohttp import web

from collector.core.errors import Forbidden, Overloaded, Refusal, TooLarge, http_status
from collector.core.sites import Site, SiteRegistry
from collector.ingest.cors import add_cors_headers, origin_allowed_anywhere
from collector.ingest.geo import CountryLookup, client_ip
from collector.ingest.metrics import DropReason
from collector.ingest.writer import BatchWriter


@dataclass(frozen=True)
class IngestRequest:
    """What a pipeline may know about the HTTP request; in memory only, never stored."""

    origin: str
    user_agent: str
    gpc: bool
    dnt: bool
    received_ms: int
    country: str = ""
    ip: str = ""
    referer: str = ""
    prefetch: bool = False


def now_ms() -> int:
    return int(time.time() * 1000)


def _is_prefetch(headers: Mapping[str, str]) -> bool:
    purpose = (headers.get("X-Purpose", "") + headers.get("Purpose", "") + headers.get("Sec-Purpose", "")).lower()
    return "preview" in purpose or "prefetch" in purpose or headers.get("X-Moz", "").lower() == "prefetch"


def ingest_request(request: web.Request, client_ip_header: str, geo: CountryLookup) -> IngestRequest:
    """The request as the pipelines see it: privacy signals, the country looked up, the IP kept in memory."""
    headers = request.headers
    ip = client_ip(request.remote, headers, client_ip_header)
    return IngestRequest(
        origin=headers.get("Origin", ""),
        user_agent=headers.get("User-Agent", ""),
        gpc=headers.get("Sec-GPC", "").strip() == "1",
        dnt=headers.get("DNT", "").strip() == "1",
        received_ms=now_ms(),
        country=geo.country(ip),
        ip=ip,
        referer=headers.get("Referer", ""),
        prefetch=_is_prefetch(headers),
    )


def site_with_origin(site: Site | None, origin: str, unknown: Refusal) -> Site:
    """The site a payload names, if the browser's origin is on its list (server-side clients send none)."""
    if site is None:
        raise unknown
    if origin and origin != "null" and not site.allows_origin(origin):
        raise Forbidden("origin not allowed for this site")
    return site


def privacy_signal(site: Site, request: IngestRequest) -> DropReason | None:
    """Global Privacy Control always refuses storage; Do Not Track unless the site opts out."""
    if request.gpc:
        return DropReason.GPC
    if request.dnt and site.honour_dnt:
        return DropReason.DNT
    return None


def ensure_room(writer: BatchWriter) -> None:
    """Past the spool's disk budget nothing more is accepted (503 + Retry-After), so nothing is lost."""
    if not writer.has_room():
        raise Overloaded("spool full: ClickHouse is not keeping up")


async def read_body(request: web.Request, limit: int) -> bytes:
    """The body, at most `limit` bytes. The `body_deadline` guard has read it already (within the body
    timeout and the app's size cap), so this returns aiohttp's cached copy."""
    body = await request.read()
    if len(body) > limit:
        raise TooLarge(f"body over {limit} bytes")
    return body


def refusal(error: Refusal, origin: str, cors_ok: bool) -> web.Response:
    """A refused request: its status, a short plain-text reason, Retry-After when retrying may help."""
    response = web.Response(status=http_status(error), text=str(error)[:200] or error.reason, content_type="text/plain")
    if error.retry_after_s is not None:
        response.headers["Retry-After"] = str(error.retry_after_s)
    if cors_ok:
        add_cors_headers(response, origin)
    return response


def cors_allowed(request: IngestRequest, sites: SiteRegistry) -> bool:
    """Whether to echo the request's origin (only an origin some site lists)."""
    return bool(request.origin) and origin_allowed_anywhere(sites, request.origin)
