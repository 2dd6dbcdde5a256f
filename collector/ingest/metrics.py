"""Prometheus counters for one collector app (its own registry, so several apps can coexist).

With COLLECTOR_WORKERS > 1, every worker process counts into prometheus_client's multiprocess files
(`DATA_DIR/metrics/`, PROMETHEUS_MULTIPROC_DIR, emptied when the primary starts) and the primary's
`/metrics` adds them up (`MultiProcessCollector`): counters and histograms are sums over every worker
that ever ran in this run, the spool gauges sums over the live ones. The per-step profile
(`StepTimes`, plain sums in memory) stays the primary's own.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from enum import Enum
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values
from prometheus_client.core import CounterMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

#: prometheus_client's switch to multiprocess mode (read by the library when it is imported)
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def metrics_folder(data_dir: Path) -> Path:
    return data_dir / "metrics"


def share_between_processes(folder: Path) -> None:
    """The primary, before it builds its app: count into `folder` (emptied: counts of an earlier run
    are not this run's) in multiprocess mode. The workers it starts inherit the environment variable,
    so prometheus_client picks the mode itself when they import it."""
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    os.environ[MULTIPROCESS_ENV] = str(folder)
    # this process imported prometheus_client already: pick its value class again, as at import
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]


def shared_folder() -> Path | None:
    """The multiprocess folder when this process counts into one."""
    folder = os.environ.get(MULTIPROCESS_ENV)
    return Path(folder) if folder else None


def forget_process(pid: int) -> None:
    """A worker exited: its live gauges (spool size) stop counting; its counters stay in the sums."""
    folder = shared_folder()
    if folder is not None:
        mark_process_dead(pid, str(folder))  # type: ignore[no-untyped-call]


class DropReason(str, Enum):
    """Why a payload or event was not stored: the only trace an unconsented visit leaves."""

    GPC = "gpc"
    DNT = "dnt"
    NO_CONSENT = "no_consent"
    WITHDRAWN = "withdrawn"
    COOKIE_CONSENT_EXPIRED = "cookie_consent_expired"
    BOT = "bot"
    BAD_PAYLOAD = "bad_payload"
    TOO_LARGE = "too_large"
    TOO_MANY_EVENTS = "too_many_events"
    FORBIDDEN = "forbidden"
    EXCLUDED = "excluded"
    OVERLOADED = "overloaded"
    RATE_LIMITED = "rate_limited"
    SLOW_CLIENT = "slow_client"


class StepTimes(Collector):
    """Calls and seconds per (path, step), kept as plain sums (a histogram per step would cost more
    than most steps) and exported as two counters."""

    def __init__(self) -> None:
        self._sums: dict[tuple[str, str], list[float]] = {}

    def add(self, path: str, step: str, seconds: float) -> None:
        entry = self._sums.get((path, step))
        if entry is None:
            entry = self._sums[(path, step)] = [0.0, 0.0]
        entry[0] += 1
        entry[1] += seconds

    def snapshot(self) -> dict[tuple[str, str], tuple[int, float]]:
        return {key: (int(calls), seconds) for key, (calls, seconds) in self._sums.items()}

    def collect(self) -> Iterable[CounterMetricFamily]:
        calls = CounterMetricFamily(
            "collector_ingest_step_calls", "ingest steps run, by path and step", labels=["path", "step"]
        )
        seconds = CounterMetricFamily(
            "collector_ingest_step_seconds", "time spent in each ingest step", labels=["path", "step"]
        )
        for (path, step), (count, total) in self._sums.items():
            calls.add_metric([path, step], count)
            seconds.add_metric([path, step], total)
        return [calls, seconds]


class Metrics:
    def __init__(self) -> None:
        """`registry` is what /metrics exposes: this app's metrics, or in multiprocess mode the sums of
        every process's files (the metric objects then write to the files only)."""
        self.registry = CollectorRegistry()
        self.step_times = StepTimes()
        self.registry.register(self.step_times)
        folder = shared_folder()
        own: CollectorRegistry | None = self.registry
        if folder is not None:
            MultiProcessCollector(self.registry, path=str(folder))  # type: ignore[no-untyped-call]
            own = None
        self.requests = Counter(
            "collector_requests_total", "HTTP requests by route and status", ["route", "status"], registry=own
        )
        self.events_accepted = Counter(
            "collector_events_accepted_total", "events accepted for storage by path", ["path"], registry=own
        )
        self.dropped = Counter(
            "collector_dropped_total",
            "payloads or events not stored, by reason",
            ["reason", "unit"],
            registry=own,
        )
        self.consent_decisions = Counter(
            "collector_consent_decisions_total",
            "consent decisions seen, by decision and source",
            ["decision", "source"],
            registry=own,
        )
        self.batch_rows = Histogram(
            "collector_batch_rows",
            "rows per ClickHouse insert",
            ["table"],
            buckets=(1, 10, 100, 1000, 5000, 20000, 100000),
            registry=own,
        )
        self.insert_seconds = Histogram(
            "collector_insert_seconds", "ClickHouse insert latency", ["table"], registry=own
        )
        self.insert_failures = Counter(
            "collector_insert_failures_total",
            "ClickHouse inserts that failed (rows kept for retry)",
            ["table"],
            registry=own,
        )
        self.spool_bytes = Gauge(
            "collector_spool_bytes",
            "bytes in the write-ahead spool not yet in ClickHouse",
            registry=own,
            multiprocess_mode="livesum",
        )
        self.spool_segments = Gauge(
            "collector_spool_sealed_segments",
            "sealed spool segments waiting for the writer",
            registry=own,
            multiprocess_mode="livesum",
        )
        self.spool_replayed_segments = Counter(
            "collector_spool_replayed_segments_total",
            "segments left by an earlier run and replayed at start",
            registry=own,
        )
        self.spool_fsync_seconds = Histogram(
            "collector_spool_commit_seconds",
            "write + fsync time of one group commit",
            registry=own,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self.spool_commit_records = Histogram(
            "collector_spool_commit_requests",
            "requests sharing one group commit (one fsync)",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
            registry=own,
        )

    def drop(self, reason: DropReason, unit: str = "payload", count: int = 1) -> None:
        self.dropped.labels(reason.value, unit).inc(count)
