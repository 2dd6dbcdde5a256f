"""Annotations: notes on a day of a site's traffic (a release, a campaign, an outage), shown on the
chart and listed by the `annotations` panel for the period; created, edited and deleted through the API.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from dashboards.definitions import DefinitionTable
from dashboards.errors import BadQuery
from dashboards.model import Column, Context, Panel, Params, Query, Sql
from dashboards.periods import FIRST_DAY, LAST_DAY
from ingest_schema.storage import Storage

MAX_NOTE_CHARS = 500
STORE = DefinitionTable("annotations", "annotation_id", ("day", "note"), "annotation")


def annotation_record(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["annotation_id"],
        "day": row["day"].isoformat(),
        "note": row["note"],
        "author": row["author"],
        "updated_at": row["updated_at"],
    }


def _values(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise BadQuery('body must be JSON: {"day": "2026-01-31", "note": "…"}')
    raw_day, note = body.get("day"), body.get("note")
    try:
        day = date.fromisoformat(raw_day) if isinstance(raw_day, str) else None
    except ValueError:
        day = None
    if day is None or not FIRST_DAY <= day <= LAST_DAY:
        raise BadQuery(f"day must be a date like 2026-01-31, between {FIRST_DAY} and {LAST_DAY}")
    if not isinstance(note, str) or not note.strip() or len(note.strip()) > MAX_NOTE_CHARS:
        raise BadQuery(f"note must be 1-{MAX_NOTE_CHARS} characters")
    return {"day": day, "note": note.strip()}


def save_annotation(storage: Storage, site: str, ident: str | None, body: Any, author: str) -> dict[str, Any]:
    """Validate, then write one row (blocking); an unknown id is a 404."""
    return annotation_record(STORE.save(storage, site, ident, _values(body), author))


def annotations_sql(ctx: Context, query: Query) -> Sql:
    params = Params()
    latest = STORE.latest_sql(ctx.table("annotations"), params, query.site)
    return Sql(
        f"SELECT annotation_id, day, note, author, updated_at FROM ({latest}) "
        f"WHERE day BETWEEN {params.day(query.period.first_day)} AND {params.day(query.period.last_day)} "
        f"ORDER BY day, updated_at LIMIT {params.p(query.limit, 'UInt32')}",
        params.values,
    )


ANNOTATIONS = Panel(
    "annotations",
    "Annotations",
    "Notes on days of the period (site time zone); filters do not apply. Create with POST, edit with PUT and "
    "remove with DELETE on /dashboard/api/v1/annotations[/<id>].",
    (
        Column("id", "string", "annotation id"),
        Column("day", "string", "the day it marks (YYYY-MM-DD, site time zone)"),
        Column("note", "string", "the note"),
        Column("author", "string", "analyst who wrote it last"),
        Column("updated_at", "datetime", "last change, UTC"),
    ),
    annotations_sql,
)

PANELS = (ANNOTATIONS,)
