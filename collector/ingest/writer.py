"""Batched, durable inserts: rows go to the write-ahead spool, segments go to ClickHouse.

`add()` queues rows; the HTTP reply waits for `committed()` (rows fsynced in the spool). A
background task seals segments by size, row count or age and inserts each one in large batches,
each with a stable deduplication token, deleting the segment only after every insert succeeded.
When ClickHouse is down, segments wait on disk and the task retries with back-off.

With several workers on the embedded engine (docs/scale-out.md) only the primary has storage: the
others' writers (`storage=None`) only seal segments, and the primary also drains their spool folders
(`foreign`), taking a segment only once its writer has closed it (or died).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from collector.ingest.metrics import Metrics
from collector.ingest.spool import Block, Segment, Spool, claim_sealed, foreign_segments, read_segment
from ingest_schema.rows import ROW_TABLES, Row
from ingest_schema.storage import Storage, StorageError

log = logging.getLogger(__name__)

MAX_BACKOFF_S = 30.0


class BatchWriter:
    def __init__(
        self,
        storage: Storage | None,
        metrics: Metrics,
        spool: Spool,
        batch_rows: int,
        interval_ms: int,
        foreign: Callable[[], list[Path]] = list,
    ) -> None:
        """`foreign`: the spool folders of other workers this writer drains (the primary's, embedded)."""
        self._storage = storage
        self._foreign = foreign
        self._metrics = metrics
        self.spool = spool
        self._batch_rows = batch_rows
        self._interval = interval_ms / 1000
        self._drain_lock = asyncio.Lock()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._failures = 0

    def add(self, rows: Sequence[Row]) -> None:
        """Queue named rows of one table (ingest_schema.rows); durable once `committed()` returns."""
        if not rows:
            return
        row_type = type(rows[0])
        table = ROW_TABLES.get(row_type)
        if table is None or any(type(row) is not row_type for row in rows):
            raise TypeError(f"rows must all be one of {sorted(t.__name__ for t in ROW_TABLES)}")
        self.spool.add((table, row_type._fields, list(rows)))
        if self.spool.current_rows >= self._batch_rows:
            self._wake.set()

    async def committed(self) -> None:
        """Wait until every row added so far is on disk (the moment a request may be acknowledged)."""
        await self.spool.committed()

    def has_room(self) -> bool:
        return self.spool.has_room()

    async def flush(self) -> None:
        """Write everything added so far to ClickHouse now (a worker without storage: seal it for the
        primary); StorageError if ClickHouse refuses."""
        await self.spool.commit_now()
        await self.spool.seal(force=True)
        await self._drain()

    async def _drain(self) -> None:
        if self._storage is None:
            self.spool.forget_drained()
            return
        async with self._drain_lock:
            for segment in list(self.spool.sealed):
                await self._insert_segment(segment)
                self.spool.done(segment)
            for path in await asyncio.to_thread(lambda: foreign_segments(self._foreign())):
                with claim_sealed(path) as sealed:
                    if sealed:
                        await self._insert_segment(Segment(path))
                        path.unlink(missing_ok=True)

    async def _insert_segment(self, segment: Segment) -> None:
        assert self._storage is not None
        blocks = await asyncio.to_thread(lambda: list(read_segment(segment.path)))
        tables: dict[tuple[str, tuple[str, ...]], list[Block]] = {}
        for block in blocks:
            tables.setdefault((block.table, block.columns), []).append(block)
        for (table, columns), parts in tables.items():
            key = f"{table}\x00{','.join(columns)}"
            for number, (rows, data) in enumerate(_chunks(parts, self._batch_rows * 4)):
                token = f"{segment.name}:{key}:{number}"  # the same chunks, so the same tokens, on a replay
                started = time.perf_counter()
                try:
                    await self._storage.run(self._storage.insert_json, table, columns, data, token)
                except StorageError:
                    self._metrics.insert_failures.labels(table).inc()
                    raise
                self._metrics.batch_rows.labels(table).observe(rows)
                self._metrics.insert_seconds.labels(table).observe(time.perf_counter() - started)

    async def _run(self) -> None:
        while True:
            delay = min(self._interval * (2**self._failures), MAX_BACKOFF_S)
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except TimeoutError:
                pass
            self._wake.clear()
            await self.spool.seal(force=self.spool.current_rows >= self._batch_rows)
            try:
                await self._drain()
                self._failures = 0
            except StorageError as exc:
                self._failures = min(self._failures + 1, 6)
                log.error("insert failed, %d spool bytes kept for retry: %s", self.spool.size_bytes, exc)

    def start(self) -> None:
        self.spool.start()
        self._task = asyncio.create_task(self._run(), name="batch-writer")

    async def close(self) -> None:
        """Stop, write the spool out to ClickHouse; what cannot be written stays on disk for the next start."""
        if self._task:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
        await self.spool.close()
        if self._storage is None:
            return  # sealed on disk: the primary inserts it
        for attempt in range(3):
            try:
                await self._drain()
                return
            except StorageError as exc:
                log.error("final flush attempt %d failed: %s", attempt + 1, exc)
                await asyncio.sleep(0.5 * (attempt + 1))
        log.warning("%d spool bytes left on disk; they are written at the next start", self.spool.size_bytes)


def _chunks(parts: list[Block], most_rows: int) -> Iterator[tuple[int, bytes]]:
    """Consecutive blocks joined into inserts of about `most_rows` rows (a block is never split)."""
    rows, data = 0, list[bytes]()
    for part in parts:
        if data and rows + part.rows > most_rows:
            yield rows, b"".join(data)
            rows, data = 0, []
        rows += part.rows
        data.append(part.data)
    if data:
        yield rows, b"".join(data)
