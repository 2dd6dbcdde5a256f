"""Typed keys of what every part of the app may reach (handlers find resources here, no globals).

Only the shared core lives here, so dashboards and retention import it without loading ingest.
"""

from __future__ import annotations

from typing import Protocol

from aiohttp import web

from collector.core.settings import Settings
from collector.core.sites import SiteRegistry
from ingest_schema.hashing import Hasher
from ingest_schema.storage import Storage


class PendingWrites(Protocol):
    """Rows accepted but maybe not yet in ClickHouse; `flush()` writes them out."""

    async def flush(self) -> None: ...


SETTINGS = web.AppKey("settings", Settings)
SITES = web.AppKey("sites", SiteRegistry)
STORAGE = web.AppKey("storage", Storage)
HASHER = web.AppKey("hasher", Hasher)
#: whatever buffers accepted rows (the ingest writer): flushed before a retention job reads or erases
PENDING_WRITES = web.AppKey("pending_writes", PendingWrites)
