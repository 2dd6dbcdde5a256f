"""The cluster DDL is generated from the same table definitions and matches the single-node schema."""

from __future__ import annotations

import pytest

from collector.core.sites import SiteRegistry
from ingest_schema import TABLES
from ingest_schema.cluster import LOCAL_SUFFIX, SHARDING_KEYS, cluster_ddl, replicated_engine
from ingest_schema.render import create_table_ddl
from ingest_schema.storage import StorageError
from tests.support.collector import (
    CollectorFactory,
    RunningCollector,
    SettingsFactory,
    make_site,
    start_collector,
    stop_collector,
)


def _format(collector: RunningCollector, sql: str) -> str:
    """ClickHouse's own parser and formatter (it also proves the statement is valid SQL)."""
    return str(collector.storage.query_rows("SELECT formatQuery({sql:String})", {"sql": sql})[0][0])


def _columns(formatted: str) -> str:
    """The column list: from the first parenthesis to the ENGINE clause."""
    start = formatted.index("(")
    end = formatted.index("ENGINE", start)
    return formatted[start:end].strip()


async def test_ingest_cluster_ddl_matches_single_node_column_for_column(collector: RunningCollector) -> None:
    statements = cluster_ddl("analytics", "prod")
    assert len(statements) == 1 + 2 * len(TABLES)
    for table in TABLES.values():
        local = next(s for s in statements if f"`analytics`.`{table.name}{LOCAL_SUFFIX}` ON CLUSTER" in s)
        single = create_table_ddl(table, "analytics")
        assert _columns(_format(collector, local)) == _columns(_format(collector, single)), table.name
        local_formatted = _format(collector, local)
        for clause in ("ORDER BY", "TTL", "PARTITION BY"):
            single_formatted = _format(collector, single)
            if clause in single_formatted:
                tail = single_formatted[single_formatted.index(clause) :].split("COMMENT")[0]
                assert tail in local_formatted, (table.name, clause)
        assert "ReplicatedMergeTree" in local_formatted or "Replicated" in local_formatted
        front = next(s for s in statements if f"`analytics`.`{table.name}` ON CLUSTER" in s)
        formatted_front = _format(collector, front)
        assert f"Distributed(prod, analytics, {table.name}{LOCAL_SUFFIX}" in formatted_front.replace("`", "")
        if table.name in SHARDING_KEYS:
            assert "visitor_hash" in formatted_front or "session_hash" in formatted_front


def test_ingest_cluster_replicated_engine_keeps_engine_arguments() -> None:
    assert replicated_engine("ReplacingMergeTree(updated_at)", "db", "t") == (
        "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/db/t', '{replica}', updated_at)"
    )
    assert replicated_engine("MergeTree", "db", "t").startswith("ReplicatedMergeTree('/clickhouse/tables/")


async def test_ingest_cluster_mode_collector_checks_schema_instead_of_migrating(
    collector_factory: CollectorFactory, settings_factory: SettingsFactory
) -> None:
    settings = settings_factory(clickhouse_cluster="prod")
    with pytest.raises(StorageError, match="ingest_schema"):
        await start_collector(settings, SiteRegistry({"proj123": make_site()}))
    migrated = await collector_factory()
    database = migrated.storage.database
    await stop_collector(migrated)
    checked = await collector_factory(clickhouse_cluster="prod", database=database)
    async with checked.http.get(checked.url + "/readyz") as response:
        assert response.status == 200
