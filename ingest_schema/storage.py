"""The one door to ClickHouse: a clickhouse-connect client built from a DSN.

`chdb:///folder` gives the embedded engine, `http://host:8123/db` a server; nothing else here
branches on which. A server's user and password come as arguments (`client_args`), so a password
with `@ : / # ? %` needs no URL encoding; credentials in the URL (percent-encoded) still work.
Calls block, so async callers go through `Storage.run` (a small pool).
"""

from __future__ import annotations

import asyncio
import fcntl
import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar
from urllib.parse import unquote, urlparse

import clickhouse_connect
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.exceptions import ClickHouseError

from ingest_schema import MIGRATIONS, apply_migrations

log = logging.getLogger(__name__)


class StorageError(Exception):
    """ClickHouse did not accept a query or an insert (connection, schema or write failure)."""


T = TypeVar("T")


def database_from_dsn(dsn: str, default: str) -> str:
    """An http DSN may name its database in the path; a chdb DSN's path is the data folder."""
    parsed = urlparse(dsn)
    if parsed.scheme.startswith("http") and parsed.path.strip("/"):
        return parsed.path.strip("/").split("/")[0]
    return default


def client_args(dsn: str, user: str = "", password: str = "") -> dict[str, Any]:
    """The keyword arguments of `clickhouse_connect.get_client` for a DSN. For a server, the URL's path
    (the database, handled by `database_from_dsn`) and credentials are taken out; `user`/`password`, when
    given, win over the URL's percent-decoded ones and reach the client untouched."""
    if dsn.startswith("chdb:"):
        return {"dsn": dsn}
    parsed = urlparse(dsn)
    netloc = parsed.netloc.rpartition("@")[2]
    args: dict[str, Any] = {
        "dsn": parsed._replace(netloc=netloc, path="").geturl(),
        "autogenerate_session_id": False,
        "connect_timeout": 5,
        "send_receive_timeout": 60,
    }
    username = user or unquote(parsed.username or "")
    secret = password or unquote(parsed.password or "")
    if username:
        args["username"] = username
    if secret:
        args["password"] = secret
    return args


@contextmanager
def _refused_insert(table: str) -> Iterator[None]:
    """Any failure of an insert, whichever client call made it, as one StorageError."""
    try:
        yield
    except ClickHouseError as exc:
        raise StorageError(f"insert into {table} failed: {str(exc).splitlines()[0][:300]}") from exc
    except (OSError, ValueError, TypeError) as exc:
        raise StorageError(f"insert into {table} failed: {exc}") from exc


def folder_is_held(dsn: str) -> bool:
    """Whether a running process holds this embedded ClickHouse folder. The engine keeps an exclusive
    lock on its `status` file and allows one process per folder, so tools (retention, accounts,
    pandas) try that lock (letting go at once) and talk to the running collector instead."""
    if not dsn.startswith("chdb:"):
        return False
    status = Path(urlparse(dsn).path) / "status"
    if not status.exists():
        return False
    with open(status, "rb") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
    return False


class Storage:
    """ClickHouse access for the collector, the dashboards and the retention job."""

    def __init__(self, dsn: str, database: str, workers: int = 4, *, user: str = "", password: str = "") -> None:
        self.database = database_from_dsn(dsn, database)
        self.dsn = dsn
        try:
            self.client: Client = clickhouse_connect.get_client(**client_args(dsn, user, password))
        except Exception as exc:  # clickhouse-connect raises several types on connect
            raise StorageError(f"cannot open ClickHouse at {dsn.split('@')[-1]}: {exc}") from exc
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="clickhouse")

    def table(self, name: str) -> str:
        """Fully qualified, quoted table name."""
        return f"`{self.database}`.`{name}`"

    def migrate(self) -> list[int]:
        return apply_migrations(self, self.database)

    def check_cluster_schema(self) -> None:
        """On a cluster the schema is converged by `python -m ingest_schema --cluster … --apply`;
        a collector only refuses to start when a migration it needs is missing."""
        try:
            rows = self.query_rows(f"SELECT version FROM {self.table('schema_migrations')}")
        except StorageError as exc:
            raise StorageError(f"cluster schema missing, run python -m ingest_schema --cluster: {exc}") from exc
        missing = {m.version for m in MIGRATIONS} - {int(r[0]) for r in rows}
        if missing:
            raise StorageError(f"cluster schema lacks migrations {sorted(missing)}: run python -m ingest_schema")

    def command(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> Any:
        try:
            return self.client.command(sql, parameters=parameters, settings=settings)
        except ClickHouseError as exc:
            raise StorageError(str(exc).splitlines()[0][:500]) from exc

    def query_rows(self, sql: str, parameters: dict[str, Any] | None = None) -> list[tuple[Any, ...]]:
        try:
            return [tuple(r) for r in self.client.query(sql, parameters=parameters).result_rows]
        except ClickHouseError as exc:
            raise StorageError(str(exc).splitlines()[0][:500]) from exc

    def query_df(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        try:
            return self.client.query_df(sql, parameters=parameters)
        except ClickHouseError as exc:
            raise StorageError(str(exc).splitlines()[0][:500]) from exc

    def insert(
        self,
        table: str,
        column_names: Sequence[str],
        rows: Sequence[Sequence[Any]],
        dedup_token: str | None = None,
    ) -> None:
        """Insert rows; `dedup_token` makes a replayed batch a no-op (ClickHouse insert dedup)."""
        settings = {"insert_deduplication_token": dedup_token} if dedup_token else None
        with _refused_insert(table):
            self.client.insert(self.table(table), list(rows), column_names=list(column_names), settings=settings)

    def insert_json(self, table: str, column_names: Sequence[str], data: bytes, dedup_token: str) -> None:
        """Insert rows given as JSONCompactEachRow lines (the spool's format): ClickHouse parses them,
        no Python object per value; `dedup_token` makes a replayed batch a no-op."""
        settings = {"insert_deduplication_token": dedup_token, "date_time_input_format": "best_effort"}
        with _refused_insert(table):
            self.client.raw_insert(
                self.table(table),
                column_names=list(column_names),
                insert_block=data,
                fmt="JSONCompactEachRow",
                settings=settings,
            )

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking storage call without blocking the event loop."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, partial(fn, *args, **kwargs))

    def ping(self) -> bool:
        try:
            return bool(self.client.query("SELECT 1").result_rows)
        except Exception:  # any failure means "not reachable"
            return False

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        try:
            self.client.close()
        except Exception as exc:  # closing must never mask the real shutdown path
            log.warning("closing ClickHouse client failed: %s", exc)
