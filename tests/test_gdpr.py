"""GDPR access and erasure requests: every row of one visitor, across every table, and nothing else."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson

from collector.ingest.keys import SERVICES
from ingest_schema.hashing import Hasher, matomo_visitor_hash
from retention.jobs import visitor_tables
from retention.service import execute, validate
from tests.support.collector import (
    DESKTOP_UA,
    ORIGIN,
    ROOT,
    CollectorFactory,
    RunningCollector,
    clarity_fixture,
    clarity_fixture_names,
    free_port,
)

VISITOR_A = "1wtsa02"  # the default_* page view's clarity user id
VISITOR_B = "ljdebg"  # the mutation_* page view's


async def _two_visitors(collector: RunningCollector) -> None:
    for name in clarity_fixture_names("default_") + clarity_fixture_names("mutation_"):
        assert await collector.send(clarity_fixture(name)) == 204
    await collector.flush()


def _rows_for(collector: RunningCollector, visitor: str) -> dict[str, int]:
    visitor_hash = Hasher(b"test-secret-key").visitor("proj123", visitor)
    return {t: collector.count(t, f"visitor_hash = {visitor_hash}") for t in visitor_tables()}


async def test_gdpr_export_visitor_returns_every_row_of_that_visitor(
    loader_collector: RunningCollector, tmp_path: Path
) -> None:
    await _two_visitors(loader_collector)
    expected = _rows_for(loader_collector, VISITOR_A)
    assert expected["events"] > 0 and expected["playback"] == 4 and expected["consent_ledger"] == 1
    hasher = loader_collector.app[SERVICES].hasher
    report = execute(
        loader_collector.storage, hasher, validate({"action": "export", "visitor": VISITOR_A}, ["proj123"])
    )
    assert {t: n for t, n in report["rows"].items() if t in expected} == expected
    visitor_hash = hasher.visitor("proj123", VISITOR_A)
    assert all(
        row["visitor_hash"] == visitor_hash
        for rows in report["tables"].values()
        for row in rows
        if "visitor_hash" in row
    )
    from retention.__main__ import write_export

    files = write_export(report, tmp_path)
    exported = json.loads((tmp_path / "export.json").read_text())
    assert {t: len(r) for t, r in exported.items() if t in expected} == expected
    with open(tmp_path / "events.csv", newline="") as handle:
        assert len(list(csv.DictReader(handle))) == expected["events"]
    assert len(files) == 1 + len(exported)


async def test_gdpr_erase_leaves_zero_rows_touches_no_one_else_and_is_audited(
    loader_collector: RunningCollector,
) -> None:
    await _two_visitors(loader_collector)
    other_before = _rows_for(loader_collector, VISITOR_B)
    hasher = loader_collector.app[SERVICES].hasher
    report = execute(loader_collector.storage, hasher, validate({"action": "erase", "visitor": VISITOR_A}, ["proj123"]))
    assert report["ok"] and report["erased"]["playback"] == 4 and not any(report["remaining"].values())
    assert report["erased"]["visit_stats"] >= 1, "the dashboards' visit pre-aggregation is erased too"
    assert sum(_rows_for(loader_collector, VISITOR_A).values()) == 0
    assert _rows_for(loader_collector, VISITOR_B) == other_before
    audit = loader_collector.rows(
        "SELECT action, table_name, rows, status FROM {db}.retention_audit ORDER BY table_name"
    )
    assert ("erase", "playback", 4, "ok") in audit
    audit_text = str(loader_collector.rows("SELECT * FROM {db}.retention_audit"))
    assert VISITOR_A not in audit_text and str(hasher.visitor("proj123", VISITOR_A)) not in audit_text


async def test_gdpr_erase_by_the_sites_own_user_id(loader_collector: RunningCollector) -> None:
    document = clarity_fixture("default_001").document
    document["a"].append([300, 34, "userId", [hashlib.sha256(b"customer-42").hexdigest()]])
    status, _, _ = await loader_collector.post(
        "/collect", orjson.dumps(document), {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
    )
    assert status == 204
    await loader_collector.send(clarity_fixture("mutation_005"))
    await loader_collector.flush()
    hasher = loader_collector.app[SERVICES].hasher
    report = execute(
        loader_collector.storage,
        hasher,
        validate({"action": "erase", "kind": "user", "visitor": "customer-42"}, ["proj123"]),
    )
    assert report["ok"] and report["erased"]["pageviews"] == 1
    assert sum(_rows_for(loader_collector, VISITOR_A).values()) == 0
    assert loader_collector.count("playback") == 1, "the other visitor's page view stays"


def _run_cli(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "retention", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_gdpr_erase_and_retention_cli_against_a_running_collector(tmp_path: Path) -> None:
    """The CLI as cron runs it, while a collector subprocess holds the chdb folder."""
    import time
    import urllib.request

    port = free_port()
    sites = tmp_path / "sites.toml"
    sites.write_text(f'[[site]]\nid = "proj123"\norigins = ["{ORIGIN}"]\nconsent = "loader"\n')
    env = {
        **os.environ,
        "COLLECTOR_DATA_DIR": str(tmp_path / "data"),
        "COLLECTOR_PORT": str(port),
        "COLLECTOR_SITES_FILE": str(sites),
        "COLLECTOR_LOG_LEVEL": "WARNING",
        "COLLECTOR_PUBLIC_URL": f"http://127.0.0.1:{port}",
    }
    collector = subprocess.Popen(
        [sys.executable, "-m", "collector"], env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except OSError:
                assert time.monotonic() < deadline, "collector did not start"
                time.sleep(0.2)
        for name in clarity_fixture_names("default_") + clarity_fixture_names("mutation_"):
            payload = clarity_fixture(name)
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/collect",
                data=payload.body,
                method="POST",
                headers={"Origin": ORIGIN, "User-Agent": DESKTOP_UA},
            )
            assert urllib.request.urlopen(request).status == 204
        exported = _run_cli(env, "export", "--visitor", VISITOR_A, "--output", str(tmp_path / "export"))
        assert exported.returncode == 0, exported.stderr
        export_report = json.loads(exported.stdout)
        assert export_report["via"] == "collector admin endpoint" and export_report["rows"]["playback"] == 4
        assert (tmp_path / "export" / "playback.csv").exists()
        erased = _run_cli(env, "erase", "--visitor", VISITOR_A)
        assert erased.returncode == 0, erased.stderr
        assert json.loads(erased.stdout)["remaining"] == {t: 0 for t in json.loads(erased.stdout)["remaining"]}
        again = _run_cli(env, "export", "--visitor", VISITOR_A, "--output", str(tmp_path / "again"))
        assert sum(json.loads(again.stdout)["rows"].values()) == 0
        for _ in range(2):
            ran = _run_cli(env, "run")
            assert ran.returncode == 0 and json.loads(ran.stdout)["ok"], ran.stdout
        verified = _run_cli(env, "verify")
        assert verified.returncode == 0 and json.loads(verified.stdout)["ok"]
        wrong = _run_cli({**env, "COLLECTOR_ADMIN_TOKEN": "not-the-token"}, "verify")
        assert wrong.returncode == 4 and "401" in wrong.stdout
    finally:
        collector.terminate()
        collector.wait(timeout=60)
    stopped = _run_cli(env, "verify")
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert "via" not in json.loads(stopped.stdout), "with the collector stopped the CLI opens the folder itself"


async def test_gdpr_erase_by_user_id_takes_the_whole_matomo_visit_and_nothing_else(
    collector_factory: CollectorFactory,
) -> None:
    """Hits queued before consent come without an id (the cookieless hash), the user id only on a later
    hit: the visit links them, so `--kind user` finds and erases all of it."""
    from tests.support.matomo import SITE_ORIGIN, hit, matomo_site

    collector = await collector_factory(matomo_site())
    url = f"{SITE_ORIGIN}/shop.html"
    visit: list[dict[str, Any]] = [
        {"action_name": "shop", "pv_id": "aaaaaa", "_id": ""},
        {"e_c": "Video", "e_a": "Play", "pv_id": "aaaaaa", "_id": ""},
        {"ping": 1, "pv_id": "aaaaaa", "_id": "1234567890abcdef"},
        {"e_c": "Video", "e_a": "Stop", "pv_id": "aaaaaa", "_id": "1234567890abcdef", "uid": "customer-42"},
    ]
    for params in visit:
        assert (await hit(collector, {**params, "url": url, "consent": 1, "send_image": 0}))[0] == 204
    other_ua = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"
    assert (
        await hit(
            collector,
            {"action_name": "other", "url": url, "consent": 1, "send_image": 0, "_id": "fedcba0987654321"},
            headers={"User-Agent": other_ua},
        )
    )[0] == 204
    await collector.flush()
    [(session,)] = collector.rows("SELECT DISTINCT session_hash FROM {db}.visits WHERE user_hash != ''")
    mine = {t: collector.count(t, f"session_hash = {session}") for t in visitor_tables()}
    assert mine["pageviews"] and mine["events"] >= 2 and mine["consent_ledger"] >= 2
    identified = matomo_visitor_hash(collector.app[SERVICES].hasher, "shop", "1234567890abcdef")
    assert collector.count("events", f"session_hash = {session} AND visitor_hash != {identified}"), (
        "events stored under the cookieless hash, before the id and the user id were known"
    )
    others = {t: collector.count(t) - n for t, n in mine.items()}
    report = execute(
        collector.storage,
        collector.app[SERVICES].hasher,
        validate({"action": "erase", "kind": "user", "visitor": "customer-42"}, ["shop"]),
    )
    assert report["ok"] and report["sessions"] == 1
    assert {t: n for t, n in report["erased"].items() if t in mine} == mine
    assert {t: collector.count(t) for t in mine} == others and others["pageviews"] == 1
