"""Daily salts of cookieless visitor hashes: random, one per site and day, forgotten after the day.

Salts live in ClickHouse (`daily_salts`, deleted by TTL once their day is over everywhere) so
that several collector processes and a restarted one hash a visitor alike; each process keeps
them in memory for the day. When two processes create a salt for the same day at once, all
of them settle on the oldest row; a process re-reads its choice after `RECHECK_SECONDS`.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from datetime import date, datetime, timezone

from ingest_schema import TABLES
from ingest_schema.storage import Storage

RECHECK_SECONDS = 60.0
COLUMNS = TABLES["daily_salts"].column_names


class SaltStore:
    def __init__(self, storage: Storage) -> None:
        self._storage = storage
        self._cache: dict[tuple[str, date], tuple[str, float]] = {}
        self._inflight: dict[tuple[str, date], asyncio.Future[str]] = {}

    async def salt(self, site: str, day: date) -> str:
        """The salt of `site` for `day` (created on first use)."""
        key = (site, day)
        cached = self._cache.get(key)
        if cached is not None and time.monotonic() - cached[1] < RECHECK_SECONDS:
            return cached[0]
        pending = self._inflight.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            value = await self._storage.run(self._load_or_create, site, day)
            self._forget_older_than(day)
            self._cache[key] = (value, time.monotonic())
            future.set_result(value)
            return value
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: waiters get it, nobody is warned twice
            raise
        finally:
            del self._inflight[key]

    def _forget_older_than(self, day: date) -> None:
        """Yesterday's salt may still be in use near midnight; older ones leave memory."""
        for key in [k for k in self._cache if (day - k[1]).days > 1]:
            del self._cache[key]

    def _oldest(self, site: str, day: date) -> str | None:
        rows = self._storage.query_rows(
            f"SELECT salt FROM {self._storage.table('daily_salts')} "
            "WHERE site = {site:String} AND day = {day:Date} ORDER BY created_at, salt LIMIT 1",
            {"site": site, "day": day},
        )
        return str(rows[0][0]) if rows else None

    def _load_or_create(self, site: str, day: date) -> str:
        found = self._oldest(site, day)
        if found is not None:
            return found
        candidate = secrets.token_hex(32)
        self._storage.insert("daily_salts", COLUMNS, [(site, day, candidate, datetime.now(timezone.utc))])
        return self._oldest(site, day) or candidate
