"""Requests per client IP per minute, counted in memory under a keyed hash: the IP is never kept.

A sliding window estimated from two fixed one-minute windows (the previous window's count weighted
by how much of it still overlaps the last minute, plus the current count), so a client cannot send
twice the limit across a window boundary. Memory is bounded: each window holds at most
`max_tracked` counters, and a window older than the previous one is dropped whole.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import secrets
import time
from typing import Callable, Sequence

from collector.core.settings import IPNetwork

#: counters per window; at ~100 bytes each the two windows stay under ~20 MB
MAX_TRACKED = 100_000


class RateLimiter:
    """`admit(ip)` answers None (count it, go ahead) or the seconds to wait before trying again.

    Counters are keyed by a 64-bit BLAKE2b of the IP under a random key made at start and never
    stored, so the table cannot be turned back into addresses (not even by trying all IPv4s).
    When a window already tracks `max_tracked` clients, new ones are let through uncounted: under
    a flood from very many addresses the limit fails open rather than refusing real visitors.
    """

    def __init__(
        self,
        per_minute: int,
        exempt: Sequence[IPNetwork] = (),
        max_tracked: int = MAX_TRACKED,
        window_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.per_minute = per_minute
        self.exempt = tuple(exempt)
        self.max_tracked = max_tracked
        self.window_s = window_s
        self._clock = clock
        self._key = secrets.token_bytes(32)
        self._window_start = clock()
        self._current: dict[int, int] = {}
        self._previous: dict[int, int] = {}

    @property
    def tracked(self) -> int:
        """Clients counted in the current and previous windows (for tests and metrics)."""
        return len(self._current) + len(self._previous)

    def client_key(self, ip: str) -> int:
        digest = hashlib.blake2b(ip.encode(), key=self._key, digest_size=8).digest()
        return int.from_bytes(digest, "big")

    def admit(self, ip: str) -> int | None:
        """Count one request from `ip`; None when it is within the limit, else Retry-After seconds."""
        if self.per_minute <= 0 or self.is_exempt(ip):
            return None
        now = self._clock()
        self._roll(now)
        key = self.client_key(ip)
        current = self._current.get(key, 0)
        previous = self._previous.get(key, 0)
        elapsed = (now - self._window_start) / self.window_s
        if previous * (1 - elapsed) + current + 1 > self.per_minute:
            return self._retry_after(previous, current, elapsed)
        if current or len(self._current) < self.max_tracked:
            self._current[key] = current + 1
        return None

    def is_exempt(self, ip: str) -> bool:
        if not self.exempt or not ip:
            return False
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return False
        return any(address in network for network in self.exempt)

    def _roll(self, now: float) -> None:
        windows = int((now - self._window_start) // self.window_s)
        if windows <= 0:
            return
        self._previous = self._current if windows == 1 else {}
        self._current = {}
        self._window_start += windows * self.window_s

    def _retry_after(self, previous: int, current: int, elapsed: float) -> int:
        """Whole seconds until one more request fits: within this window if the previous window's
        weight is what is in the way, else in the next one, once this window's count has faded enough."""
        room = self.per_minute - 1
        if current <= room:
            needed = 1 - (room - current) / previous  # fraction of this window that must have passed
            wait = (needed - elapsed) * self.window_s
        else:
            needed = 1 - room / current
            wait = (1 - elapsed + needed) * self.window_s
        return max(1, math.ceil(wait))
