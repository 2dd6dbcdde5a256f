"""Checkpoints of an import run (table `matomo_import_progress`, migration 8), one row per batch.

A run is one Matomo database, table prefix, idsite, our site and window; its key is a hash of these
(no password). A killed run starts again after its last checkpointed idvisit.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from ingest_schema import TABLES
from ingest_schema.storage import Storage

TABLE = "matomo_import_progress"
COLUMNS = TABLES[TABLE].column_names


def run_key(source: str, prefix: str, idsite: int, site: str, since: str, until: str, include_expired: bool) -> str:
    """The options as given (an open end stays open), so the same command resumes the same run on a later day."""
    text = "\x1f".join((source, prefix, str(idsite), site, since, until, str(include_expired)))
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass
class Checkpoint:
    site: str
    idsite: int
    key: str
    last_idvisit: int = 0
    visits: int = 0
    actions: int = 0
    rows: int = 0
    finished: bool = False


def load(storage: Storage, site: str, idsite: int, key: str) -> Checkpoint:
    rows = storage.query_rows(
        f"SELECT last_idvisit, visits, actions, rows, finished FROM {storage.table(TABLE)} FINAL "
        "WHERE site = {site:String} AND matomo_idsite = {idsite:UInt32} AND run_key = {key:String}",
        {"site": site, "idsite": idsite, "key": key},
    )
    if not rows:
        return Checkpoint(site, idsite, key)
    last, visits, actions, total, finished = rows[0]
    return Checkpoint(site, idsite, key, int(last), int(visits), int(actions), int(total), bool(finished))


def save(storage: Storage, point: Checkpoint) -> None:
    now = datetime.now(timezone.utc)
    storage.insert(
        TABLE,
        COLUMNS,
        [
            (
                point.site,
                point.idsite,
                point.key,
                point.last_idvisit,
                point.visits,
                point.actions,
                point.rows,
                int(point.finished),
                now,
                time.time_ns(),
            )
        ],
    )
