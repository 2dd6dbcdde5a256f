"""The one way a process opens the configured ClickHouse: the settings' DSN, database and credentials.

The collector, the CLIs and the history import each opened it by hand, and one of them (the Matomo import)
forgot the credentials, so it could not reach a server that needs a password.
"""

from __future__ import annotations

from collector.core.settings import Settings
from ingest_schema.storage import Storage


def open_storage(settings: Settings, workers: int = 4) -> Storage:
    """The configured ClickHouse; `workers` threads for blocking calls (1 for a CLI)."""
    return Storage(
        settings.clickhouse_dsn,
        settings.database,
        workers=workers,
        user=settings.clickhouse_user,
        password=settings.clickhouse_password,
    )
