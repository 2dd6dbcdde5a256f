"""Matomo's database, read-only: the DSN, the schema check and the raw rows of one batch of visits.

Only named columns are selected: Matomo's `location_ip` and `config_id` are never read, and the
binary `idvisitor` is turned into its keyed hash by the mapping as soon as it arrives.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar
from urllib.parse import parse_qs, unquote, urlsplit

from collector.ingest.matomo_import.errors import ImportRefused


def _driver() -> Any:
    """mysqlclient, an optional extra (the collector itself does not need it)."""
    try:
        import MySQLdb
        import MySQLdb.cursors
    except ImportError as missing:
        raise ImportRefused(
            "the Matomo import needs mysqlclient: pip install -e '.[matomo-import]' (Debian: apt-get install "
            "libmariadb-dev pkg-config gcc python3-dev first)"
        ) from missing
    return MySQLdb


#: The tables the import reads (without the prefix).
TABLES = ("site", "log_visit", "log_link_visit_action", "log_action", "log_conversion", "log_conversion_item")

#: Columns a Matomo 4.x or 5.x schema has (core/Db/Schema/Mysql.php plus the core plugins' dimensions);
#: one missing means another Matomo version, and the import refuses rather than guessing.
REQUIRED: dict[str, tuple[str, ...]] = {
    "site": ("idsite", "name", "timezone"),
    "log_visit": (
        "idvisit",
        "idsite",
        "idvisitor",
        "user_id",
        "visit_first_action_time",
        "visit_last_action_time",
        "visit_total_actions",
        "referer_type",
        "referer_name",
        "referer_keyword",
        "referer_url",
        "config_browser_name",
        "config_os",
        "config_device_type",
        "config_resolution",
        "location_country",
    ),
    "log_link_visit_action": (
        "idlink_va",
        "idsite",
        "idvisit",
        "server_time",
        "idaction_url",
        "idaction_name",
        "idpageview",
        "idaction_event_category",
        "idaction_event_action",
        "custom_float",
    ),
    "log_action": ("idaction", "name", "type", "url_prefix"),
    "log_conversion": (
        "idvisit",
        "idsite",
        "idlink_va",
        "idgoal",
        "buster",
        "server_time",
        "idorder",
        "revenue",
        "revenue_subtotal",
        "revenue_tax",
        "revenue_shipping",
        "revenue_discount",
        "referer_type",
        "referer_name",
        "referer_keyword",
    ),
    "log_conversion_item": (
        "idsite",
        "idvisit",
        "idorder",
        "idaction_sku",
        "idaction_name",
        "idaction_category",
        "price",
        "quantity",
        "deleted",
    ),
}

#: Read when present (plugins, newer versions), NULL otherwise.
OPTIONAL: dict[str, tuple[str, ...]] = {
    "log_visit": ("campaign_name", "campaign_keyword", "campaign_source", "campaign_medium", "campaign_content"),
    "log_link_visit_action": (
        "search_cat",
        "search_count",
        "idaction_content_name",
        "idaction_content_piece",
        "idaction_content_target",
        "idaction_content_interaction",
        "idaction_product_sku",
        "idaction_product_name",
        "idaction_product_cat",
        "product_price",
        "time_network",
        "time_server",
        "time_transfer",
        "time_dom_processing",
        "time_dom_completion",
        "time_on_load",
    ),
    "log_conversion_item": ("idaction_category2", "idaction_category3", "idaction_category4", "idaction_category5"),
}

VISIT_COLUMNS = REQUIRED["log_visit"][:1] + REQUIRED["log_visit"][2:] + OPTIONAL["log_visit"]
ACTION_COLUMNS = (
    "idlink_va",
    "idvisit",
    "server_time",
    "idaction_url",
    "idaction_name",
    "idpageview",
    "idaction_event_category",
    "idaction_event_action",
    "custom_float",
) + OPTIONAL["log_link_visit_action"]
#: what a conversion row brings: every required column but the site (one site per query) and Matomo's
#: buster (a cache key for the tracker, meaningless here)
CONVERSION_COLUMNS = tuple(c for c in REQUIRED["log_conversion"] if c not in ("idsite", "buster"))
ITEM_COLUMNS = (
    (
        "idvisit",
        "idorder",
        "idaction_sku",
        "idaction_name",
        "idaction_category",
    )
    + OPTIONAL["log_conversion_item"]
    + ("price", "quantity")
)

Row = dict[str, Any]
K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True)
class SourceDsn:
    """`mysql://user[:password]@host[:port]/database[?unix_socket=/path]` (the password may come apart)."""

    user: str
    password: str
    host: str
    port: int
    database: str
    unix_socket: str = ""

    @classmethod
    def parse(cls, dsn: str, password: str | None = None) -> "SourceDsn":
        try:
            parts = urlsplit(dsn)
            port = parts.port or 3306
        except ValueError as exc:
            raise ImportRefused(f"--dsn is not a URL: {exc}") from exc
        if parts.scheme not in ("mysql", "mariadb") or not parts.path.strip("/"):
            raise ImportRefused("--dsn must look like mysql://user:password@host:3306/matomo_database")
        socket = parse_qs(parts.query).get("unix_socket", [""])[0]
        return cls(
            user=unquote(parts.username or "root"),
            password=password if password is not None else unquote(parts.password or ""),
            host=parts.hostname or "localhost",
            port=port,
            database=unquote(parts.path.strip("/")),
            unix_socket=socket,
        )

    @property
    def has_password(self) -> bool:
        return bool(self.password)

    def describe(self) -> str:
        """Where, without the password (for messages and the run key)."""
        where = self.unix_socket or f"{self.host}:{self.port}"
        return f"{self.user}@{where}/{self.database}"


@dataclass(frozen=True)
class MatomoSite:
    idsite: int
    name: str
    timezone: str


@dataclass
class Batch:
    """The raw rows of consecutive visits (by idvisit) and of everything that belongs to them."""

    visits: list[Row]
    actions: dict[int, list[Row]] = field(default_factory=dict)
    conversions: dict[int, list[Row]] = field(default_factory=dict)
    items: dict[tuple[int, str], list[Row]] = field(default_factory=dict)
    names: dict[int, tuple[str, int, int | None]] = field(default_factory=dict)  # idaction → (name, type, prefix)

    @property
    def last_idvisit(self) -> int:
        return int(self.visits[-1]["idvisit"])

    @property
    def action_count(self) -> int:
        return sum(len(rows) for rows in self.actions.values())


class MatomoSource:
    """A read-only connection to Matomo's database, with the columns this schema version has."""

    def __init__(self, dsn: SourceDsn, prefix: str) -> None:
        self.prefix = prefix
        driver = self._driver = _driver()
        where = {"unix_socket": dsn.unix_socket} if dsn.unix_socket else {"host": dsn.host, "port": dsn.port}
        try:
            self._db = driver.connect(
                user=dsn.user,
                password=dsn.password,
                database=dsn.database,
                charset="utf8mb4",
                connect_timeout=10,
                cursorclass=driver.cursors.DictCursor,
                autocommit=True,
                **where,
            )
        except driver.Error as exc:
            raise ImportRefused(f"cannot connect to Matomo's database {dsn.describe()}: {exc.args[-1]}") from exc
        self._columns = self._check_schema()
        self._names: dict[int, tuple[str, int, int | None]] = {}

    def close(self) -> None:
        self._db.close()

    def table(self, name: str) -> str:
        return f"`{self.prefix}{name}`"

    def _query(self, sql: str, args: Any = None) -> list[Row]:
        try:
            with self._db.cursor() as cursor:
                cursor.execute(sql, args)
                return list(cursor.fetchall())
        except self._driver.Error as exc:
            raise ImportRefused(f"Matomo's database refused a query: {exc.args[-1]}") from exc

    def _check_schema(self) -> dict[str, frozenset[str]]:
        """Every table there, every required column there: else a message naming what is missing."""
        found: dict[str, frozenset[str]] = {}
        rows = self._query(
            "SELECT TABLE_NAME AS t, COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            f"AND TABLE_NAME IN ({', '.join(['%s'] * len(TABLES))})",
            [self.prefix + t for t in TABLES],
        )
        for row in rows:
            name = str(row["t"])[len(self.prefix) :]
            found[name] = found.get(name, frozenset()) | {str(row["c"])}
        missing_tables = [self.prefix + t for t in TABLES if t not in found]
        if missing_tables:
            raise ImportRefused(
                f"Matomo's tables {', '.join(missing_tables)} are missing: wrong database or --table-prefix "
                f"(now {self.prefix!r})?"
            )
        for table, columns in REQUIRED.items():
            lacking = [c for c in columns if c not in found[table]]
            if lacking:
                raise ImportRefused(
                    f"{self.prefix}{table} lacks columns {', '.join(lacking)}: this is not a Matomo 4 or 5 schema "
                    "(upgrade Matomo first, or report the version)"
                )
        return found

    def _select(self, table: str, columns: tuple[str, ...]) -> str:
        present = self._columns[table]
        return ", ".join(f"`{c}`" if c in present else f"NULL AS `{c}`" for c in columns)

    def sites(self) -> dict[int, MatomoSite]:
        rows = self._query(f"SELECT idsite, name, timezone FROM {self.table('site')}")
        return {int(r["idsite"]): MatomoSite(int(r["idsite"]), str(r["name"]), str(r["timezone"])) for r in rows}

    def counts(
        self, idsite: int, since: datetime, until: datetime, after: int = 0, visits_only: bool = False
    ) -> dict[str, int]:
        """What a window holds (for --dry-run; the visits alone for the progress bar's total)."""
        window = (
            "v.idsite = %s AND v.visit_first_action_time >= %s AND v.visit_first_action_time < %s AND v.idvisit > %s"
        )
        args = (idsite, since, until, after)
        counts = {}
        for name, sql in (
            ("visits", f"SELECT COUNT(*) AS n FROM {self.table('log_visit')} v WHERE {window}"),
            (
                "actions",
                f"SELECT COUNT(*) AS n FROM {self.table('log_link_visit_action')} a "
                f"JOIN {self.table('log_visit')} v ON v.idvisit = a.idvisit WHERE {window}",
            ),
            (
                "conversions",
                f"SELECT COUNT(*) AS n FROM {self.table('log_conversion')} c "
                f"JOIN {self.table('log_visit')} v ON v.idvisit = c.idvisit WHERE {window}",
            ),
            (
                "items",
                f"SELECT COUNT(*) AS n FROM {self.table('log_conversion_item')} i "
                f"JOIN {self.table('log_visit')} v ON v.idvisit = i.idvisit WHERE {window} AND i.deleted = 0",
            ),
        ):
            counts[name] = int(self._query(sql, args)[0]["n"])
            if visits_only:
                break
        return counts

    def batch(self, idsite: int, since: datetime, until: datetime, after: int, size: int) -> Batch | None:
        """The next `size` visits after idvisit `after` that began in [since, until), with their rows."""
        visits = self._query(
            f"SELECT {self._select('log_visit', VISIT_COLUMNS)} FROM {self.table('log_visit')} "
            "WHERE idsite = %s AND idvisit > %s AND visit_first_action_time >= %s AND visit_first_action_time < %s "
            "ORDER BY idvisit LIMIT %s",
            (idsite, after, since, until, size),
        )
        if not visits:
            return None
        batch = Batch(visits)
        wanted = {int(v["idvisit"]) for v in visits}
        span = (idsite, int(visits[0]["idvisit"]), batch.last_idvisit)
        _group_rows(
            batch.actions,
            self._query(
                f"SELECT {self._select('log_link_visit_action', ACTION_COLUMNS)} "
                f"FROM {self.table('log_link_visit_action')} "
                "WHERE idsite = %s AND idvisit BETWEEN %s AND %s ORDER BY idvisit, server_time, idlink_va",
                span,
            ),
            wanted,
            lambda row: int(row["idvisit"]),
        )
        _group_rows(
            batch.conversions,
            self._query(
                f"SELECT {self._select('log_conversion', CONVERSION_COLUMNS)} FROM {self.table('log_conversion')} "
                "WHERE idsite = %s AND idvisit BETWEEN %s AND %s ORDER BY idvisit, server_time, idgoal, buster",
                span,
            ),
            wanted,
            lambda row: int(row["idvisit"]),
        )
        _group_rows(
            batch.items,
            self._query(
                f"SELECT {self._select('log_conversion_item', ITEM_COLUMNS)} FROM {self.table('log_conversion_item')} "
                "WHERE idsite = %s AND idvisit BETWEEN %s AND %s AND deleted = 0 "
                "ORDER BY idvisit, idorder, idaction_sku",
                span,
            ),
            wanted,
            lambda row: (int(row["idvisit"]), str(row["idorder"])),
        )
        batch.names = self._action_names(batch)
        return batch

    def _action_names(self, batch: Batch) -> dict[int, tuple[str, int, int | None]]:
        """Names of every log_action the batch refers to (cached across batches, bounded)."""
        ids: set[int] = set()
        for table, rows_of in (("log_link_visit_action", batch.actions), ("log_conversion_item", batch.items)):
            keys = [
                c
                for c in (ACTION_COLUMNS if table == "log_link_visit_action" else ITEM_COLUMNS)
                if c.startswith("idaction_")
            ]
            for rows in rows_of.values():
                for row in rows:
                    ids.update(row[k] for k in keys if row[k])
        unknown = sorted(ids - self._names.keys())
        if len(self._names) + len(unknown) > 1_000_000:
            self._names.clear()
            unknown = sorted(ids)
        for start in range(0, len(unknown), 10_000):
            chunk = unknown[start : start + 10_000]
            for row in self._query(
                f"SELECT idaction, name, type, url_prefix FROM {self.table('log_action')} "
                f"WHERE idaction IN ({', '.join(str(int(i)) for i in chunk)})",
            ):
                prefix = row["url_prefix"]
                self._names[int(row["idaction"])] = (
                    str(row["name"] or ""),
                    int(row["type"] or 0),
                    None if prefix is None else int(prefix),
                )
        return {i: self._names[i] for i in ids if i in self._names}


def _group_rows(into: dict[K, list[Row]], rows: Iterable[Row], wanted: set[int], key: Callable[[Row], K]) -> None:
    """Append the rows of the batch's visits (an idvisit range can hold other sites' or skipped visits) under
    their key, keeping the query's order."""
    for row in rows:
        if int(row["idvisit"]) in wanted:
            into.setdefault(key(row), []).append(row)
