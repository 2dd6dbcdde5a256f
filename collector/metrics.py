"""Prometheus counters for one collector app (its own registry, so several apps can coexist)."""

from __future__ import annotations

from enum import Enum

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram


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


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "collector_requests_total", "HTTP requests by route and status", ["route", "status"], registry=self.registry
        )
        self.events_accepted = Counter(
            "collector_events_accepted_total", "events accepted for storage by path", ["path"], registry=self.registry
        )
        self.dropped = Counter(
            "collector_dropped_total", "payloads or events not stored, by reason", ["reason", "unit"],
            registry=self.registry,
        )
        self.consent_decisions = Counter(
            "collector_consent_decisions_total", "consent decisions seen, by decision and source",
            ["decision", "source"], registry=self.registry,
        )
        self.batch_rows = Histogram(
            "collector_batch_rows", "rows per ClickHouse insert", ["table"],
            buckets=(1, 10, 100, 1000, 5000, 20000, 100000), registry=self.registry,
        )
        self.insert_seconds = Histogram(
            "collector_insert_seconds", "ClickHouse insert latency", ["table"], registry=self.registry
        )
        self.insert_failures = Counter(
            "collector_insert_failures_total", "ClickHouse inserts that failed (rows kept for retry)", ["table"],
            registry=self.registry,
        )
        self.spool_bytes = Gauge(
            "collector_spool_bytes", "bytes in the write-ahead spool not yet in ClickHouse", registry=self.registry
        )

    def drop(self, reason: DropReason, unit: str = "payload", count: int = 1) -> None:
        self.dropped.labels(reason.value, unit).inc(count)
