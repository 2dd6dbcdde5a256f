"""Build the aiohttp application: `init_app(settings)` wires resources through cleanup contexts.

The storage client and the batch writer are opened when the app starts and closed (writer
flushed first) when it stops, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import logging
from typing import AsyncIterator

from aiohttp import web

import dashboards

from .clarity.wire import Limits
from .consent import ConsentGate
from .geo import CountryLookup
from .guards import body_deadline, rate_limit, security_headers
from .handlers import admin, beacon, collect, demo, health, matomo, site
from .identity import Hasher
from .keys import GEO, METRICS, RATE_LIMITER, SERVICES, SETTINGS, SITES, STORAGE, WRITER
from .metrics import Metrics
from .pipeline import IngestServices
from .ratelimit import RateLimiter
from .settings import Settings
from .sites import SiteRegistry, load_sites
from .spool import Spool
from .storage import Storage
from .writer import BatchWriter

log = logging.getLogger(__name__)


async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    storage = Storage(settings.clickhouse_dsn, settings.database)
    if settings.clickhouse_cluster:
        await storage.run(storage.check_cluster_schema)
    else:
        applied = await storage.run(storage.migrate)
        if applied:
            log.info("applied schema migrations %s", applied)
    app[STORAGE] = storage
    yield
    storage.close()


async def writer_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    spool = Spool(
        settings.data_dir / "spool", settings.spool_max_bytes, settings.spool_segment_bytes,
        settings.batch_interval_ms / 1000, settings.spool_fsync_ms, app[METRICS],
    )
    writer = BatchWriter(app[STORAGE], app[METRICS], spool, settings.batch_rows, settings.batch_interval_ms)
    app[WRITER] = writer
    app[SERVICES] = IngestServices(
        sites=app[SITES],
        hasher=Hasher(settings.secret_key),
        gate=ConsentGate(app[STORAGE], writer, settings.consent_cache_size),
        writer=writer,
        metrics=app[METRICS],
        limits=Limits(settings.max_decompressed_bytes, settings.max_events),
        max_string_chars=settings.max_string_chars,
        drop_bots=settings.drop_bots,
    )
    writer.start()
    yield
    await writer.close()


def init_app(settings: Settings, sites: SiteRegistry | None = None) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[security_headers, rate_limit, body_deadline]
    )
    app[SETTINGS] = settings
    app[RATE_LIMITER] = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_exempt)
    app[SITES] = sites if sites is not None else load_sites(settings.sites_file, settings.public_url)
    app[METRICS] = Metrics()
    app[GEO] = CountryLookup()
    app.cleanup_ctx.append(storage_ctx)
    app.cleanup_ctx.append(writer_ctx)
    collect.setup_routes(app)
    health.setup_routes(app)
    site.setup_routes(app)
    admin.setup_routes(app)
    matomo.setup_routes(app)
    demo.setup_routes(app)
    beacon.setup_routes(app)
    dashboards.setup(app)
    return app
