"""Matomo's tracking API (`/matomo.php`, `/piwik.php`) and our `_paq` tracker (`/matomo.js`, `/piwik.js`).

Replies as Matomo does (docs/matomo.md): 204 when `send_image=0`, else the 1×1
GIF; bulk requests get `{"status":"success","tracked":N,"invalid":M}` or 204. Hits that are not
stored (no consent, bots, excluded) are answered like stored ones; what Matomo refuses gets a 4xx
with a short reason. CORS: only origins a site lists are echoed, with credentials.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import AsyncIterator

from aiohttp import web

from collector.core.errors import Overloaded, PayloadError, StorageUnavailable
from collector.core.keys import SETTINGS, STORAGE
from collector.ingest.cors import add_cors_headers, preflight_response
from collector.ingest.keys import GEO, MATOMO, MATOMO_STEPS, METRICS, SERVICES
from collector.ingest.matomo.consent import MatomoConsent
from collector.ingest.matomo.orders import OrderClaims
from collector.ingest.matomo.pipeline import MatomoHit, MatomoServices, hit_steps
from collector.ingest.matomo.salts import SaltStore
from collector.ingest.matomo.visits import Sessionizer
from collector.ingest.matomo.wire import ABOUT, bulk_response, hit_response, parse_request
from collector.ingest.metrics import DropReason
from collector.ingest.request import IngestRequest, cors_allowed, ensure_room, ingest_request, read_body, refusal
from ingest_schema.storage import StorageError

log = logging.getLogger(__name__)

TRACKER_JS = Path(__file__).resolve().parents[2] / "static" / "matomo.js"
TRACKER_PATHS = ("/matomo.php", "/piwik.php")
SCRIPT_PATHS = ("/matomo.js", "/piwik.js")
#: matomo's "ad-blocker friendly" paths: a GET without query serves the script, anything else tracks
DUAL_PATHS = ("/js/", "/js/index.php", "/js/tracker.php")


async def matomo_ctx(app: web.Application) -> AsyncIterator[None]:
    """The Matomo path's state, built on the ingest services (storage and writer are open by now)."""
    settings, services = app[SETTINGS], app[SERVICES]
    app[MATOMO] = MatomoServices(
        ingest=services,
        salts=SaltStore(app[STORAGE]),
        sessions=Sessionizer(app[STORAGE], services.hasher),
        orders=OrderClaims(app[STORAGE], services.hasher),
        consent=MatomoConsent(services.gate),
        geo=app[GEO],
        token_auth=settings.matomo_token_auth,
        max_hits=settings.max_events,
    )
    app[MATOMO_STEPS] = hit_steps(app[MATOMO])
    yield


def _with_cors(response: web.Response, request: web.Request, upload: IngestRequest) -> web.Response:
    if cors_allowed(upload, request.app[SERVICES].sites):
        add_cors_headers(response, upload.origin)
    return response


async def track(request: web.Request) -> web.Response:
    app = request.app
    services, metrics, steps = app[MATOMO], app[METRICS], app[MATOMO_STEPS]
    upload = ingest_request(request, app[SETTINGS].client_ip_header, app[GEO])
    try:
        ensure_room(services.ingest.writer)
        body = await read_body(request, app[SETTINGS].max_body_bytes)
        tracking = parse_request(request.rel_url.raw_query_string, body, services.max_hits)
    except (PayloadError, Overloaded) as error:
        metrics.drop(DropReason(error.reason))
        metrics.requests.labels("matomo", str(error.status)).inc()
        return _with_cors(refusal(error, upload.origin, False), request, upload)
    if not tracking.hits:
        if request.method == "GET":
            return web.Response(text=ABOUT, content_type="text/html")
        return _with_cors(web.Response(status=400, text="no tracking parameters"), request, upload)
    try:
        if tracking.bulk:
            tracked = invalid = 0
            for params in tracking.hits:
                try:
                    await steps.run(MatomoHit(params, upload))
                    tracked += 1
                except PayloadError as error:
                    metrics.drop(DropReason(error.reason), unit="hit")
                    invalid += 1
            response = bulk_response(tracking, tracked, invalid)
        else:
            try:
                await steps.run(MatomoHit(tracking.hits[0], upload))
            except PayloadError as error:
                metrics.drop(DropReason(error.reason))
                metrics.requests.labels("matomo", str(error.status)).inc()
                return _with_cors(refusal(error, upload.origin, False), request, upload)
            response = hit_response(tracking.send_image)
        await services.ingest.writer.committed()  # acknowledged only once the rows are in the spool
    except Overloaded as error:
        metrics.requests.labels("matomo", str(error.status)).inc()
        return _with_cors(refusal(error, upload.origin, False), request, upload)
    except StorageError as exc:
        log.error("matomo hit not stored: %s", exc)
        metrics.requests.labels("matomo", "503").inc()
        return _with_cors(refusal(StorageUnavailable(), upload.origin, False), request, upload)
    metrics.requests.labels("matomo", str(response.status)).inc()
    return _with_cors(response, request, upload)


async def tracker_script(request: web.Request) -> web.StreamResponse:
    return web.FileResponse(
        TRACKER_JS, headers={"Content-Type": "application/javascript", "Cache-Control": "public, max-age=3600"}
    )


async def dual(request: web.Request) -> web.StreamResponse:
    if request.method == "GET" and not request.rel_url.raw_query_string:
        return await tracker_script(request)
    return await track(request)


async def preflight(request: web.Request) -> web.Response:
    return preflight_response(request.app[SERVICES].sites, request, "GET, POST, OPTIONS")


def setup_routes(app: web.Application) -> None:
    for path in TRACKER_PATHS:
        app.router.add_get(path, track)
        app.router.add_post(path, track)
        app.router.add_route("OPTIONS", path, preflight)
    for path in SCRIPT_PATHS:
        app.router.add_get(path, tracker_script)
    for path in DUAL_PATHS:
        app.router.add_get(path, dual)
        app.router.add_post(path, dual)
        app.router.add_route("OPTIONS", path, preflight)
    app.cleanup_ctx.append(matomo_ctx)
