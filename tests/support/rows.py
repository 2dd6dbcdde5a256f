"""Rows written straight into ClickHouse at a chosen age, for retention and TTL tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

NOW = datetime.now(timezone.utc)


def playback_row_aged(age: timedelta, keep: int, sequence: int) -> list[Any]:
    ts = NOW - age
    return ["proj123", ts.date(), 1, 2, 1, 3, ts, sequence, 0, 10, '{"e":[]}', keep]


def event_row_aged(age: timedelta, type_: int) -> list[Any]:
    ts = NOW - age
    return ["proj123", ts.date(), 1, 2, 1, 3, ts, "clarity", type_, "click", "u", 1, 2, 0, "h", "", "", "", 0, 0, "",
            "", 0.0, "[]"]

