"""The collector's few exception types, and the one place that maps them to HTTP statuses.

CollectorError
├── Refusal                 a request answered with an error status (`status`, `reason`)
│   ├── PayloadError        the request is unusable (4xx, the client must not retry)
│   │   ├── BadEnvelope     not JSON, wrong shape, wrong field types (400)
│   │   ├── TooLarge        body or decompressed body over the limit (413)
│   │   ├── TooManyEvents   more events in one upload than allowed (413)
│   │   ├── Forbidden       unknown site or origin not allowed (403)
│   │   └── SlowClient      the body did not arrive within the body timeout (408)
│   ├── RateLimited         this client IP sent more requests this minute than allowed (429, Retry-After)
│   ├── Overloaded          the spool is over its disk budget (503 with Retry-After)
│   └── StorageUnavailable  a lookup the pipeline needs (consent, visits) failed (503, Retry-After)
│       └── WorkersBehind   a worker did not seal its open spool segment before a job (503)
├── ConfigError             settings or sites file invalid (refuse to start)
└── StorageError            ClickHouse unreachable or refused a write
"""

from __future__ import annotations


class CollectorError(Exception):
    """Base of every error the collector raises on purpose."""


class Refusal(CollectorError):
    """A request the collector refuses; `status` is the HTTP answer, `reason` a short metric label
    (a DropReason value), `retry_after_s` the Retry-After header when the client may try again."""

    status = 400
    reason = "bad_payload"
    retry_after_s: int | None = None


class PayloadError(Refusal):
    """The request itself is unusable: retrying it unchanged will not help."""

    status = 400
    reason = "bad_payload"


class BadEnvelope(PayloadError):
    status = 400
    reason = "bad_payload"


class TooLarge(PayloadError):
    status = 413
    reason = "too_large"


class TooManyEvents(PayloadError):
    status = 413
    reason = "too_many_events"


class Forbidden(PayloadError):
    status = 403
    reason = "forbidden"


class SlowClient(PayloadError):
    """The body trickled in slower than the body timeout allows (a slow-loris client or a dead link)."""

    status = 408
    reason = "slow_client"


class RateLimited(Refusal):
    """This client IP is over its per-minute request budget; `retry_after_s` says when it is under again."""

    status = 429
    reason = "rate_limited"

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class Overloaded(Refusal):
    """ClickHouse is behind and the spool reached its disk budget: the client should retry later."""

    status = 503
    reason = "overloaded"
    retry_after_s = 30


class StorageUnavailable(Refusal):
    """ClickHouse did not answer a lookup an upload needs; nothing was acknowledged, the client retries."""

    status = 503
    reason = "storage_unavailable"
    retry_after_s = 30

    def __init__(self, message: str = "storage unavailable") -> None:
        super().__init__(message)


class WorkersBehind(StorageUnavailable):
    """A live worker did not seal its open spool segment in time: a job that must see every acknowledged
    row (an erasure, an export, retention) is refused rather than run on partial data."""


class ConfigError(CollectorError):
    """Settings or sites file cannot be used; the process refuses to start."""


class StorageError(CollectorError):
    """ClickHouse did not accept a query or an insert."""


def http_status(error: Refusal) -> int:
    """The HTTP status for a refused request (the single mapping point)."""
    return error.status
