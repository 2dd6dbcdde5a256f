"""Stored definitions analysts make in the dashboards (goals, funnels): one versioned row per change.

A definition is a site, an id, a name and a JSON document. Saving or deleting inserts a new row with a
higher version (a deletion has `deleted = 1`); reading takes each id's newest row with `argMax(…, version)`
(also right on a cluster, where rows of one id may sit on several shards) and skips deleted ones. One
insert per change, after the whole definition was validated, so nothing is ever half-saved.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from dashboards.errors import BadQuery, NotFound
from ingest_schema.storage import Storage

COLUMNS = ("site", "id", "name", "definition", "updated_by", "updated_at", "version", "deleted")
MAX_NAME_CHARS = 100
MAX_PER_SITE = 200


@dataclass(frozen=True)
class Stored:
    """One definition as read back: its id, name, JSON document and who changed it last, when."""

    id: str
    name: str
    definition: dict[str, Any]
    updated_by: str
    updated_at: datetime

    def document(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            **self.definition,
            "updated_by": self.updated_by,
            "updated_at": self.updated_at.replace(tzinfo=None).isoformat(timespec="milliseconds"),
        }


def new_id() -> str:
    """12 hex digits: short enough for a URL, random enough never to collide within a site."""
    return secrets.token_hex(6)


def check_id(value: str, what: str) -> str:
    value = value.strip().lower()
    if not (len(value) == 12 and all(c in "0123456789abcdef" for c in value)):
        raise NotFound(f"no such {what}")
    return value


def check_name(raw: Any) -> str:
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > MAX_NAME_CHARS:
        raise BadQuery(f"name: 1 to {MAX_NAME_CHARS} characters")
    return raw.strip()


class DefinitionStore:
    """The definitions of one kind (a table of ingest_schema.tables: goal_definitions, funnel_definitions)."""

    def __init__(self, table: str, what: str) -> None:
        self.table = table
        self.what = what

    def _latest(self, storage: Storage, site: str, wanted: str = "") -> list[Stored]:
        only = "AND id = {id:String}" if wanted else ""
        rows = storage.query_rows(
            "SELECT id, argMax(name, version), argMax(definition, version), argMax(updated_by, version), "
            f"argMax(updated_at, version), argMax(deleted, version) AS gone FROM {storage.table(self.table)} "
            f"WHERE site = {{site:String}} {only} GROUP BY id HAVING gone = 0 ORDER BY argMin(updated_at, version), id",
            {"site": site, "id": wanted},
        )
        return [Stored(str(i), str(n), orjson.loads(d), str(b), a) for i, n, d, b, a, _ in rows]

    def all(self, storage: Storage, site: str) -> list[Stored]:
        """Every live definition of the site, oldest first (the order they were created)."""
        return self._latest(storage, site)

    def get(self, storage: Storage, site: str, raw_id: str) -> Stored:
        found = self._latest(storage, site, check_id(raw_id, self.what))
        if not found:
            raise NotFound(f"no such {self.what}")
        return found[0]

    def save(
        self, storage: Storage, site: str, ident: str, name: str, definition: dict[str, Any], analyst: str
    ) -> Stored:
        """Insert a (new or changed) definition; the caller validated it whole."""
        if not ident:
            if len(self._latest(storage, site)) >= MAX_PER_SITE:
                raise BadQuery(f"a site has at most {MAX_PER_SITE} {self.what}s")
            ident = new_id()
        now = datetime.now(timezone.utc)
        storage.insert(
            self.table,
            COLUMNS,
            [(site, ident, name, orjson.dumps(definition).decode(), analyst, now, time.time_ns(), 0)],
        )
        return Stored(ident, name, definition, analyst, now)

    def delete(self, storage: Storage, site: str, raw_id: str, analyst: str) -> None:
        stored = self.get(storage, site, raw_id)
        storage.insert(
            self.table,
            COLUMNS,
            [
                (
                    site,
                    stored.id,
                    stored.name,
                    orjson.dumps(stored.definition).decode(),
                    analyst,
                    datetime.now(timezone.utc),
                    time.time_ns(),
                    1,
                )
            ],
        )
