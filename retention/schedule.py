"""The retention job on a cron schedule, as a long-running process (a container's main process).

Why our own small scheduler and not a `sleep 86400` loop, cron or supercronic (docs/operations.md):
the next run is computed from a cron expression (croniter) against the wall clock, so it does not
drift; the last completed slot is kept in the data folder, so a restart does not rerun a job that
already ran, and a slot missed while the process was down runs once at start (as systemd's
`Persistent=true` timer does). The state file also answers the container's health check.

The job itself is `python -m retention run` in a child process: its report goes to the log, and
the scheduler holds no ClickHouse connection (nor an embedded ClickHouse folder) between runs.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Protocol

import orjson
from croniter import croniter

from collector.core.errors import ConfigError
from retention.errors import EXIT_OK, EXIT_STORAGE

log = logging.getLogger(__name__)

#: the scheduler's state, in the data folder
STATE_FILE = "retention-schedule.json"
#: wake up at least this often, so a changed wall clock (NTP step, suspended VM) is noticed
MAX_SLEEP_S = 60.0
#: after "storage unreachable" (exit 4) try again this much later, until the next slot
RETRY_S = 600.0
#: the health check allows a due run this long to start
HEALTH_GRACE = timedelta(minutes=15)


class Clock(Protocol):
    def now(self) -> datetime: ...

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The wall clock in UTC."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


@dataclass
class State:
    """What survives a restart: the slot of the last completed run and how it ended."""

    last_slot: datetime | None = None
    last_exit: int | None = None
    last_finished: datetime | None = None
    running_slot: datetime | None = None
    started: datetime | None = None


def check_expression(expression: str) -> str:
    """The cron expression, or ConfigError saying why it is not one."""
    if not croniter.is_valid(expression):
        raise ConfigError(f"COLLECTOR_RETENTION_SCHEDULE {expression!r} is not a cron expression")
    return expression


def latest_slot(expression: str, now: datetime) -> datetime:
    """The most recent scheduled time at or before `now`."""
    result: datetime = croniter(expression, now + timedelta(microseconds=1)).get_prev(datetime)
    return result


def next_slot(expression: str, now: datetime) -> datetime:
    """The first scheduled time after `now`."""
    result: datetime = croniter(expression, now).get_next(datetime)
    return result


def _time(raw: object) -> datetime | None:
    return datetime.fromisoformat(raw) if isinstance(raw, str) and raw else None


def load_state(path: Path) -> State | None:
    """The saved state, or None when there is none (first start) or it is unreadable."""
    try:
        raw = orjson.loads(path.read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return None
    if not isinstance(raw, dict):
        return None
    last_exit = raw.get("last_exit")
    return State(
        last_slot=_time(raw.get("last_slot")),
        last_exit=last_exit if isinstance(last_exit, int) else None,
        last_finished=_time(raw.get("last_finished")),
        running_slot=_time(raw.get("running_slot")),
        started=_time(raw.get("started")),
    )


def save_state(path: Path, state: State) -> None:
    """Write the state atomically (a crash leaves the old or the new file, never half of one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shown = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in asdict(state).items()}
    temporary = path.with_suffix(".tmp")
    temporary.write_bytes(orjson.dumps(shown, option=orjson.OPT_INDENT_2))
    os.replace(temporary, path)


class Scheduler:
    """Decides, one step at a time, whether to run the job now or sleep (tests drive `step` with a fake clock)."""

    def __init__(self, expression: str, state_path: Path, job: Callable[[], int], clock: Clock) -> None:
        self.expression = check_expression(expression)
        self.state_path = state_path
        self.job = job
        self.clock = clock
        self.state = load_state(state_path) or State()
        self.state.started = clock.now()
        self.state.running_slot = None
        self.retry_at: datetime | None = None
        save_state(state_path, self.state)

    def due(self, now: datetime) -> datetime | None:
        """The slot to run now: the latest one, unless it already ran (or is waiting for a retry)."""
        slot = latest_slot(self.expression, now)
        if self.state.last_slot is not None and self.state.last_slot >= slot:
            return None
        if self.retry_at is not None and now < self.retry_at:
            return None
        return slot

    def step(self) -> None:
        now = self.clock.now()
        slot = self.due(now)
        if slot is None:
            wake = next_slot(self.expression, now)
            if self.retry_at is not None and now < self.retry_at:
                wake = min(wake, self.retry_at)
            self.clock.sleep(max(0.0, min(MAX_SLEEP_S, (wake - now).total_seconds())))
            return
        self.state.running_slot = slot
        save_state(self.state_path, self.state)
        log.info("retention run for the slot of %s", slot.isoformat())
        code = self.job()
        self.state.running_slot = None
        self.state.last_exit = code
        self.state.last_finished = self.clock.now()
        if code == EXIT_STORAGE:
            self.retry_at = self.clock.now() + timedelta(seconds=RETRY_S)
            log.warning("retention run could not reach storage; trying again at %s", self.retry_at.isoformat())
        else:
            self.retry_at = None
            self.state.last_slot = slot
            if code != EXIT_OK:
                log.warning("retention run exited %d (see its report above)", code)
        save_state(self.state_path, self.state)

    def forever(self) -> None:
        while True:
            self.step()


def health(expression: str, state_path: Path, now: datetime) -> tuple[bool, str]:
    """Whether the scheduler is alive and on time: its state exists, no slot older than the grace period
    is left without a run (a run in progress counts), and the last run ended well."""
    state = load_state(state_path)
    if state is None or state.started is None:
        return False, f"no scheduler state in {state_path}: is `python -m retention schedule` running?"
    if state.running_slot is not None:
        return True, f"running the slot of {state.running_slot.isoformat()}"
    overdue = latest_slot(check_expression(expression), now - HEALTH_GRACE)
    if overdue > state.started and (state.last_slot is None or state.last_slot < overdue):
        return False, f"the run due at {overdue.isoformat()} has not happened"
    if state.last_exit not in (None, EXIT_OK):
        reasons = "3: rows older than policy remain; 4: storage unreachable"
        return False, f"the last run exited {state.last_exit} ({reasons})"
    last = state.last_slot.isoformat() if state.last_slot else "none yet"
    return True, f"last run: {last}; next: {next_slot(expression, now).isoformat()}"


def run_job_in_child() -> int:
    """`python -m retention run` as a child process; its JSON report goes to our stdout (the log)."""
    return subprocess.run([sys.executable, "-m", "retention", "run"], check=False).returncode
