"""Build the aiohttp application: `init_app(settings)` wires resources through cleanup contexts.

The storage client and the batch writer are opened when the app starts and closed (writer
flushed first) when it stops, so a clean shutdown loses nothing.
"""

from __future__ import annotations

import logging
from typing import AsyncIterator

from aiohttp import web

import dashboards
import retention.http
from collector.core.client import announce, withdraw
from collector.core.keys import HASHER, PENDING_WRITES, SETTINGS, SITES, STORAGE
from collector.core.settings import Settings
from collector.core.sites import SiteRegistry, load_sites
from collector.ingest.clarity.pipeline import collect_steps
from collector.ingest.clarity.wire import Limits
from collector.ingest.consent import ConsentGate
from collector.ingest.geo import CountryLookup
from collector.ingest.handlers import beacon, collect, matomo
from collector.ingest.keys import COLLECT_STEPS, GEO, METRICS, RATE_LIMITER, SERVICES, WRITER
from collector.ingest.metrics import Metrics
from collector.ingest.ratelimit import RateLimiter
from collector.ingest.services import IngestServices
from collector.ingest.spool import Spool
from collector.ingest.writer import BatchWriter
from collector.server.guards import body_deadline, rate_limit, security_headers
from collector.server.handlers import demo, health, site
from ingest_schema.hashing import Hasher
from ingest_schema.storage import Storage

log = logging.getLogger(__name__)


async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    storage = Storage(settings.clickhouse_dsn, settings.database, user=settings.clickhouse_user,
                      password=settings.clickhouse_password)
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
    app[WRITER] = app[PENDING_WRITES] = writer
    app[SERVICES] = IngestServices(
        sites=app[SITES],
        hasher=app[HASHER],
        gate=ConsentGate(app[STORAGE], writer, settings.consent_cache_size),
        writer=writer,
        metrics=app[METRICS],
        max_string_chars=settings.max_string_chars,
        drop_bots=settings.drop_bots,
    )
    app[COLLECT_STEPS] = collect_steps(app[SERVICES], Limits(settings.max_decompressed_bytes, settings.max_events))
    writer.start()
    yield
    await writer.close()


async def url_file_ctx(app: web.Application) -> AsyncIterator[None]:
    """Announce this collector's URL in its data folder once storage and the writer are up (cleanup
    contexts run in order), so a tool that finds it finds a collector ready to answer."""
    record = announce(app[SETTINGS])
    yield
    if record is not None:
        withdraw(app[SETTINGS], record)


def init_app(settings: Settings, sites: SiteRegistry | None = None) -> web.Application:
    app = web.Application(
        client_max_size=settings.max_body_bytes, middlewares=[security_headers, rate_limit, body_deadline]
    )
    app[SETTINGS] = settings
    app[RATE_LIMITER] = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_exempt)
    app[SITES] = sites if sites is not None else load_sites(settings.sites_file, settings.public_url)
    app[METRICS] = Metrics()
    app[GEO] = CountryLookup()
    app[HASHER] = Hasher(settings.secret_key)
    app.cleanup_ctx.append(storage_ctx)
    app.cleanup_ctx.append(writer_ctx)
    collect.setup_routes(app)
    health.setup_routes(app)
    site.setup_routes(app)
    retention.http.setup_routes(app)
    matomo.setup_routes(app)
    demo.setup_routes(app)
    beacon.setup_routes(app)
    dashboards.setup(app)
    app.cleanup_ctx.append(url_file_ctx)
    return app
