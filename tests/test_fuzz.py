"""Hypothesis throws hostile requests at the real collector process (`python -m collector`) over a
real socket: clarity-js uploads (wrong shapes and types, gzip bombs, truncated gzip, NaN, 2**70,
unicode junk), beacon sendBeacons, raw bytes with lying Content-Encodings, and Matomo hits (query,
form, bulk JSON). Every answer is 2xx/4xx, never 5xx; the process still answers /healthz and exits 0
on SIGTERM; no stored row holds an e-mail or card number planted in the input.

Bounded: 2,900 examples over the four tests, about a minute (bench/fuzz_collect.py runs 100k+).
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Any, Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingest_schema.storage import Storage
from tests.support.collector import ORIGIN
from tests.support.fuzz_cases import (
    MATOMO_ORIGIN,
    Case,
    KeepAliveClient,
    beacon_uploads,
    clarity_uploads,
    matomo_requests,
    raw_collect_bodies,
)
from tests.support.process import get, port_of, process_env, start_process, stop_process, stored_strings

#: the weakest masking mode (relaxed keeps words) must still remove e-mails and card numbers
SITES = f"""
[[site]]
id = "proj123"
origins = ["{ORIGIN}"]
consent = "loader"
masking = "relaxed"

[[site]]
id = "shop"
origins = ["{MATOMO_ORIGIN}"]
matomo_idsite = 1
matomo_consent = "tracker_requires_consent"
masking = "relaxed"
"""
#: what could be left of a planted secret: text around an '@', runs of 13+ digits with separators
TRACES = re.compile(r".{0,40}@.{0,40}|\d(?:[ -]?\d){12,}", re.DOTALL)


class Fuzzed:
    """One collector process under fuzz: statuses seen, secrets planted, and what it stored."""

    def __init__(self, folder: Path, **settings: object) -> None:
        self.folder = folder
        self.env = process_env(folder, SITES, **settings)
        self.port = port_of(self.env)
        self.process = start_process(self.env)
        self.statuses: Counter[int] = Counter()
        self.planted: list[str] = []

    def run(self, strategy: st.SearchStrategy[Case], examples: int) -> None:
        client = KeepAliveClient(self.port)

        @settings(max_examples=examples, deadline=None, database=None, suppress_health_check=list(HealthCheck))
        @given(strategy)
        def one_case(case: Case) -> None:
            status = client.send(case)
            self.statuses[status] += 1
            self.planted.extend(case.secrets)
            assert status < 500, f"{status} for {case.method} {case.path[:200]} {case.headers} {case.body[:300]!r}"

        try:
            one_case()
        finally:
            client.close()

    def stop_and_check(self) -> list[str]:
        """The process survived and exits cleanly; returns the traces of personal data it stored."""
        assert get(self.port, "/healthz") == 200, "the collector is still up"
        assert stop_process(self.process) == 0
        traces: list[str] = []
        for value in stored_strings(self.folder):
            traces.extend(TRACES.findall(value))
        leftover = "\n".join(traces)
        leaked = {s for s in self.planted if s in leftover or s.replace(" ", "").replace("-", "") in leftover}
        assert not leaked, f"planted personal data stored: {sorted(leaked)[:5]}"
        assert all(200 <= status < 500 for status in self.statuses), self.statuses
        print(f"statuses {dict(sorted(self.statuses.items()))}, {len(self.planted)} secrets planted, none stored")
        return traces


@pytest.fixture
def fuzzed(tmp_path: Path) -> Iterator[Any]:
    started: list[Fuzzed] = []

    def start(**settings: object) -> Fuzzed:
        started.append(Fuzzed(tmp_path, **settings))
        return started[-1]

    yield start
    for one in started:
        if one.process.poll() is None:
            one.process.kill()


def _count(folder: Path, table: str) -> int:
    storage = Storage(f"chdb://{folder / 'data' / 'clickhouse'}", "analytics")
    try:
        return int(storage.query_rows(f"SELECT count() FROM analytics.{table}")[0][0])
    finally:
        storage.close()


def test_fuzz_collect_clarity_uploads(fuzzed: Any) -> None:
    run = fuzzed()
    run.run(clarity_uploads(), 1000)
    assert run.statuses[204] > 50, "enough cases got through the decoder to test masking"
    run.stop_and_check()
    assert _count(run.folder, "events") > 100 and _count(run.folder, "playback") > 20, "the check was not vacuous"


def test_fuzz_beacon_text_plain_uploads(fuzzed: Any) -> None:
    run = fuzzed()
    run.run(beacon_uploads(), 500)
    assert run.statuses[204] > 20 and run.statuses[403] > 5, "stored from the site's origin, refused from others"
    run.stop_and_check()


def test_fuzz_collect_raw_bodies_bombs_and_nesting(fuzzed: Any) -> None:
    run = fuzzed(max_decompressed_bytes=4 << 20)
    run.run(raw_collect_bodies(), 400)
    assert set(run.statuses) <= {400, 403, 413}, run.statuses
    run.stop_and_check()


def test_fuzz_matomo_params_forms_and_bulk_json(fuzzed: Any) -> None:
    run = fuzzed()
    run.run(matomo_requests(), 1000)
    assert run.statuses[204] + run.statuses[200] > 50, "enough hits were valid to test masking"
    run.stop_and_check()
    assert _count(run.folder, "pageviews") > 0
