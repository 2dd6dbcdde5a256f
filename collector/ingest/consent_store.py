"""The consent state every collector process of one host shares: SQLite in WAL mode in the data folder.

A page view's uploads may reach any worker (docs/scale-out.md), so its consent timeline cannot live in
one process's memory. Each decision a worker records is committed here before the upload is answered
and is visible to every other process at once; the ledger in ClickHouse stays the durable record and
answers for what this file no longer holds (older than `keep_hours`, or decided on another host).

What is kept: per page view its decisions in page time and the server-clock start fixed by its first
payload; per (site, visitor hash) the latest explicit decision. Keyed hashes and times only, no IP, no
user agent, nothing typed; rows expire after `keep_hours` (`prune`). Commits do not fsync
(`synchronous=NORMAL` in WAL): the store is a shared view, its durable twin is the ledger row the spool
fsyncs before the 204, so a power cut costs at most a few ledger round trips.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ingest_schema.storage import StorageError

FILE_NAME = "consent.sqlite3"
BUSY_TIMEOUT_MS = 5000
SCHEMA = """
CREATE TABLE IF NOT EXISTS decision (
  pv INTEGER NOT NULL, page_time INTEGER NOT NULL, granted INTEGER NOT NULL, source INTEGER NOT NULL,
  at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS decision_pv ON decision (pv);
CREATE INDEX IF NOT EXISTS decision_at ON decision (at);
CREATE TABLE IF NOT EXISTS page_start (pv INTEGER PRIMARY KEY, start_ms INTEGER NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS page_start_at ON page_start (at);
CREATE TABLE IF NOT EXISTS visitor (
  site TEXT NOT NULL, visitor INTEGER NOT NULL, verdict TEXT NOT NULL, at REAL NOT NULL,
  PRIMARY KEY (site, visitor));
CREATE INDEX IF NOT EXISTS visitor_at ON visitor (at);
"""

#: One decision as stored: (page time, granted, consent source).
StoredDecision = tuple[int, bool, int]


class ConsentStoreError(StorageError):
    """The shared consent store cannot be opened or written (disk full, permissions, corrupt file): like
    a failed ledger lookup, the upload is answered 503 with Retry-After and nothing is stored."""


def _signed(value: int) -> int:
    """A UInt64 key as SQLite's signed 64-bit integer (the same bits)."""
    return value - (1 << 64) if value >= 1 << 63 else value


class ConsentStore:
    """Page-view timelines and visitors' latest explicit decisions, shared by the processes of one host."""

    def __init__(self, folder: Path, keep_hours: float) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / FILE_NAME
        self.keep_s = keep_hours * 3600
        try:
            os.close(os.open(self.path, os.O_CREAT | os.O_RDWR, 0o600))  # keyed hashes: this user only
            self._db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            with self._write() as db:
                for statement in _statements(SCHEMA):
                    db.execute(statement)
        except sqlite3.Error as exc:
            raise ConsentStoreError(f"consent store {self.path}: {exc}") from exc

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction, taking the file's write lock at once (no upgrade deadlock)."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield self._db
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def decisions(self, pageview_id: int) -> list[StoredDecision]:
        return _timeline(self._db, _signed(pageview_id))

    def add_decision(self, pageview_id: int, decision: StoredDecision, known: int) -> list[StoredDecision]:
        """Append a decision; returns the decisions other processes added after the first `known` ones
        (read under the same lock, so the caller's timeline ends up equal to the store's)."""
        key = _signed(pageview_id)
        try:
            with self._write() as db:
                timeline = _timeline(db, key)
                db.execute(
                    "INSERT INTO decision VALUES (?, ?, ?, ?, ?)",
                    (key, decision[0], int(decision[1]), decision[2], time.time()),
                )
        except sqlite3.Error as exc:
            raise ConsentStoreError(f"consent store write failed: {exc}") from exc
        return timeline[known:]

    def adopt(self, pageview_id: int, decisions: list[StoredDecision]) -> list[StoredDecision]:
        """Copy decisions found in the ledger, unless a process recorded some meanwhile; returns the
        store's decisions after the call."""
        key = _signed(pageview_id)
        try:
            with self._write() as db:
                stored = _timeline(db, key)
                if stored:
                    return stored
                now = time.time()
                db.executemany(
                    "INSERT INTO decision VALUES (?, ?, ?, ?, ?)", [(key, t, int(g), s, now) for t, g, s in decisions]
                )
        except sqlite3.Error as exc:
            raise ConsentStoreError(f"consent store write failed: {exc}") from exc
        return decisions

    def page_start(self, pageview_id: int, estimate_ms: int) -> int:
        """The page view's start fixed by the first process that saw it (later estimates lose)."""
        key = _signed(pageview_id)
        try:
            with self._write() as db:
                db.execute("INSERT OR IGNORE INTO page_start VALUES (?, ?, ?)", (key, estimate_ms, time.time()))
                row = db.execute("SELECT start_ms FROM page_start WHERE pv = ?", (key,)).fetchone()
        except sqlite3.Error as exc:
            raise ConsentStoreError(f"consent store write failed: {exc}") from exc
        return int(row[0])

    def visitor_decision(self, site: str, visitor_hash: int) -> tuple[float, str] | None:
        row = self._db.execute(
            "SELECT at, verdict FROM visitor WHERE site = ? AND visitor = ?", (site, _signed(visitor_hash))
        ).fetchone()
        return (float(row[0]), str(row[1])) if row else None

    def set_visitor_decision(self, site: str, visitor_hash: int, verdict: str) -> None:
        try:
            with self._write() as db:
                db.execute(
                    "INSERT OR REPLACE INTO visitor VALUES (?, ?, ?, ?)",
                    (site, _signed(visitor_hash), verdict, time.time()),
                )
        except sqlite3.Error as exc:
            raise ConsentStoreError(f"consent store write failed: {exc}") from exc

    def prune(self) -> int:
        """Forget what is older than `keep_hours` (the ledger answers for it); returns rows removed."""
        cutoff = time.time() - self.keep_s
        removed = 0
        with self._write() as db:
            for table in ("decision", "page_start", "visitor"):
                removed += db.execute(f"DELETE FROM {table} WHERE at < ?", (cutoff,)).rowcount  # noqa: S608
        return removed

    def close(self) -> None:
        self._db.close()


def _timeline(db: sqlite3.Connection, key: int) -> list[StoredDecision]:
    """A page view's decisions in the order they were recorded."""
    rows = db.execute("SELECT page_time, granted, source FROM decision WHERE pv = ? ORDER BY rowid", (key,)).fetchall()
    return [(int(t), bool(g), int(s)) for t, g, s in rows]


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]
