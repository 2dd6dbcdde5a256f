"""Prometheus counters for one collector app (its own registry, so several apps can coexist)."""

from __future__ import annotations

from collections.abc import Iterable
from enum import Enum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector


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
        self.registry = CollectorRegistry()
        self.step_times = StepTimes()
        self.registry.register(self.step_times)
        self.requests = Counter(
            "collector_requests_total", "HTTP requests by route and status", ["route", "status"], registry=self.registry
        )
        self.events_accepted = Counter(
            "collector_events_accepted_total", "events accepted for storage by path", ["path"], registry=self.registry
        )
        self.dropped = Counter(
            "collector_dropped_total",
            "payloads or events not stored, by reason",
            ["reason", "unit"],
            registry=self.registry,
        )
        self.consent_decisions = Counter(
            "collector_consent_decisions_total",
            "consent decisions seen, by decision and source",
            ["decision", "source"],
            registry=self.registry,
        )
        self.batch_rows = Histogram(
            "collector_batch_rows",
            "rows per ClickHouse insert",
            ["table"],
            buckets=(1, 10, 100, 1000, 5000, 20000, 100000),
            registry=self.registry,
        )
        self.insert_seconds = Histogram(
            "collector_insert_seconds", "ClickHouse insert latency", ["table"], registry=self.registry
        )
        self.insert_failures = Counter(
            "collector_insert_failures_total",
            "ClickHouse inserts that failed (rows kept for retry)",
            ["table"],
            registry=self.registry,
        )
        self.spool_bytes = Gauge(
            "collector_spool_bytes", "bytes in the write-ahead spool not yet in ClickHouse", registry=self.registry
        )
        self.spool_segments = Gauge(
            "collector_spool_sealed_segments", "sealed spool segments waiting for the writer", registry=self.registry
        )
        self.spool_replayed_segments = Counter(
            "collector_spool_replayed_segments_total",
            "segments left by an earlier run and replayed at start",
            registry=self.registry,
        )
        self.spool_fsync_seconds = Histogram(
            "collector_spool_commit_seconds",
            "write + fsync time of one group commit",
            registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )
        self.spool_commit_records = Histogram(
            "collector_spool_commit_requests",
            "requests sharing one group commit (one fsync)",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
            registry=self.registry,
        )

    def drop(self, reason: DropReason, unit: str = "payload", count: int = 1) -> None:
        self.dropped.labels(reason.value, unit).inc(count)
