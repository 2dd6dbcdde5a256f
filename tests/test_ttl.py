"""Retention by ClickHouse TTL: playback 30 days (kept recordings 13 months), the rest 13 months."""

from __future__ import annotations

from datetime import date, timedelta

from ingest_schema import TABLES
from ingest_schema.tables import VISITOR_TABLES
from tests.support.collector import RunningCollector
from tests.support.rows import NOW, event_row_aged, playback_row_aged


def _materialize(collector: RunningCollector, table: str) -> None:
    collector.storage.command(
        f"ALTER TABLE {collector.storage.table(table)} MATERIALIZE TTL", settings={"mutations_sync": 2}
    )
    collector.storage.command(f"OPTIMIZE TABLE {collector.storage.table(table)} FINAL")


async def test_ttl_playback_expires_after_30_days_unless_kept(collector: RunningCollector) -> None:
    rows = [
        playback_row_aged(timedelta(days=29), keep=0, sequence=1),
        playback_row_aged(timedelta(days=31), keep=0, sequence=2),
        playback_row_aged(timedelta(days=31), keep=1, sequence=3),
        playback_row_aged(timedelta(days=300), keep=1, sequence=4),
        playback_row_aged(timedelta(days=420), keep=1, sequence=5),
    ]
    collector.storage.insert("playback", TABLES["playback"].column_names, rows)
    _materialize(collector, "playback")
    assert [r[0] for r in collector.rows("SELECT sequence FROM {db}.playback ORDER BY sequence")] == [1, 3, 4]


async def test_ttl_unkept_recording_is_removed_when_ttl_is_materialised(collector: RunningCollector) -> None:
    """A favourite older than 30 days survives; once unmarked, MATERIALIZE TTL removes it."""
    collector.storage.insert(
        "playback", TABLES["playback"].column_names, [playback_row_aged(timedelta(days=45), keep=1, sequence=1)]
    )
    _materialize(collector, "playback")
    assert collector.count("playback") == 1
    collector.storage.command(
        f"ALTER TABLE {collector.storage.table('playback')} UPDATE keep = 0 WHERE sequence = 1",
        settings={"mutations_sync": 2},
    )
    _materialize(collector, "playback")
    assert collector.count("playback") == 0


async def test_ttl_heatmap_and_analytics_expire_after_13_months(collector: RunningCollector) -> None:
    rows = [event_row_aged(timedelta(days=d), 9) for d in (1, 360, 380, 400, 700)]
    collector.storage.insert("events", TABLES["events"].column_names, rows)
    _materialize(collector, "events")
    oldest = collector.rows("SELECT min(day) FROM {db}.events")[0][0]
    assert collector.count("events") == 3
    assert oldest >= date.today() - timedelta(days=13 * 31)
    ledger = [
        ["proj123", NOW - timedelta(days=d), 1, 2, 3, 0, "clarity", "grant", 5, 1, 0, [], [], "1"] for d in (10, 500)
    ]
    collector.storage.insert("consent_ledger", TABLES["consent_ledger"].column_names, ledger)
    _materialize(collector, "consent_ledger")
    assert collector.count("consent_ledger") == 1


async def test_ttl_clauses_are_declared_on_every_visitor_table(collector: RunningCollector) -> None:
    for table in VISITOR_TABLES:
        ddl = collector.rows(
            "SELECT create_table_query FROM system.tables WHERE database = '{db}' AND name = {t:String}", t=table
        )[0][0]
        assert " TTL " in ddl, table
    playback = collector.rows(
        "SELECT create_table_query FROM system.tables WHERE database = '{db}' AND name = 'playback'"
    )[0][0]
    assert "toIntervalDay(30) WHERE keep = 0" in playback and "toIntervalMonth(13)" in playback
