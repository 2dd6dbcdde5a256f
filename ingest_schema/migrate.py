"""Versioned, idempotent migrations, applied in order at start-up.

Each migration is a number, a description and the statements it runs; every statement is
written so that running it again changes nothing (IF NOT EXISTS), so two collectors starting
at once against one server cannot break the schema.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Protocol, Sequence

from ingest_schema.cluster import single_node_ddl
from ingest_schema.render import column_ddl, create_table_ddl, visit_stats_view_ddl
from ingest_schema.tables import (
    ANALYST_DELETED,
    ATTRIBUTION_COLUMNS,
    DEDUPLICATION,
    PLAYBACK_FACTS,
    SPOOLED_TABLES,
    TABLES,
    Column,
    visit_stats_select,
)


class SchemaClient(Protocol):
    """What migrations need from storage: run a statement, read rows."""

    def command(self, sql: str) -> object: ...

    def query_rows(self, sql: str) -> list[tuple[object, ...]]: ...


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: Callable[[str], list[str]]


def _create(*names: str) -> Callable[[str], list[str]]:
    return lambda db: [create_table_ddl(TABLES[n], db) for n in names]


def _dashboards(db: str) -> list[str]:
    """Accounts, sessions, tokens and the visit pre-aggregation: the view first, then a backfill of what
    pageviews already holds (rows arriving in between are seen twice, which the idempotent aggregates absorb)."""
    tables = [create_table_ddl(TABLES[n], db) for n in ("analysts", "dashboard_sessions", "api_tokens", "visit_stats")]
    return tables + [visit_stats_view_ddl(db), f"INSERT INTO `{db}`.`visit_stats` {visit_stats_select(db)}"]


def _signal_occurrences(db: str) -> list[str]:
    """The occurrences archive replaces the per-hour counts; forgetting which days were archived makes the
    collector archive every closed day again, into the new table."""
    return [
        f"DROP TABLE IF EXISTS `{db}`.`visit_signals`",
        create_table_ddl(TABLES["signal_occurrences"], db),
        f"TRUNCATE TABLE IF EXISTS `{db}`.`signal_archive_days`",
    ]


def _accounts(db: str) -> list[str]:
    """Per-site roles, deleted analysts, report schedules and their send log. Analysts that existed before
    roles keep what they had: every site, as admin."""
    tables = [create_table_ddl(TABLES[n], db) for n in ("analyst_roles", "report_schedules", "report_sends")]
    return tables + [
        f"ALTER TABLE `{db}`.`analysts` ADD COLUMN IF NOT EXISTS {column_ddl(ANALYST_DELETED)}",
        f"INSERT INTO `{db}`.`analyst_roles` (analyst, site, role, deleted, version) "
        f"SELECT name, '*', 'admin', 0, 1 FROM `{db}`.`analysts` GROUP BY name",
    ]


def _add_columns(table: str, columns: tuple[Column, ...]) -> Callable[[str], list[str]]:
    return lambda db: [f"ALTER TABLE `{db}`.`{table}` ADD COLUMN IF NOT EXISTS {column_ddl(c)}" for c in columns]


def _playback_facts(db: str) -> list[str]:
    """The playback columns computed from each payload at write time; the rows already stored get them by a
    background mutation (until it reaches a part, reading the column computes it from the payload: the results
    are the same, only slower)."""
    table = f"`{db}`.`playback`"
    return _add_columns("playback", PLAYBACK_FACTS)(db) + [
        f"ALTER TABLE {table} MATERIALIZE COLUMN `{c.name}`" for c in PLAYBACK_FACTS
    ]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        1,
        "ingest spine: page views, events, playback, recordings, consent ledger",
        _create("pageviews", "events", "playback", "recordings", "consent_ledger"),
    ),
    Migration(
        2,
        "page views: site user hash and referrer/campaign attribution",
        _add_columns("pageviews", ATTRIBUTION_COLUMNS),
    ),
    Migration(
        3,
        "Matomo drop-in: visits and the daily salts of cookieless visitor hashes",
        _create("visits", "daily_salts"),
    ),
    Migration(4, "retention and GDPR audit log", _create("retention_audit")),
    Migration(5, "dashboards: analysts, sessions, API tokens, visit pre-aggregation", _dashboards),
    Migration(
        6,
        "deduplicate batches replayed from the write-ahead spool",
        lambda db: [f"ALTER TABLE `{db}`.`{t}` MODIFY SETTING {DEDUPLICATION}" for t in SPOOLED_TABLES],
    ),
    Migration(7, "Matomo drop-in: one stored order per site and ec_id", _create("matomo_orders")),
    # key "accounts_roles_reports" (issue 15, workbench-accounts): renumber freely at merge
    Migration(8, "accounts: per-site roles, deleted analysts, e-mail report schedules and send log", _accounts),
    # key "workbench_segments" (issue 15): migration 9
    Migration(9, "dashboards: saved segments and chart annotations", _create("segments", "annotations")),
    # workbench goals and funnels (issue 15); migration 10
    Migration(10, "dashboards: goal and funnel definitions", _create("goal_definitions", "funnel_definitions")),
    Migration(11, "Matomo history import: checkpoints per site and run", _create("matomo_import_progress")),
    Migration(
        12, "playback: snapshot flag, DOM change times and clicks of each upload, computed at write", _playback_facts
    ),
    # 13 also created `visit_signals` (counts per visit and hour), which 14 replaces: a database not yet at 13
    # skips it
    Migration(13, "insights: the closed days whose frustration signals are archived", _create("signal_archive_days")),
    Migration(14, "insights: archived frustration signals as occurrences (archived again)", _signal_occurrences),
)


def _quoted(text: str) -> str:
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _record(client: SchemaClient, database: str, migrations: Sequence[Migration]) -> None:
    values = ", ".join(f"({m.version}, '{_quoted(m.description)}')" for m in migrations)
    client.command(f"INSERT INTO `{database}`.schema_migrations (version, description) VALUES {values}")


def create_latest(client: SchemaClient, database: str) -> list[int]:
    """A new database gets the latest schema in one step: every declared table as it stands now (the
    statements `python -m ingest_schema` prints for one server), the visit view, and every migration
    recorded at once. Replaying the migrations one by one builds the same thing (tests/test_ingest.py
    holds the two equal); this is the fast path of a first start."""
    for statement in single_node_ddl(database):
        client.command(statement)
    _record(client, database, MIGRATIONS)
    return [m.version for m in MIGRATIONS]


def apply_migrations(client: SchemaClient, database: str, replay: bool = False) -> list[int]:
    """Create the database and apply every migration not yet recorded; returns those applied. A database with
    none recorded gets the latest schema directly, unless `replay` (which tests use to compare both ways)."""
    client.command(f"CREATE DATABASE IF NOT EXISTS `{database}`")
    client.command(create_table_ddl(TABLES["schema_migrations"], database))
    done = {int(str(row[0])) for row in client.query_rows(f"SELECT version FROM `{database}`.schema_migrations")}
    if not done and not replay:
        return create_latest(client, database)
    applied = []
    for migration in MIGRATIONS:
        if migration.version in done:
            continue
        for statement in migration.statements(database):
            client.command(statement)
        _record(client, database, [migration])
        applied.append(migration.version)
    return applied
