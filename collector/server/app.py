"""Build the aiohttp application: `init_app(settings)` wires resources through cleanup contexts.

The storage client and the batch writer are opened when the app starts and closed (writer
flushed first) when it stops, so a clean shutdown loses nothing. The primary worker (index 0) is the
whole collector; another worker (COLLECTOR_WORKERS > 1, docs/scale-out.md) serves `/collect` and
forwards everything else to the primary, and on the embedded engine has no storage of its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path
from typing import AsyncIterator

from aiohttp import web

import dashboards
import dashboards.archive
import dashboards.queries
import retention.http
from collector.core.client import announce, withdraw
from collector.core.keys import HASHER, PENDING_WRITES, SETTINGS, SITES, STORAGE
from collector.core.settings import Settings
from collector.core.sites import SiteRegistry, load_sites
from collector.core.storage import open_storage
from collector.ingest.clarity.pipeline import collect_steps
from collector.ingest.clarity.wire import Limits
from collector.ingest.consent import ConsentGate, LedgerReader, StorageLedger
from collector.ingest.consent_store import ConsentStore
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
from collector.server.primary import (
    PRIMARY_LEDGER,
    PRIMARY_SESSION,
    RemoteLedger,
    from_worker,
    primary_session_ctx,
    setup_forwarding,
    setup_internal_routes,
)
from collector.server.workers import control_ctx
from ingest_schema.hashing import Hasher

log = logging.getLogger(__name__)

#: how often the primary forgets consent-store rows older than COLLECTOR_CONSENT_STORE_HOURS
PRUNE_EVERY_S = 600.0


async def storage_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    storage = open_storage(settings)
    if settings.clickhouse_cluster:
        await storage.run(storage.check_cluster_schema)
    else:
        applied = await storage.run(storage.migrate)
        if applied:
            log.info("applied schema migrations %s", applied)
    app[STORAGE] = storage
    yield
    storage.close()


def drained_folders(settings: Settings) -> list[Path]:
    """Spool folders of other workers the primary inserts: all of them on the embedded engine (the others
    cannot), with a server only those of workers that no longer run (COLLECTOR_WORKERS was lowered)."""
    if not settings.primary:
        return []
    folders = [p for p in (settings.data_dir / "spool").glob("w*") if p.is_dir() and p.name[1:].isdigit()]
    return [p for p in folders if settings.embedded or int(p.name[1:]) >= settings.workers]


async def prune_loop(store: ConsentStore) -> None:
    while True:
        await asyncio.sleep(PRUNE_EVERY_S)
        try:
            store.prune()
        except Exception as exc:  # a failed prune must not stop the next one
            log.warning("consent store prune failed: %s", exc)


async def writer_ctx(app: web.Application) -> AsyncIterator[None]:
    settings = app[SETTINGS]
    spool = Spool(
        settings.spool_folder,
        settings.spool_max_bytes,
        settings.spool_segment_bytes,
        settings.batch_interval_ms / 1000,
        settings.spool_fsync_ms,
        app[METRICS],
    )
    storage = app[STORAGE] if settings.has_storage else None
    writer = BatchWriter(
        storage, app[METRICS], spool, settings.batch_rows, settings.batch_interval_ms, lambda: drained_folders(settings)
    )
    app[WRITER] = app[PENDING_WRITES] = writer
    store = ConsentStore(settings.data_dir, settings.consent_store_hours)
    ledger: LedgerReader = StorageLedger(storage) if storage is not None else RemoteLedger(app[PRIMARY_SESSION])
    if settings.primary:
        app[PRIMARY_LEDGER] = ledger
    app[SERVICES] = IngestServices(
        sites=app[SITES],
        hasher=app[HASHER],
        gate=ConsentGate(ledger, store, writer, settings.consent_cache_size),
        writer=writer,
        metrics=app[METRICS],
        max_string_chars=settings.max_string_chars,
        drop_bots=settings.drop_bots,
    )
    app[COLLECT_STEPS] = collect_steps(app[SERVICES], Limits(settings.max_decompressed_bytes, settings.max_events))
    writer.start()
    pruner = asyncio.create_task(prune_loop(store), name="consent-store-prune") if settings.primary else None
    yield
    if pruner is not None:
        pruner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await pruner
    await writer.close()
    store.close()


async def url_file_ctx(app: web.Application) -> AsyncIterator[None]:
    """Announce this collector's URL in its data folder once storage and the writer are up (cleanup
    contexts run in order), so a tool that finds it finds a collector ready to answer."""
    record = announce(app[SETTINGS])
    yield
    if record is not None:
        withdraw(app[SETTINGS], record)


def init_app(settings: Settings, sites: SiteRegistry | None = None) -> web.Application:
    middlewares = [security_headers, rate_limit, body_deadline]
    app = web.Application(
        client_max_size=settings.max_body_bytes,
        middlewares=[from_worker, *middlewares] if settings.primary else middlewares,
    )
    app[SETTINGS] = settings
    app[RATE_LIMITER] = RateLimiter(settings.rate_limit_per_minute, settings.rate_limit_exempt)
    app[SITES] = sites if sites is not None else load_sites(settings.sites_file, settings.public_url)
    app[METRICS] = Metrics()
    app[GEO] = CountryLookup()
    app[HASHER] = Hasher(settings.secret_key)
    if settings.has_storage:
        app.cleanup_ctx.append(storage_ctx)
    if not settings.primary:
        app.cleanup_ctx.append(primary_session_ctx)
    app.cleanup_ctx.append(writer_ctx)
    collect.setup_routes(app)
    if not settings.primary:
        app.cleanup_ctx.append(control_ctx)  # the primary's "seal your spool" before a job
        health.setup_routes(app, local_only=True)
        setup_forwarding(app)
        return app
    health.setup_routes(app)
    setup_internal_routes(app)
    site.setup_routes(app)
    retention.http.setup_routes(app)
    matomo.setup_routes(app)
    demo.setup_routes(app)
    beacon.setup_routes(app)
    dashboards.setup(app)
    if settings.has_storage:  # archives closed days' frustration signals (primary only: returned above otherwise)
        app.cleanup_ctx.append(
            dashboards.archive.archiver_context(
                lambda: app[STORAGE], settings.signals_archive_grace_min, dashboards.queries.view_available
            )
        )
    app.cleanup_ctx.append(url_file_ctx)
    return app
