"""`python -m retention schedule`: the retention job on a cron schedule that does not drift, does not rerun
on a restart, catches up a missed run once, and tells its health. Driven by a fake clock; the expected run
times are written out by hand from the cron expression, not computed by the code under test."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import orjson
import pytest

from collector.core.errors import ConfigError
from retention import schedule
from retention.schedule import STATE_FILE, Scheduler, health, load_state
from tests.support.collector import ROOT

NIGHTLY = "17 3 * * *"


def utc(day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2024, 1, day, hour, minute, second, tzinfo=timezone.utc)


class FakeClock:
    def __init__(self, start: datetime) -> None:
        self.time = start
        self.sleeps: list[float] = []

    def now(self) -> datetime:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += timedelta(seconds=seconds)


class Job:
    """Records when it ran; answers the exit codes given, then 0."""

    def __init__(self, clock: FakeClock, codes: tuple[int, ...] = ()) -> None:
        self.clock, self.codes = clock, list(codes)
        self.ran: list[datetime] = []

    def __call__(self) -> int:
        self.ran.append(self.clock.now())
        self.clock.time += timedelta(seconds=30)  # the job takes some time
        return self.codes.pop(0) if self.codes else 0


def drive(scheduler: Scheduler, clock: FakeClock, until: datetime) -> None:
    while clock.now() < until:
        scheduler.step()


def test_deploy_schedule_runs_at_start_then_on_every_slot_without_drift(tmp_path: Path) -> None:
    clock = FakeClock(utc(1, 10))
    job = Job(clock)
    scheduler = Scheduler(NIGHTLY, tmp_path / STATE_FILE, job, clock)
    drive(scheduler, clock, utc(4, 12))
    # first start: the slot of 1 Jan 03:17 runs at once; then exactly at 03:17 each night
    assert job.ran == [utc(1, 10), utc(2, 3, 17), utc(3, 3, 17), utc(4, 3, 17)]
    assert max(clock.sleeps) <= schedule.MAX_SLEEP_S  # a stepped wall clock is noticed within a minute
    state = load_state(tmp_path / STATE_FILE)
    assert state is not None and state.last_slot == utc(4, 3, 17) and state.last_exit == 0


def test_deploy_schedule_a_restart_does_not_rerun_a_completed_slot(tmp_path: Path) -> None:
    clock = FakeClock(utc(2, 3, 0))
    first = Job(clock)
    drive(Scheduler(NIGHTLY, tmp_path / STATE_FILE, first, clock), clock, utc(2, 4))
    assert first.ran == [utc(2, 3, 0), utc(2, 3, 17)]
    for _ in range(3):  # three restarts the same morning (a deploy, a crash loop, a reboot)
        again = Job(clock)
        drive(Scheduler(NIGHTLY, tmp_path / STATE_FILE, again, clock), clock, clock.now() + timedelta(minutes=20))
        assert again.ran == []


def test_deploy_schedule_a_slot_missed_while_down_runs_once_at_start(tmp_path: Path) -> None:
    clock = FakeClock(utc(1, 4))
    drive(Scheduler(NIGHTLY, tmp_path / STATE_FILE, Job(clock), clock), clock, utc(1, 5))
    clock.time = utc(4, 12)  # down for three nights
    job = Job(clock)
    drive(Scheduler(NIGHTLY, tmp_path / STATE_FILE, job, clock), clock, utc(5, 4))
    assert job.ran == [utc(4, 12), utc(5, 3, 17)]


def test_deploy_schedule_retries_when_storage_is_unreachable(tmp_path: Path) -> None:
    clock = FakeClock(utc(1, 3, 0))
    drive(Scheduler(NIGHTLY, tmp_path / STATE_FILE, Job(clock), clock), clock, utc(1, 3, 10))
    job = Job(clock, codes=(4, 4, 0))
    drive(Scheduler(NIGHTLY, tmp_path / STATE_FILE, job, clock), clock, utc(1, 4))
    # exit 4 (storage unreachable) is tried again 600 s after it ended; the slot counts as done only on success
    assert job.ran == [utc(1, 3, 17), utc(1, 3, 27, 30), utc(1, 3, 38)]
    state = load_state(tmp_path / STATE_FILE)
    assert state is not None and state.last_slot == utc(1, 3, 17) and state.last_exit == 0


def test_deploy_schedule_a_policy_violation_is_not_rerun_but_shows_in_the_health_check(tmp_path: Path) -> None:
    clock = FakeClock(utc(1, 3, 0))
    drive(Scheduler(NIGHTLY, tmp_path / STATE_FILE, Job(clock, codes=(0, 3)), clock), clock, utc(1, 12))
    ok, message = health(NIGHTLY, tmp_path / STATE_FILE, clock.now())
    assert not ok and "exited 3" in message


def test_deploy_schedule_health(tmp_path: Path) -> None:
    path = tmp_path / STATE_FILE
    assert health(NIGHTLY, path, utc(1, 12))[0] is False  # never started
    clock = FakeClock(utc(1, 3, 0))
    scheduler = Scheduler(NIGHTLY, path, Job(clock), clock)
    drive(scheduler, clock, utc(1, 4))
    assert health(NIGHTLY, path, utc(1, 12)) == (
        True,
        f"last run: {utc(1, 3, 17).isoformat()}; next: {utc(2, 3, 17).isoformat()}",
    )
    assert health(NIGHTLY, path, utc(2, 3, 20))[0] is True  # due 3 minutes ago: within the grace period
    ok, message = health(NIGHTLY, path, utc(2, 3, 40))  # the scheduler died before the run of 2 Jan
    assert not ok and "2024-01-02T03:17:00+00:00" in message


def test_deploy_schedule_refuses_a_bad_expression(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not a cron expression"):
        Scheduler("every night", tmp_path / STATE_FILE, lambda: 0, FakeClock(utc(1, 1)))


def schedule_env(tmp_path: Path, expression: str) -> dict[str, str]:
    sites = tmp_path / "sites.toml"
    sites.write_text('[[site]]\nid = "shop"\norigins = ["https://shop.example"]\n')
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COLLECTOR_DATA_DIR": str(tmp_path / "data"),
        "COLLECTOR_SITES_FILE": str(sites),
        "COLLECTOR_RETENTION_SCHEDULE": expression,
    }


def test_deploy_schedule_process_runs_the_real_job_and_reports_healthy(tmp_path: Path) -> None:
    env = schedule_env(tmp_path, NIGHTLY)
    check = [sys.executable, "-m", "retention", "schedule", "--check"]
    assert subprocess.run(check, env=env, cwd=ROOT, capture_output=True, timeout=120).returncode == 1
    process = subprocess.Popen(
        [sys.executable, "-m", "retention", "schedule"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    state_path = tmp_path / "data" / STATE_FILE
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and process.poll() is None:
            state = load_state(state_path)
            if state is not None and state.last_exit is not None:
                break
            time.sleep(0.2)
        state = load_state(state_path)
        assert state is not None and state.last_exit == 0, orjson.dumps(str(state))
        assert state.last_slot is not None and state.last_slot <= datetime.now(timezone.utc)
        result = subprocess.run(check, env=env, cwd=ROOT, capture_output=True, timeout=120)
        assert result.returncode == 0, result.stdout
    finally:
        process.terminate()
        output = process.communicate(timeout=60)[0].decode()
    assert "retention schedule '17 3 * * *'" in output
    assert '"action": "run"' in output  # the job's own JSON report went to the log


def test_deploy_schedule_process_refuses_a_bad_expression(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "retention", "schedule"],
        env=schedule_env(tmp_path, "61 * * * *"),
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode == 2 and b"not a cron expression" in result.stderr
