"""What analysts save per site (segments, annotations, …) in versioned definition tables.

Every save inserts one whole row with a higher version and every delete one row with `deleted = 1`,
so a definition is never half-saved; the latest version of each id wins. Reads take argMax by
version per id (exact on a sharded cluster too, where FINAL would only merge within a shard).
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Sequence

from dashboards.errors import NotFound
from dashboards.model import Params
from ingest_schema.storage import Storage

META = ("author", "updated_at")


@dataclass(frozen=True)
class DefinitionTable:
    table: str
    key: str  # id column
    fields: tuple[str, ...]  # the definition's own columns
    what: str  # "segment": for messages

    @property
    def columns(self) -> tuple[str, ...]:
        return (self.key, *self.fields, *META)

    def latest_sql(self, table: str, params: Params, site: str, ids: Sequence[str] = ()) -> str:
        """`SELECT <key>, <fields…>, author, updated_at` of the live definitions of a site."""
        picked = ", ".join(f"argMax({c}, version) AS {c}" for c in (*self.fields, *META))
        only = f"AND {self.key} IN {params.p(list(ids), 'Array(String)')}" if ids else ""
        return (
            f"SELECT {self.key}, {picked} FROM {table} WHERE site = {params.p(site, 'String')} {only} "
            f"GROUP BY {self.key} HAVING argMax(deleted, version) = 0"
        )

    def latest(self, storage: Storage, site: str, ids: Sequence[str] = ()) -> list[dict[str, Any]]:
        params = Params()
        sql = self.latest_sql(storage.table(self.table), params, site, ids)
        rows = storage.query_rows(f"{sql} ORDER BY updated_at, {self.key}", params.values)
        return [dict(zip(self.columns, row, strict=True)) for row in rows]

    def one(self, storage: Storage, site: str, ident: str) -> dict[str, Any]:
        found = self.latest(storage, site, [ident]) if 0 < len(ident) <= 64 else []
        if not found:
            raise NotFound(f"no {self.what} {ident[:40]!r} on this site")
        return found[0]

    def save(
        self, storage: Storage, site: str, ident: str | None, values: dict[str, Any], author: str
    ) -> dict[str, Any]:
        """Create (ident None) or replace a definition; replacing an unknown id is a 404."""
        if ident is None:
            ident = secrets.token_hex(6)
        else:
            self.one(storage, site, ident)
        self._write(storage, site, ident, values, author, deleted=0)
        return self.one(storage, site, ident)

    def delete(self, storage: Storage, site: str, ident: str, author: str) -> None:
        current = self.one(storage, site, ident)
        self._write(storage, site, ident, {f: current[f] for f in self.fields}, author, deleted=1)

    def _write(
        self, storage: Storage, site: str, ident: str, values: dict[str, Any], author: str, deleted: int
    ) -> None:
        now = datetime.now(timezone.utc)
        row = (site, ident, *(values[f] for f in self.fields), author, now, deleted, time.time_ns())
        storage.insert(self.table, ("site", self.key, *self.fields, *META, "deleted", "version"), [row])
