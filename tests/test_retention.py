"""The retention job on chdb with rows written through the real ingest path, then aged."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from collector.ingest.keys import SERVICES
from ingest_schema import TABLES
from retention import jobs
from retention.service import execute, validate
from tests.support.collector import RunningCollector, clarity_fixture, clarity_fixture_names


async def _ingest(collector: RunningCollector, *prefixes: str) -> None:
    for prefix in prefixes:
        for name in clarity_fixture_names(prefix):
            assert await collector.send(clarity_fixture(name)) == 204
    await collector.flush()


def _age(collector: RunningCollector, table: str, days: int, **extra: Any) -> None:
    """Insert copies of a table's rows moved `days` into the past (key columns cannot be updated)."""
    columns = TABLES[table].column_names
    shifted = {
        "day": f"day - {days}",
        "ts": f"ts - INTERVAL {days} DAY",
        "started_at": f"started_at - INTERVAL {days} DAY",
        "last_at": f"last_at - INTERVAL {days} DAY",
        "updated_at": f"updated_at - INTERVAL {days} DAY",
    }
    shifted.update({k: str(v) for k, v in extra.items()})
    select = ", ".join(shifted.get(c, c) for c in columns)
    db = collector.storage.database
    target = f"`{db}`.`{table}`"
    collector.storage.command(f"INSERT INTO {target} ({', '.join(columns)}) SELECT {select} FROM {target}")


def _remove_ttl(collector: RunningCollector, table: str) -> None:
    collector.storage.command(f"ALTER TABLE {collector.storage.table(table)} REMOVE TTL")


async def test_retention_run_leaves_nothing_older_than_policy(loader_collector: RunningCollector) -> None:
    await _ingest(loader_collector, "default_", "mutation_")
    storage = loader_collector.storage
    fresh = {t: loader_collector.count(t) for t in ("events", "pageviews", "playback")}
    for table in ("events", "pageviews", "playback", "consent_ledger"):
        _remove_ttl(loader_collector, table)  # so that aged copies survive the insert, as after a TTL bug
    _age(loader_collector, "events", 400)
    _age(loader_collector, "pageviews", 400)
    _age(loader_collector, "playback", 40)
    _age(loader_collector, "consent_ledger", 400)
    before = jobs.verify(storage)
    assert not before["ok"]
    assert before["tables"]["events"]["older_than_policy"] == fresh["events"]
    assert before["tables"]["playback"]["older_than_policy"] == fresh["playback"]
    assert not before["tables"]["events"]["ttl_declared"]
    report = jobs.run(storage)
    assert report["ok"], report
    removed = ("events", "pageviews", "playback", "consent_ledger")
    assert all(report["tables"][name]["ttl_restored"] for name in removed)
    assert not report["tables"]["visits"]["ttl_restored"], "a table whose TTL was intact is left alone"
    after = jobs.verify(storage)
    assert after["ok"] and all(t["older_than_policy"] == 0 for t in after["tables"].values())
    assert {t: loader_collector.count(t) for t in ("events", "pageviews", "playback")} == fresh, "recent rows stay"


async def test_retention_favourited_playback_survives_30_days_and_unmarked_goes(
    loader_collector: RunningCollector,
) -> None:
    await _ingest(loader_collector, "default_", "mutation_")
    storage = loader_collector.storage
    sessions = [r[0] for r in loader_collector.rows("SELECT DISTINCT session_hash FROM {db}.playback ORDER BY 1")]
    assert len(sessions) == 2
    favourite, other = sessions
    storage.insert(
        "recordings", TABLES["recordings"].column_names, [["proj123", favourite, 1, [], datetime.now(timezone.utc)]]
    )
    storage.command(f"ALTER TABLE {storage.table('playback')} UPDATE keep = 1 WHERE 1", settings={"mutations_sync": 2})
    _age(loader_collector, "playback", 40)  # aged copies keep keep = 1, so the insert TTL lets them in
    old = "ts < now64(3) - INTERVAL 30 DAY"
    assert loader_collector.count("playback", f"{old} AND session_hash = {other}") > 0
    report = jobs.run(storage)
    assert report["kept_recordings"]["released"] > 0 and report["ok"]
    assert loader_collector.count("playback", f"{old} AND session_hash = {favourite}") > 0, "favourite kept"
    assert loader_collector.count("playback", f"{old} AND session_hash = {other}") == 0, "unmarked one expired"


async def test_retention_verify_catches_a_row_a_broken_ttl_left_behind(loader_collector: RunningCollector) -> None:
    await _ingest(loader_collector, "default_")
    storage = loader_collector.storage
    assert jobs.verify(storage)["ok"]
    _remove_ttl(loader_collector, "events")
    _age(loader_collector, "events", 500)
    report = jobs.verify(storage)
    assert not report["ok"]
    assert report["tables"]["events"]["older_than_policy"] > 0 and not report["tables"]["events"]["ttl_declared"]


async def test_retention_dry_run_deletes_nothing_and_runs_are_idempotent(loader_collector: RunningCollector) -> None:
    await _ingest(loader_collector, "default_")
    _remove_ttl(loader_collector, "events")
    _age(loader_collector, "events", 500)
    total = loader_collector.count("events")
    hasher = loader_collector.app[SERVICES].hasher
    dry = execute(loader_collector.storage, hasher, validate({"action": "run", "dry_run": True}, ["proj123"]))
    assert dry["tables"]["events"]["older_than_policy_before"] > 0
    assert loader_collector.count("events") == total
    first = execute(loader_collector.storage, hasher, validate({"action": "run"}, ["proj123"]))
    second = execute(loader_collector.storage, hasher, validate({"action": "run"}, ["proj123"]))
    assert first["ok"] and second["ok"]
    assert second["tables"]["events"]["older_than_policy_before"] == 0
    audit = loader_collector.rows("SELECT DISTINCT request_id, action FROM {db}.retention_audit")
    assert len(audit) == 3 and {a for _, a in audit} == {"run"}


async def test_retention_reports_cookie_consent_without_a_recent_explicit_grant(
    loader_collector: RunningCollector,
) -> None:
    await _ingest(loader_collector, "relaxed_")
    storage = loader_collector.storage
    assert jobs.verify(storage)["stale_cookie_consent_visitors"] == 0
    db = storage.database
    columns = TABLES["pageviews"].column_names
    select = ", ".join(
        "toUInt16(6)" if c == "consent_source" else "visitor_hash + 1" if c == "visitor_hash" else c for c in columns
    )
    storage.command(f"INSERT INTO `{db}`.pageviews ({', '.join(columns)}) SELECT {select} FROM `{db}`.pageviews")
    report = jobs.verify(storage)
    assert report["stale_cookie_consent_visitors"] == 1 and not report["ok"]


async def test_retention_admin_endpoint_requires_the_token_and_a_valid_request(
    loader_collector: RunningCollector,
) -> None:
    from collector.core.keys import SETTINGS

    url = loader_collector.url + "/admin/retention"
    async with loader_collector.http.post(url, data=b'{"action": "verify"}') as response:
        assert response.status == 401
    token = loader_collector.app[SETTINGS].admin_token
    headers = {"Authorization": f"Bearer {token}"}
    for body, reason in (
        (b"not json", b"not json"),
        (b'{"action": "drop"}', b"action"),
        (b'{"action": "erase"}', b"visitor"),
        (b'{"action": "run", "sites": ["other"]}', b"sites"),
    ):
        async with loader_collector.http.post(url, data=body, headers=headers) as response:
            assert response.status == 400, body
            assert reason in (await response.read()).lower()
    async with loader_collector.http.post(url, data=b'{"action": "verify"}', headers=headers) as response:
        assert response.status == 200 and (await response.json())["ok"] is True
