"""Write-ahead spool: an event is acknowledged only once its rows are on disk.

Rows are appended to segment files as length- and CRC-framed records, each a header line
`["table", ["column", ...]]` and the rows as JSONCompactEachRow lines (orjson writes them about 5x
faster than pickle; ClickHouse parses them at insert in C++, so the writer never rebuilds rows in
Python and the event loop keeps the GIL). A request's reply waits
for the group commit (one fsync shared by every request of a few milliseconds). Segments are
sealed by size or age and handed to the writer, which deletes one only after ClickHouse took all
its rows. Leftover segments are replayed at start; their deterministic batch ids make ClickHouse
drop batches it already has, so a crash never double-counts. Only rows that passed the consent
gate and masking ever reach the spool. Memory holds only the records of the next commit and one
entry per segment: a backlog waits on disk, not in memory.
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import pickle
import struct
import time
import uuid
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson

from collector.core.errors import Overloaded
from collector.ingest.metrics import Metrics

log = logging.getLogger(__name__)

HEADER = struct.Struct("<II")  # payload length, CRC32 of the payload
SEGMENT_GLOB = "segment-*.log"

#: One record as the writer hands it over: (table, column names, rows).
Record = tuple[str, tuple[str, ...], list[tuple[Any, ...]]]
#: Datetimes as UTC with a Z (naive ones are UTC): ClickHouse reads them with best_effort parsing.
JSON_OPTIONS = orjson.OPT_UTC_Z | orjson.OPT_NAIVE_UTC
PICKLE_MAGIC = 0x80  # records of spools written before the JSON format (replayed after an upgrade)


@dataclass(frozen=True)
class Block:
    """A record read back: its table and columns, and its rows as JSONCompactEachRow bytes."""

    table: str
    columns: tuple[str, ...]
    rows: int
    data: bytes


def _as_tuple(value: Any) -> Any:
    """orjson serialises tuples, not their subclasses: named rows (ingest_schema.rows) come here."""
    if isinstance(value, tuple):
        return tuple(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def rows_json(rows: list[tuple[Any, ...]]) -> bytes:
    return b"".join([orjson.dumps(row, default=_as_tuple, option=JSON_OPTIONS) + b"\n" for row in rows])


def encode_record(record: Record) -> bytes:
    table, columns, rows = record
    return orjson.dumps([table, columns]) + b"\n" + rows_json(rows)


def decode_record(payload: bytes) -> Block:
    if payload[0] == PICKLE_MAGIC:
        table, columns, rows = pickle.loads(payload)  # only our own earlier segments, CRC-checked
        return Block(table, tuple(columns), len(rows), rows_json(rows))
    header, _, data = payload.partition(b"\n")
    table, columns = orjson.loads(header)
    return Block(table, tuple(columns), data.count(b"\n"), data)


@dataclass
class Segment:
    path: Path
    size: int = 0
    rows: int = 0
    opened_at: float = field(default_factory=time.monotonic)

    @property
    def name(self) -> str:
        return self.path.stem


def read_segment(path: Path) -> Iterator[Block]:
    """Records of a segment, stopping at a torn or corrupt tail (a write the crash cut short,
    which was never acknowledged)."""
    data = path.read_bytes()
    offset = 0
    while offset + HEADER.size <= len(data):
        length, crc = HEADER.unpack_from(data, offset)
        start, end = offset + HEADER.size, offset + HEADER.size + length
        if end > len(data) or zlib.crc32(data[start:end]) != crc:
            break
        yield decode_record(data[start:end])
        offset = end
    if offset < len(data):
        log.warning(
            "spool segment %s: %d bytes after the last whole record skipped (torn write)", path.name, len(data) - offset
        )


def _fsync_folder(folder: Path) -> None:
    """Make a new segment's directory entry durable too (a file fsync alone does not)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Spool:
    def __init__(
        self, folder: Path, max_bytes: int, segment_bytes: int, seal_after_s: float, fsync_ms: int, metrics: Metrics
    ) -> None:
        self.folder = folder
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.seal_after_s = seal_after_s
        self.fsync_s = fsync_ms / 1000
        self._metrics = metrics
        folder.mkdir(parents=True, exist_ok=True)
        for unnamed in folder.glob("segment-*.new"):  # created by a process that died before writing to it
            unnamed.unlink(missing_ok=True)
        self.sealed: list[Segment] = [Segment(p, p.stat().st_size) for p in sorted(folder.glob(SEGMENT_GLOB))]
        self._sealed_bytes = sum(s.size for s in self.sealed)
        if self.sealed:
            log.info(
                "replaying %d spool segments (%d bytes) left by an earlier run", len(self.sealed), self._sealed_bytes
            )
            metrics.spool_replayed_segments.inc(len(self.sealed))
        self._counter = max((int(s.name.split("-")[1]) for s in self.sealed), default=0)
        self._run = uuid.uuid4().hex[:12]
        self._current: Segment | None = None
        self._handle: Any = None
        self._pending: list[bytes] = []
        self._pending_rows = 0
        self._waiters: list[asyncio.Future[None]] = []
        self._wake = asyncio.Event()
        self._committer: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._report_size()

    def _report_size(self) -> None:
        """Set the spool gauges (set, not computed when scraped: with several workers the primary's
        /metrics reads every worker's values from the multiprocess files)."""
        self._metrics.spool_bytes.set(self.size_bytes)
        self._metrics.spool_segments.set(len(self.sealed))

    @property
    def size_bytes(self) -> int:
        """Bytes on disk not yet in ClickHouse (sealed and current segments)."""
        return self._sealed_bytes + (self._current.size if self._current else 0)

    @property
    def current_rows(self) -> int:
        """Rows in the open segment and waiting for the next commit."""
        return (self._current.rows if self._current else 0) + self._pending_rows

    def has_room(self) -> bool:
        return self.size_bytes < self.max_bytes

    def add(self, record: Record) -> None:
        """Queue a record for the next group commit (synchronous; `committed()` waits for disk).
        Callers check `has_room()` before taking a request, so the budget is a soft limit."""
        payload = encode_record(record)
        self._pending.append(HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
        self._pending_rows += len(record[2])

    def start(self) -> None:
        self._committer = asyncio.create_task(self._commit_loop(), name="spool-commit")

    async def committed(self) -> None:
        """Return once everything added so far is written and fsynced."""
        if not self._pending:
            return
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._wake.set()
        await waiter

    async def _commit_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self.fsync_s:
                await asyncio.sleep(self.fsync_s)  # let concurrent requests join this fsync
            await self._commit()

    async def commit_now(self) -> None:
        await self._commit()

    async def _commit(self) -> None:
        async with self._lock:
            if not self._pending:
                return
            chunks, waiters, rows = self._pending, self._waiters, self._pending_rows
            self._pending, self._waiters, self._pending_rows = [], [], 0
            started = time.perf_counter()
            try:
                await asyncio.to_thread(self._write, b"".join(chunks), rows)
            except (OSError, ValueError) as exc:  # disk full, I/O error, a handle closed under us
                log.error("spool write failed, %d requests refused: %s", len(waiters), exc)
                for waiter in waiters:
                    if not waiter.done():
                        waiter.set_exception(Overloaded("spool write failed"))
                return
            self._metrics.spool_fsync_seconds.observe(time.perf_counter() - started)
            self._metrics.spool_commit_records.observe(len(chunks))
            for waiter in waiters:
                if not waiter.done():
                    waiter.set_result(None)

    def _write(self, data: bytes, rows: int) -> None:
        if self._current is None:
            self._counter += 1
            # the run id keeps names (and so insert dedup tokens) unique across restarts and processes
            path = self.folder / f"segment-{self._counter:012d}-{self._run}.log"
            # locked before it gets its name: a draining process (`claim_sealed`) skips a locked segment,
            # so it never takes one this process still appends to
            building = path.with_suffix(".new")
            self._handle = open(building, "ab", buffering=0)  # noqa: SIM115  (kept open across writes)
            fcntl.flock(self._handle.fileno(), fcntl.LOCK_EX)
            os.replace(building, path)
            _fsync_folder(self.folder)
            self._current = Segment(path)
        written = self._handle.write(data)
        os.fsync(self._handle.fileno())
        self._current.size += written
        self._current.rows += rows
        self._report_size()

    async def seal(self, force: bool = False) -> None:
        """Close the current segment when it is big enough or old enough, or always with `force`."""
        if force:
            await self._commit()
        async with self._lock:
            current = self._current
            if current is None:
                return
            old = time.monotonic() - current.opened_at >= self.seal_after_s
            if not force and current.size < self.segment_bytes and not old:
                return
            self._handle.close()
            self._current, self._handle = None, None
            self.sealed.append(current)
            self._sealed_bytes += current.size
            self._report_size()

    def done(self, segment: Segment) -> None:
        """ClickHouse has every row of this segment: forget it."""
        segment.path.unlink(missing_ok=True)
        self.sealed.remove(segment)
        self._sealed_bytes -= segment.size
        self._report_size()

    def forget_drained(self) -> None:
        """A worker without storage: drop from the budget the sealed segments the primary has drained."""
        for segment in [s for s in self.sealed if not s.path.exists()]:
            self.sealed.remove(segment)
            self._sealed_bytes -= segment.size
        self._report_size()

    async def close(self) -> None:
        """Write what is pending, stop the committer and seal the current segment."""
        await self._commit()
        if self._committer is not None:
            self._committer.cancel()
            await asyncio.gather(self._committer, return_exceptions=True)
        await self.seal(force=True)


@contextmanager
def claim_sealed(path: Path) -> Iterator[bool]:
    """Hold another process's segment while draining it: True when it is sealed (its writer closed it,
    or died: the lock goes with the process), False while its writer still appends to it."""
    try:
        handle = open(path, "rb")  # noqa: SIM115  (closed below, after the drain)
    except FileNotFoundError:
        yield False
        return
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield path.exists()
    finally:
        handle.close()


def foreign_segments(folders: list[Path]) -> list[Path]:
    """Segments in other workers' spool folders, oldest first by name within each folder."""
    return [path for folder in folders for path in sorted(folder.glob(SEGMENT_GLOB))]
