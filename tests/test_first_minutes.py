"""The first minutes: `python -m collector` (what `./run` starts) prints where the dashboards and the demo
pages are, and leaves its URL in the data folder so every tool finds it whatever its port."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from collector.core.client import URL_FILE, running_collector_url
from tests.support.collector import ROOT


class Collector:
    """`python -m collector` as a child, its stdout read line by line."""

    def __init__(self, folder: Path, port: int = 0, **extra: str) -> None:
        self.data = folder / "data"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "COLLECTOR_DATA_DIR": str(self.data),
            "COLLECTOR_PORT": str(port),
            "COLLECTOR_SITES_FILE": str(folder / "no-sites.toml"),
            "COLLECTOR_LOG_LEVEL": "WARNING",
            **extra,
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "collector"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.put(line.rstrip("\n"))

    def output_until(self, marker: str, timeout: float = 120) -> list[str]:
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                if self.process.poll() is not None:
                    break
                continue
            seen.append(line)
            if marker in line:
                return seen
        stderr = self.process.stderr.read() if self.process.poll() is not None and self.process.stderr else ""
        raise AssertionError(f"no {marker!r} in {seen}: {stderr[-2000:]}")

    def all_output(self) -> list[str]:
        """Everything printed, once the process has ended."""
        self.reader.join(timeout=60)
        return list(self.lines.queue)

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.terminate()
        return self.process.wait(timeout=120)


@pytest.fixture
def started() -> Iterator[list[Collector]]:
    running: list[Collector] = []
    yield running
    for collector in running:
        if collector.process.poll() is None:
            collector.process.kill()
            collector.process.wait(timeout=60)


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)


def test_first_minutes_start_prints_dashboard_and_demo_urls_and_writes_the_url_file(
    tmp_path: Path, started: list[Collector]
) -> None:
    collector = Collector(tmp_path)  # port 0: the OS picks one, as a second ./run on a busy port would need
    started.append(collector)
    output = collector.output_until("demo:")
    url = running_collector_url(collector.data)
    assert url is not None and url.startswith("http://127.0.0.1:") and not url.endswith(":0")
    assert status(url + "/healthz") == 200
    assert output[0].startswith(f"collector listening on {url}/")
    assert f"  dashboards: {url}/dashboard/" in output
    demo_lines = [line.split("demo:", 1)[1].split()[0] for line in output if "demo:" in line]
    assert f"{url}/demo?beacon=1&banner=1" in demo_lines
    for printed in [f"{url}/dashboard/", *demo_lines]:
        assert status(printed) == 200, printed  # the dashboard link lands on the log-in page
    assert collector.stop() == 0
    assert not (collector.data / URL_FILE).exists()
    assert running_collector_url(collector.data) is None


def test_first_minutes_a_killed_collector_is_not_found(tmp_path: Path, started: list[Collector]) -> None:
    collector = Collector(tmp_path)
    started.append(collector)
    collector.output_until("dashboards:")
    assert running_collector_url(collector.data) is not None
    collector.process.send_signal(signal.SIGKILL)
    collector.process.wait(timeout=60)
    assert (collector.data / URL_FILE).exists()  # a kill -9 cannot clean up...
    assert running_collector_url(collector.data) is None  # ...but its process is gone


def test_first_minutes_a_busy_port_names_the_collector_already_running(
    tmp_path: Path, started: list[Collector]
) -> None:
    first = Collector(tmp_path)
    started.append(first)
    first.output_until("dashboards:")
    url = running_collector_url(first.data)
    assert url is not None
    port = int(url.rsplit(":", 1)[1])
    second = Collector(tmp_path, port=port)
    started.append(second)
    assert second.process.wait(timeout=120) == 2
    assert second.process.stderr is not None
    message = second.process.stderr.read()
    assert f"cannot listen on 127.0.0.1:{port}" in message and url in message
    assert running_collector_url(first.data) == url  # the first one's file is untouched


def test_first_minutes_no_demo_urls_without_the_demo_site(tmp_path: Path, started: list[Collector]) -> None:
    sites = tmp_path / "sites.toml"
    sites.write_text('[[site]]\nid = "shop"\norigins = ["https://shop.example"]\n')
    collector = Collector(tmp_path, COLLECTOR_SITES_FILE=str(sites))
    started.append(collector)
    output = collector.output_until("dashboards:")
    assert collector.stop() == 0
    output += collector.all_output()
    assert not any("demo:" in line for line in output)
