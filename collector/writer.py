"""Batched inserts: rows wait in per-table buffers and go to ClickHouse by size or by time.

Large inserts are what ClickHouse wants (one part per insert); a failed insert keeps its rows
and is retried with back-off, and `close()` flushes everything on a clean shutdown.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from ingest_schema import TABLES

from .errors import StorageError
from .metrics import Metrics
from .storage import Storage

log = logging.getLogger(__name__)

Row = tuple[Any, ...]


@dataclass
class TableBuffer:
    columns: tuple[str, ...]
    rows: list[Row] = field(default_factory=list)


class BatchWriter:
    def __init__(self, storage: Storage, metrics: Metrics, batch_rows: int, interval_ms: int) -> None:
        self._storage = storage
        self._metrics = metrics
        self._batch_rows = batch_rows
        self._interval = interval_ms / 1000
        self._buffers: dict[str, TableBuffer] = {}
        self._lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0

    def add(self, table: str, columns: Sequence[str], rows: list[Row]) -> None:
        """Queue rows (tuples in `columns` order) for `table`; never blocks."""
        if not rows:
            return
        buffer = self._buffers.get(table)
        if buffer is None:
            known = TABLES[table].column_names
            unknown = set(columns) - set(known)
            if unknown:
                raise ValueError(f"{table} has no columns {sorted(unknown)}")
            buffer = self._buffers[table] = TableBuffer(tuple(columns))
        elif buffer.columns != tuple(columns):
            raise ValueError(f"rows for {table} must use one column order")
        buffer.rows.extend(rows)
        self._metrics.buffered_rows.inc(len(rows))
        if len(buffer.rows) >= self._batch_rows:
            self._wake.set()

    @property
    def pending_rows(self) -> int:
        return sum(len(b.rows) for b in self._buffers.values())

    async def flush(self) -> None:
        """Insert the rows buffered when the flush starts, every table in turn.

        Each table's rows are taken out at once (rows arriving meanwhile wait for the next flush,
        so a busy table cannot starve the others). On failure the rows not yet inserted go back
        in front of the buffer and StorageError is raised.
        """
        async with self._lock:
            for table, buffer in list(self._buffers.items()):
                pending, buffer.rows = buffer.rows, []
                try:
                    while pending:
                        batch = pending[: self._batch_rows * 4]
                        started = time.perf_counter()
                        try:
                            await self._storage.run(self._storage.insert, table, buffer.columns, batch)
                        except StorageError:
                            self._metrics.insert_failures.labels(table).inc()
                            raise
                        del pending[: len(batch)]
                        self._metrics.buffered_rows.dec(len(batch))
                        self._metrics.batch_rows.labels(table).observe(len(batch))
                        self._metrics.insert_seconds.labels(table).observe(time.perf_counter() - started)
                finally:
                    if pending:
                        buffer.rows[:0] = pending

    async def _run(self) -> None:
        while True:
            delay = min(self._interval * (2 ** self._failures), 30.0)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()
            try:
                await self.flush()
                self._failures = 0
            except StorageError as exc:
                self._failures = min(self._failures + 1, 6)
                log.error("insert failed, %d rows kept for retry: %s", self.pending_rows, exc)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="batch-writer")

    async def close(self) -> None:
        """Stop the timer and flush what is left (a clean shutdown loses nothing)."""
        if self._task:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        for attempt in range(5):
            try:
                await self.flush()
                return
            except StorageError as exc:
                log.error("final flush attempt %d failed: %s", attempt + 1, exc)
                await asyncio.sleep(0.5 * (attempt + 1))
        log.critical("%d rows could not be written at shutdown", self.pending_rows)
