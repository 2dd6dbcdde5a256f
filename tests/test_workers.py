"""COLLECTOR_WORKERS: 2 and 4 collector processes on one port and one data folder (the embedded engine).

Every upload goes over a new connection, so the kernel (SO_REUSEPORT) hands the uploads of one page
view to whichever worker it picks. What must hold whatever the spread: every consented upload stored
exactly once, every unconsented one dropped (a grant mid-page covers only what follows it), Matomo
visits whole, and a worker killed with SIGKILL under load loses no acknowledged upload.
"""

from __future__ import annotations

import os
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from collector.core.settings import Settings
from ingest_schema.hashing import Hasher, matomo_visitor_hash
from ingest_schema.storage import Storage
from tests.support.collector import DESKTOP_UA, ORIGIN, clarity_fixture, clarity_fixture_names
from tests.support.process import port_of, post, process_env, start_process, stop_process, unique_upload

SITE = f'[[site]]\nid = "proj123"\norigins = ["{ORIGIN}"]\nconsent = "loader"\nmatomo_idsite = 1\n'
#: a page view granted at its start (4 uploads), and one refused at its start (track: false) whose 4th
#: upload grants explicitly at t=3871 (consentv2): only what follows the grant may be stored
CONSENTED, REFUSED = "relaxed_", "notrack_"
LATE_GRANT_MS = 3871


def page_view_uploads(prefix: str, number: int) -> list[bytes]:
    """A real page view's uploads, in order, under visitor and session ids of its own."""
    bodies = []
    for name in clarity_fixture_names(prefix):
        document = clarity_fixture(name).document
        envelope = list(document["e"])
        envelope[5], envelope[6] = f"{prefix}v{number}", f"{prefix}s{number}"
        bodies.append(orjson.dumps({**document, "e": envelope}))
    return bodies


def send_page_view(port: int, bodies: list[bytes]) -> list[int]:
    return [post(port, body) for body in bodies]


def matomo_hit(port: int, params: dict[str, Any]) -> int:
    query = urlencode({"idsite": 1, "rec": 1, "send_image": 0, **params})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/matomo.php?{query}", headers={"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def send_matomo_visit(port: int, visitor: str, consented: bool, pages: int) -> list[int]:
    statuses = []
    for page in range(pages):
        params = {
            "_id": visitor,
            "action_name": f"page {page}",
            "url": f"{ORIGIN}/p{page}",
            "pv_id": f"{visitor[-4:]}{page:02d}",
        }
        statuses.append(matomo_hit(port, {**params, "consent": 1} if consented else params))
    return statuses


def query(folder: Path, sql: str) -> list[tuple[Any, ...]]:
    storage = Storage(f"chdb://{folder / 'data' / 'clickhouse'}", "analytics")
    try:
        return storage.query_rows(sql)
    finally:
        storage.close()


def worker_pids(primary: int) -> list[int]:
    children = Path(f"/proc/{primary}/task/{primary}/children").read_text().split()
    return [int(pid) for pid in children]


def wait_for_workers(primary: int, count: int) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = worker_pids(primary)
        if len(pids) == count:
            return pids
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not start")


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_consent_and_visits_hold_however_uploads_are_spread(tmp_path: Path, workers: int) -> None:
    env = process_env(tmp_path, SITE, workers=workers, batch_interval_ms=3_600_000)
    port = port_of(env)
    process = start_process(env)
    try:
        wait_for_workers(process.pid, workers - 1)
        page_views = 12
        matomo_visitors = [f"{n:016x}" for n in range(1, 9)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            clarity = [
                pool.submit(send_page_view, port, page_view_uploads(CONSENTED if n % 2 else REFUSED, n))
                for n in range(page_views)
            ]
            matomo = [
                pool.submit(send_matomo_visit, port, visitor, n % 2 == 1, 3)
                for n, visitor in enumerate(matomo_visitors)
            ]
            statuses = [s for f in clarity + matomo for s in f.result()]
        assert set(statuses) == {204}
        spools = [p for p in (tmp_path / "data" / "spool").rglob("segment-*.log")]
        folders_used = {p.parent.name for p in spools}
        assert len(folders_used) >= 2, f"uploads reached more than one worker: {folders_used}"
    finally:
        assert stop_process(process) == 0
    assert list((tmp_path / "data" / "spool").rglob("segment-*.log")) == [], "every spool drained at exit"

    hasher = Hasher(Settings.from_env(env).secret_key)
    playback = dict(query(tmp_path, "SELECT visitor_hash, count() FROM analytics.playback GROUP BY visitor_hash"))
    events = dict(
        query(
            tmp_path,
            "SELECT visitor_hash, count() FROM analytics.events WHERE source = 'clarity' GROUP BY visitor_hash",
        )
    )
    consented_uploads = clarity_fixture_names(CONSENTED)
    expected_events = sum(len(clarity_fixture(n).document["a"]) for n in consented_uploads)
    late_events = sum(
        1 for n in clarity_fixture_names(REFUSED) for e in clarity_fixture(n).document["a"] if e[0] >= LATE_GRANT_MS
    )
    for n in range(page_views):
        prefix = CONSENTED if n % 2 else REFUSED
        visitor = hasher.visitor("proj123", f"{prefix}v{n}")
        if prefix == CONSENTED:
            assert playback.get(visitor) == len(consented_uploads), f"page view {n}: every upload stored once"
            assert events.get(visitor) == expected_events
        else:
            assert playback.get(visitor) == 1, f"page view {n}: only the upload after the grant"
            assert events.get(visitor) == late_events, f"page view {n}: nothing before the grant"

    visits = query(
        tmp_path, "SELECT visitor_hash, count(), sum(pageviews) FROM analytics.visits FINAL GROUP BY visitor_hash"
    )
    by_visitor = {int(v): (int(c), int(p)) for v, c, p in visits}
    for n, visitor_id in enumerate(matomo_visitors):
        hashed = matomo_visitor_hash(hasher, "proj123", visitor_id)
        if n % 2:
            assert by_visitor.get(hashed) == (1, 3), f"Matomo visitor {n}: one visit of 3 page views"
        else:
            assert hashed not in by_visitor, f"Matomo visitor {n} gave no consent"


def test_workers_kill_9_of_a_worker_under_load_loses_no_acknowledged_upload(tmp_path: Path) -> None:
    env = process_env(tmp_path, SITE, workers=2, batch_interval_ms=300)
    port = port_of(env)
    process = start_process(env)
    uploads = 3000
    try:
        [worker] = wait_for_workers(process.pid, 1)
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(post, port, unique_upload(n)) for n in range(uploads)]
            time.sleep(2.0)
            os.kill(worker, signal.SIGKILL)
            statuses = [future.result() for future in futures]
        restarted = wait_for_workers(process.pid, 1)
        assert restarted != [worker], "the primary started the worker again"
        assert post(port, unique_upload(uploads)) == 204
    finally:
        assert stop_process(process) == 0
    acknowledged = [n for n, status in enumerate(statuses) if status == 204]
    assert 100 < len(acknowledged) < uploads + 1
    assert set(statuses) <= {204, 0}, f"answers other than 204 or no answer: {sorted(set(statuses))}"
    hasher = Hasher(Settings.from_env(env).secret_key)
    stored = dict(query(tmp_path, "SELECT visitor_hash, count() FROM analytics.playback GROUP BY visitor_hash"))
    assert all(count == 1 for count in stored.values()), "no upload stored twice"
    missing = [n for n in acknowledged if hasher.visitor("proj123", f"u{n}") not in stored]
    assert missing == [], f"{len(missing)} acknowledged uploads lost"
    print(f"kill -9 of a worker: {len(acknowledged)} of {uploads} acknowledged, {len(stored)} stored, 0 lost")
