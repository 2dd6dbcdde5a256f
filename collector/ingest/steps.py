"""The ingest step runner: each path is a list of named steps over one state object.

A step enriches the state, or raises `Drop` with a named reason (counted, and the client gets the
answer it would get for a stored upload), or raises a `Refusal` for input we refuse (a 4xx).
Every step is timed: `/metrics` shows calls and seconds per path and step, which is the per-step
CPU profile of an upload.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar

from collector.ingest.metrics import DropReason, Metrics

S = TypeVar("S")


class Drop(Exception):
    """A step decided not to store this upload or hit; `reason` is what /metrics counts."""

    def __init__(self, reason: DropReason) -> None:
        super().__init__(reason.value)
        self.reason = reason


@dataclass(frozen=True)
class Step(Generic[S]):
    name: str
    run: Callable[[S], Awaitable[None] | None]


class Steps(Generic[S]):
    """Runs a path's steps in order; stops at the first `Drop` (counted) and lets refusals through."""

    def __init__(self, path: str, steps: Sequence[Step[S]], metrics: Metrics) -> None:
        self.path = path
        self.steps = tuple(steps)
        self._metrics = metrics
        self._times = metrics.step_times

    async def run(self, state: S) -> DropReason | None:
        clock = time.perf_counter
        for step in self.steps:
            started = clock()
            try:
                outcome = step.run(state)
                if inspect.isawaitable(outcome):
                    await outcome
            except Drop as drop:
                self._metrics.drop(drop.reason)
                return drop.reason
            finally:
                self._times.add(self.path, step.name, clock() - started)
        return None
