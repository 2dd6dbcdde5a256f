"""Cluster DDL from the same table definitions: ReplicatedMergeTree local tables, Distributed fronts.

Each table `t` becomes `t_local` (replicated, on every node, same columns, keys and TTL) and `t`,
a Distributed table over `t_local` sharded by site and visitor, so the collector's queries and
inserts keep using the plain table names on a cluster.
"""

from __future__ import annotations

import re

from ingest_schema.render import column_ddl, create_table_ddl, visit_stats_view_ddl
from ingest_schema.tables import TABLES, Table

#: Sharding keys: a visitor's rows live on one shard, so per-visitor queries and GDPR erasure stay local.
SHARDING_KEYS = {
    "pageviews": "cityHash64(site, visitor_hash)",
    "events": "cityHash64(site, visitor_hash)",
    "playback": "cityHash64(site, visitor_hash)",
    "consent_ledger": "cityHash64(site, visitor_hash)",
    "recordings": "cityHash64(site, session_hash)",
    "visits": "cityHash64(site, session_hash)",
    "signal_occurrences": "cityHash64(site, visitor_hash)",
}
DEFAULT_SHARDING_KEY = "rand()"
LOCAL_SUFFIX = "_local"

_ENGINE = re.compile(r"^(\w*)MergeTree(?:\((.*)\))?$")


def replicated_engine(engine: str, database: str, table: str) -> str:
    """`ReplacingMergeTree(updated_at)` → `ReplicatedReplacingMergeTree('/clickhouse/…', '{replica}', updated_at)`."""
    match = _ENGINE.match(engine)
    if match is None:
        raise ValueError(f"{table}: cannot replicate engine {engine!r}")
    variant, arguments = match.group(1), match.group(2)
    zk_path = f"'/clickhouse/tables/{{shard}}/{database}/{table}'"
    parameters = [zk_path, "'{replica}'"] + ([arguments] if arguments else [])
    return f"Replicated{variant}MergeTree({', '.join(parameters)})"


def local_table(table: Table, database: str) -> Table:
    return Table(
        name=table.name + LOCAL_SUFFIX,
        columns=table.columns,
        engine=replicated_engine(table.engine, database, table.name),
        order_by=table.order_by,
        partition_by=table.partition_by,
        ttl=table.ttl,
        settings=table.settings,
        comment=table.comment,
    )


def _on_cluster(ddl: str, database: str, name: str, cluster: str) -> str:
    head = f"CREATE TABLE IF NOT EXISTS `{database}`.`{name}`"
    assert ddl.startswith(head)
    return f"{head} ON CLUSTER `{cluster}`" + ddl[len(head) :]


def cluster_ddl(database: str, cluster: str) -> list[str]:
    """Every statement to create the schema on a cluster named `cluster` (idempotent)."""
    statements = [f"CREATE DATABASE IF NOT EXISTS `{database}` ON CLUSTER `{cluster}`"]
    for table in TABLES.values():
        local = local_table(table, database)
        statements.append(_on_cluster(create_table_ddl(local, database), database, local.name, cluster))
        key = SHARDING_KEYS.get(table.name, DEFAULT_SHARDING_KEY)
        statements.append(
            f"CREATE TABLE IF NOT EXISTS `{database}`.`{table.name}` ON CLUSTER `{cluster}` "
            f"AS `{database}`.`{local.name}` "
            f"ENGINE = Distributed(`{cluster}`, `{database}`, `{local.name}`, {key})"
        )
    return statements


def single_node_ddl(database: str) -> list[str]:
    """Every statement to create the schema on one server (idempotent): the database, every declared table and
    the visit view (created after its source and target tables)."""
    tables = [create_table_ddl(t, database) for t in TABLES.values()]
    return [f"CREATE DATABASE IF NOT EXISTS `{database}`", *tables, visit_stats_view_ddl(database)]


def converge_statements(database: str, cluster: str) -> list[str]:
    """Bring a cluster to the declared schema: create what is missing, add columns declared since.

    Column additions are what migrations do to existing tables, so converging on the declarations
    (local and Distributed tables alike) upgrades a cluster without a cluster copy of each migration.
    """
    statements = cluster_ddl(database, cluster)
    for table in TABLES.values():
        for name in (table.name + LOCAL_SUFFIX, table.name):
            for column in table.columns:
                statements.append(
                    f"ALTER TABLE `{database}`.`{name}` ON CLUSTER `{cluster}` "
                    f"ADD COLUMN IF NOT EXISTS {column_ddl(column)}"
                )
    return statements
