"""Render a `Table` definition into single-node ClickHouse DDL."""

from __future__ import annotations

from ingest_schema.tables import VISIT_STATS_VIEW, Column, Table, visit_stats_select


def column_ddl(column: Column) -> str:
    parts = [f"`{column.name}` {column.type}"]
    if column.default:
        parts.append(f"DEFAULT {column.default}")
    if column.materialized:
        parts.append(f"MATERIALIZED {column.materialized}")
    if column.codec:
        parts.append(f"CODEC({column.codec})")
    return " ".join(parts)


def create_table_ddl(table: Table, database: str) -> str:
    """`CREATE TABLE IF NOT EXISTS` for one table; running it twice is harmless."""
    columns = ",\n    ".join(column_ddl(c) for c in table.columns)
    clauses = [f"ENGINE = {table.engine}"]
    if table.partition_by:
        clauses.append(f"PARTITION BY {table.partition_by}")
    clauses.append(f"ORDER BY {table.order_by}")
    if table.ttl:
        clauses.append(f"TTL {table.ttl}")
    if table.settings:
        clauses.append(f"SETTINGS {table.settings}")
    if table.comment:
        clauses.append("COMMENT '" + table.comment.replace("'", "\\'") + "'")
    return f"CREATE TABLE IF NOT EXISTS `{database}`.`{table.name}` (\n    {columns}\n)\n" + "\n".join(clauses)


def visit_stats_view_ddl(database: str) -> str:
    """The materialized view that keeps `visit_stats` (one row per visit) as page views arrive."""
    return (
        f"CREATE MATERIALIZED VIEW IF NOT EXISTS `{database}`.`{VISIT_STATS_VIEW}` TO `{database}`.`visit_stats` "
        f"AS {visit_stats_select(database)}"
    )
