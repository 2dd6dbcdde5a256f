"""How often one client may call the Reporting API, and how often it may present a wrong token.

Two budgets per client IP, counted in one-minute windows in memory under a keyed hash (the IP itself
is never kept): calls (each item of a bulk request counts; COLLECTOR_RATE_LIMIT_PER_MINUTE, the
tracking endpoints' budget) and failed token checks (the dashboards' log-in lockout: MAX_FAILURES
per LOCK_SECONDS, as Matomo's brute-force detection blocks an IP after failed logins). Networks in
COLLECTOR_RATE_LIMIT_EXEMPT are not counted. Each window holds at most MAX_TRACKED clients; past that
new clients pass uncounted (fail open, like the tracking limiter).
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import time
from typing import Callable, Mapping, Sequence

from collector.core.settings import IPNetwork
from dashboards.accounts import LOCK_SECONDS, MAX_FAILURES
from dashboards.matomo_api.errors import Blocked

MAX_TRACKED = 50_000
BLOCKED_MESSAGE = (
    "You are currently not allowed to log in because you had too many failed logins, try again in a few minutes."
)


def client_ip(peer: str | None, headers: Mapping[str, str], header: str) -> str:
    """The configured proxy header's last address when set, else the TCP peer (as the tracking limiter)."""
    if header:
        return headers.get(header, "").split(",")[-1].strip()
    return peer or ""


class _Window:
    """Counts per key in fixed windows of `seconds`."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds, self._clock = seconds, clock
        self._start = clock()
        self._counts: dict[bytes, int] = {}

    def count(self, key: bytes) -> int:
        self._roll()
        return self._counts.get(key, 0)

    def add(self, key: bytes, n: int = 1) -> None:
        self._roll()
        if key in self._counts or len(self._counts) < MAX_TRACKED:
            self._counts[key] = self._counts.get(key, 0) + n

    def wait(self) -> int:
        return max(1, math.ceil(self._start + self.seconds - self._clock()))

    def _roll(self) -> None:
        now = self._clock()
        if now - self._start >= self.seconds:
            self._counts = {}
            self._start = now


class ApiLimits:
    """`check(ip, calls)` before answering; `failed(ip)` after a wrong token."""

    def __init__(
        self, calls_per_minute: int, exempt: Sequence[IPNetwork] = (), clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.calls_per_minute = calls_per_minute
        self.exempt = tuple(exempt)
        self._key = secrets.token_bytes(32)
        self._calls = _Window(60.0, clock)
        self._failures = _Window(float(LOCK_SECONDS), clock)

    def _client(self, ip: str) -> bytes | None:
        if self.exempt and ip:
            try:
                address = ipaddress.ip_address(ip)
            except ValueError:
                address = None
            if address is not None and any(address in network for network in self.exempt):
                return None
        return hashlib.blake2b(ip.encode(), key=self._key, digest_size=8).digest()

    def check(self, ip: str, calls: int = 1) -> None:
        """Raise Blocked when the client failed too often or is over its call budget; else count the calls."""
        key = self._client(ip)
        if key is None:
            return
        if self._failures.count(key) >= MAX_FAILURES:
            raise Blocked(BLOCKED_MESSAGE, self._failures.wait())
        if self.calls_per_minute and self._calls.count(key) + calls > self.calls_per_minute:
            raise Blocked("Too many API requests from this address, try again later.", self._calls.wait())
        self._calls.add(key, calls)

    def failed(self, ip: str) -> None:
        key = self._client(ip)
        if key is not None:
            self._failures.add(key)
