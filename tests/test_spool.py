"""Durability: the write-ahead spool across crashes, kill -9 and a ClickHouse outage."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from collector.core.settings import Settings
from collector.ingest.keys import WRITER
from collector.ingest.spool import read_segment
from ingest_schema.hashing import Hasher
from ingest_schema.storage import Storage
from tests.support.collector import (
    DESKTOP_UA,
    ORIGIN,
    ROOT,
    CollectorFactory,
    clarity_fixture,
    clarity_fixture_names,
    free_port,
    make_site,
    stop_collector,
)
from tests.support.process import wait_for_acknowledged


def _unique_payload(number: int) -> bytes:
    """A real fixture upload under its own visitor id, so each stored copy can be told apart."""
    document = clarity_fixture("default_001").document
    envelope = list(document["e"])
    envelope[5], envelope[6] = f"u{number}", f"s{number}"
    return orjson.dumps({**document, "e": envelope})


async def test_spool_acknowledges_only_after_the_rows_are_on_disk(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(make_site(consent="loader"), batch_interval_ms=3_600_000)
    assert await collector.send(clarity_fixture("default_001")) == 204
    spool = collector.app[WRITER].spool
    segments = list(spool.folder.glob("segment-*.log"))
    assert len(segments) == 1
    tables = {block.table for block in read_segment(segments[0])}
    assert {"pageviews", "events", "playback", "consent_ledger"} <= tables
    assert collector.count("playback") == 0, "written to ClickHouse later, by the drain"


async def test_spool_leftover_segments_are_replayed_once_after_a_crash(
    collector_factory: CollectorFactory, tmp_path: Path
) -> None:
    first = await collector_factory(make_site(consent="loader"), batch_interval_ms=3_600_000)
    for name in clarity_fixture_names("default_"):
        assert await first.send(clarity_fixture(name)) == 204
    spool_folder = first.app[WRITER].spool.folder
    saved = tmp_path / "saved"
    shutil.copytree(spool_folder, saved)
    database = first.storage.database
    await stop_collector(first)  # a clean stop drains the spool
    # put the already-written segment back, as if the process died between insert and delete
    for segment in saved.glob("segment-*.log"):
        shutil.copy(segment, spool_folder / segment.name)
    second = await collector_factory(make_site(consent="loader"), database=database)
    await second.flush()
    fixtures = clarity_fixture_names("default_")
    assert second.count("playback") == len(fixtures), "each payload stored exactly once"
    assert second.count("events") == sum(len(clarity_fixture(n).document["a"]) for n in fixtures)
    assert list(spool_folder.glob("segment-*.log")) == []


async def test_spool_outage_keeps_accepting_then_drains_and_refuses_past_the_budget(
    collector_factory: CollectorFactory,
) -> None:
    collector = await collector_factory(make_site(consent="loader"), batch_interval_ms=100, spool_max_bytes=400_000)
    storage = collector.storage
    storage.command(f"DETACH TABLE {storage.table('playback')}")
    statuses = []
    for number in range(200):
        status, _, headers = await collector.post(
            "/collect", _unique_payload(number), {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
        )
        statuses.append(status)
        if status == 503:
            assert headers["Retry-After"] == "30"
            break
        await asyncio.sleep(0.005)
    accepted = statuses.count(204)
    assert 0 < accepted < 200 and statuses[-1] == 503, "spool accepts during the outage, then sheds load"
    assert set(statuses) <= {204, 503}
    async with collector.http.get(collector.url + "/readyz") as response:
        assert response.status == 503
    storage.command(f"ATTACH TABLE {storage.table('playback')}")
    assert await _wait(lambda: collector.count("playback") == accepted, 60)
    assert collector.rows("SELECT uniqExact(visitor_hash) FROM {db}.playback") == [(accepted,)]
    status, _, _ = await collector.post("/collect", _unique_payload(999), {"Origin": ORIGIN, "User-Agent": DESKTOP_UA})
    assert status == 204, "accepting again once the backlog drained"


async def _wait(predicate: Any, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.1)
    return bool(predicate())


def _post(port: int, body: bytes) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/collect",
        data=body,
        method="POST",
        headers={"Origin": ORIGIN, "User-Agent": DESKTOP_UA},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return int(error.code)
    except OSError:
        return 0


def _start(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [sys.executable, "-m", "collector"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if _post(port, b"") == 400:
            return process
        time.sleep(0.2)
    process.kill()
    raise AssertionError("collector did not start")


def test_spool_kill_9_mid_load_loses_no_acknowledged_event_and_stores_none_twice(tmp_path: Path) -> None:
    port = free_port()
    sites = tmp_path / "sites.toml"
    sites.write_text(f'[[site]]\nid = "proj123"\norigins = ["{ORIGIN}"]\nconsent = "loader"\n')
    env = {
        **os.environ,
        "COLLECTOR_DATA_DIR": str(tmp_path / "data"),
        "COLLECTOR_PORT": str(port),
        "COLLECTOR_SITES_FILE": str(sites),
        "COLLECTOR_LOG_LEVEL": "WARNING",
        "COLLECTOR_BATCH_INTERVAL_MS": "300",
    }
    process = _start(env, port)
    acknowledged: list[int] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = {pool.submit(_post, port, _unique_payload(n)): n for n in range(4000)}
        wait_for_acknowledged(futures)
        process.send_signal(signal.SIGKILL)
        process.wait()
        for future, number in futures.items():
            if future.result() == 204:
                acknowledged.append(number)
    assert 50 < len(acknowledged) < 4000, "the kill landed mid-load"
    restarted = _start(env, port)
    restarted.send_signal(signal.SIGTERM)
    restarted.wait(timeout=120)
    storage = Storage(f"chdb://{tmp_path / 'data' / 'clickhouse'}", "analytics")
    try:
        playback = storage.table("playback")
        rows = storage.query_rows(f"SELECT visitor_hash, count() FROM {playback} GROUP BY visitor_hash")
    finally:
        storage.close()
    hasher = Hasher(Settings.from_env(env).secret_key)
    stored = {int(h): int(n) for h, n in rows}
    assert all(n == 1 for n in stored.values()), "no payload stored twice"
    missing = [n for n in acknowledged if hasher.visitor("proj123", f"u{n}") not in stored]
    assert missing == [], f"{len(missing)} acknowledged payloads lost"
    print(f"kill -9: {len(acknowledged)} acknowledged, {len(stored)} stored, 0 duplicates")


async def test_spool_segments_of_the_earlier_pickle_format_are_replayed_after_an_upgrade(
    collector_factory: CollectorFactory, tmp_path: Path
) -> None:
    """A collector upgraded over a spool left by the version that pickled its records stores those rows."""
    import pickle
    import zlib
    from datetime import datetime, timezone

    from collector.ingest.spool import HEADER

    spool = tmp_path / "data" / "spool"
    spool.mkdir(parents=True)
    ts = datetime(2026, 11, 25, 8, 0, 0, 123000, tzinfo=timezone.utc)
    columns = (
        "site",
        "day",
        "visitor_hash",
        "session_hash",
        "page_num",
        "pageview_id",
        "ts",
        "sequence",
        "is_end",
        "wire_bytes",
        "payload",
    )
    rows = [("proj123", ts.date(), 2**64 - 1, 7, 1, 9, ts, n, 0, 10, f'{{"e":[],"n":{n}}}') for n in (1, 2)]
    payload = pickle.dumps(("playback", columns, rows), protocol=pickle.HIGHEST_PROTOCOL)
    (spool / "segment-000000000001-oldrun.log").write_bytes(HEADER.pack(len(payload), zlib.crc32(payload)) + payload)
    collector = await collector_factory(make_site(consent="loader"))
    await collector.flush()
    stored = collector.rows("SELECT visitor_hash, ts, sequence FROM {db}.playback ORDER BY sequence")
    assert stored == [(2**64 - 1, ts.replace(tzinfo=None), 1), (2**64 - 1, ts.replace(tzinfo=None), 2)]
    assert list(spool.glob("segment-*.log")) == []
