"""A panel's result as JSON, CSV or a pandas DataFrame, with the same values in each.

Datetimes are ISO 8601 text in JSON and CSV (UTC for instants, the site's local time for time-series
buckets, as the panel's columns document); lists are JSON arrays (in CSV, as JSON text).
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from typing import Any

import orjson

from dashboards.model import Panel, Query, Result


def cell(value: Any) -> Any:
    """One value as JSON shows it."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(timespec="milliseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, tuple):
        return [cell(v) for v in value]
    if isinstance(value, list):
        return [cell(v) for v in value]
    if isinstance(value, float) and value != value:
        return None
    return value


def as_document(panel: Panel, query: Query, result: Result) -> dict[str, Any]:
    return {
        "panel": panel.name,
        "site": query.site,
        "period": query.period.describe(),
        "previous": query.period.previous.describe(),
        "filters": query.described_filters(),
        "options": dict(query.options),
        "columns": [{"name": c.name, "type": c.type, "description": c.description} for c in panel.columns],
        "rows": [{k: cell(v) for k, v in zip(result.columns, row, strict=True)} for row in result.rows],
    }


def as_json(panel: Panel, query: Query, result: Result) -> bytes:
    return orjson.dumps(as_document(panel, query, result))


#: Spreadsheets run a cell that starts with one of these as a formula; page paths, referrers and event
#: names come from visitors, so such text gets this prefix in CSV (OWASP's advice for CSV injection).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
CSV_FORMULA_PREFIX = "'"


def csv_cell(value: Any) -> str:
    value = cell(value)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return orjson.dumps(value).decode()
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return CSV_FORMULA_PREFIX + value
    return str(value)


def as_csv(result: Result) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(result.columns)
    for row in result.rows:
        writer.writerow([csv_cell(v) for v in row])
    return out.getvalue()


def as_frame(panel: Panel, rows: list[dict[str, Any]]) -> Any:
    """A DataFrame from JSON-shaped records, with datetime columns parsed (pandas is imported here only)."""
    import pandas as pd

    frame = pd.DataFrame.from_records(rows, columns=panel.column_names)
    for column in panel.columns:
        if column.type == "datetime":
            frame[column.name] = pd.to_datetime(frame[column.name])
    return frame
