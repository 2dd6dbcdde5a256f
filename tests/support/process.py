"""The collector as a child process (`python -m collector`) on a free port with its own data folder,
for tests that need the real process: signals, socket timeouts, a restart on the same data."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import Future
from pathlib import Path
from typing import Iterable, Iterator

import orjson

from ingest_schema.storage import Storage
from tests.support.collector import DESKTOP_UA, ORIGIN, ROOT, clarity_fixture, free_port

LOADER_SITE = f'[[site]]\nid = "proj123"\norigins = ["{ORIGIN}"]\nconsent = "loader"\n'


def wait_for_acknowledged(futures: Iterable[Future[int]], at_least: int = 100, timeout: float = 120) -> None:
    """Block until `at_least` uploads have been answered 204: a signal sent then lands mid-load whatever the
    machine's speed (a fixed sleep could land before the first answer on a loaded machine, or after the last)."""
    pending = list(futures)
    deadline = time.monotonic() + timeout
    while sum(1 for f in pending if f.done() and f.exception() is None and f.result() == 204) < at_least:
        if time.monotonic() > deadline:
            raise AssertionError(f"fewer than {at_least} uploads acknowledged within {timeout} s")
        time.sleep(0.02)


def process_env(folder: Path, sites_toml: str = LOADER_SITE, **settings: object) -> dict[str, str]:
    """Environment for a collector on a free port, data in `folder`, by default one loader-consent
    site proj123."""
    sites = folder / "sites.toml"
    folder.mkdir(parents=True, exist_ok=True)
    sites.write_text(sites_toml)
    env = {
        **os.environ,
        "COLLECTOR_DATA_DIR": str(folder / "data"),
        "COLLECTOR_PORT": str(free_port()),
        "COLLECTOR_SITES_FILE": str(sites),
        "COLLECTOR_LOG_LEVEL": "WARNING",
    }
    env.update({f"COLLECTOR_{key.upper()}": str(value) for key, value in settings.items()})
    return env


def start_process(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start `python -m collector` and wait until /healthz answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "collector"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if get(port_of(env), "/healthz") == 200:
            return process
        if process.poll() is not None:
            errors = process.stderr.read().decode()[-2000:] if process.stderr else ""
            raise AssertionError(f"collector exited: {errors}")
        time.sleep(0.2)
    process.kill()
    raise AssertionError("collector did not start")


def port_of(env: dict[str, str]) -> int:
    return int(env["COLLECTOR_PORT"])


def get(port: int, path: str) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def post(port: int, body: bytes, path: str = "/collect", timeout: float = 30) -> int:
    """POST as a browser on the site's origin would; 0 when no answer came (refused, reset, timeout)."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}", data=body, method="POST", headers={"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def unique_upload(number: int) -> bytes:
    """A real fixture upload under its own visitor id u<number>, so each stored copy can be told apart."""
    document = clarity_fixture("default_001").document
    envelope = list(document["e"])
    envelope[5], envelope[6] = f"u{number}", f"s{number}"
    return orjson.dumps({**document, "e": envelope})


def stop_process(process: subprocess.Popen[bytes], timeout: float = 120) -> int:
    """SIGTERM and wait: the exit code (a clean stop writes the spool out to ClickHouse)."""
    process.terminate()
    try:
        return process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        raise


def stored_strings(folder: Path) -> Iterator[str]:
    """Every value of every String-typed column of the stopped collector's database, as text."""
    storage = Storage(f"chdb://{folder / 'data' / 'clickhouse'}", "analytics")
    try:
        columns = storage.query_rows(
            "SELECT table, name FROM system.columns WHERE database = 'analytics' AND type LIKE '%String%'"
        )
        for table, column in columns:
            for (value,) in storage.query_rows(f"SELECT toString(`{column}`) FROM analytics.`{table}`"):
                yield str(value)
    finally:
        storage.close()


def stored_visitors(folder: Path) -> dict[int, int]:
    """visitor_hash → stored playback rows, read from the stopped collector's chdb folder."""
    storage = Storage(f"chdb://{folder / 'data' / 'clickhouse'}", "analytics")
    try:
        playback = storage.table("playback")
        rows = storage.query_rows(f"SELECT visitor_hash, count() FROM {playback} GROUP BY visitor_hash")
    finally:
        storage.close()
    return {int(visitor): int(count) for visitor, count in rows}
