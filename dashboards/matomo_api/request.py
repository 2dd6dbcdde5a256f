"""Matomo's request parameters turned into the query layer's terms: `period` + `date` into one or more
dashboard periods, `filter_limit`/`filter_offset` into a row window (`segment`: matomo_api.segment).

Periods are calendar days, Monday-to-Sunday weeks, months and years in the site's time zone, as in
Matomo. `date=lastN`/`previousN` (and a `YYYY-MM-DD,YYYY-MM-DD` range with period day/week/month/year)
give several periods: the answer is then keyed by each period's label (`2024-05-01`, `2024-04-29,2024-05-05`,
`2024-05`, `2024`), in date order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Mapping
from zoneinfo import ZoneInfo

from dashboards.matomo_api.errors import ApiError
from dashboards.periods import FIRST_DAY, LAST_DAY, Period

PERIOD_KINDS = ("day", "week", "month", "year", "range")
#: periods one call may ask for (each is one query per report)
MAX_PERIODS = 400
DEFAULT_LIMIT, MAX_ROWS = 100, 1000
_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LAST = re.compile(r"^(last|previous)(\d{1,6})$")


@dataclass(frozen=True)
class Periods:
    """The periods of one call: `several` answers are keyed by label even with one period."""

    items: tuple[tuple[str, Period], ...]
    several: bool


def _date_error(value: str) -> ApiError:
    return ApiError(
        "Date format must be: YYYY-MM-DD, or 'today' or 'yesterday' or any keyword supported by "
        f"the strtotime function (see https://php.net/strtotime for more information): '{value[:40]}'"
    )


def _day(value: str, today: date) -> date:
    value = value.strip()
    if value in ("today", "now"):
        return today
    if value == "yesterday":
        return today - timedelta(days=1)
    if _DAY.match(value):
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise _date_error(value) from None
        if FIRST_DAY <= day <= LAST_DAY:
            return day
    raise _date_error(value)


def _bounds(kind: str, day: date) -> tuple[date, date]:
    if kind == "week":
        monday = day - timedelta(days=day.weekday())
        return monday, monday + timedelta(days=6)
    if kind == "month":
        first = day.replace(day=1)
        return first, (first + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    if kind == "year":
        return day.replace(month=1, day=1), day.replace(month=12, day=31)
    return day, day


def _label(kind: str, first: date, last: date) -> str:
    if kind == "day":
        return first.isoformat()
    if kind == "month":
        return first.strftime("%Y-%m")
    if kind == "year":
        return str(first.year)
    return f"{first.isoformat()},{last.isoformat()}"


def _make(kind: str, first: date, last: date, tz: str) -> tuple[str, Period]:
    if first < FIRST_DAY or last > LAST_DAY:
        raise ApiError(f"The date is outside {FIRST_DAY} to {LAST_DAY}.")
    return _label(kind, first, last), Period("custom", first, last, tz)


def _step_back(kind: str, first: date) -> date:
    """A day in the period just before the one starting at `first`."""
    return first - timedelta(days=1)


def _series(kind: str, end_day: date, count: int, tz: str) -> list[tuple[str, Period]]:
    items = []
    first, last = _bounds(kind, end_day)
    for _ in range(count):
        items.append(_make(kind, first, last, tz))
        first, last = _bounds(kind, _step_back(kind, first))
    return items[::-1]


def _count(raw: str) -> int:
    count = int(raw)
    if not 1 <= count <= MAX_PERIODS:
        raise ApiError(f"lastN and previousN take N from 1 to {MAX_PERIODS}.")
    return count


def parse_periods(period: str, date_value: str, tz: str, now: datetime | None = None) -> Periods:
    """Matomo's `period` and `date` for a site in zone `tz`."""
    if period not in PERIOD_KINDS:
        raise ApiError(
            f"The period '{period[:40]}' is not supported. Try any of the following instead: {', '.join(PERIOD_KINDS)}"
        )
    if not date_value:
        raise ApiError("Please specify a value for 'date'.")
    today = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz)).date()
    relative = _LAST.match(date_value)
    if period == "range":
        if relative:
            count = _count(relative.group(2))
            last = today if relative.group(1) == "last" else today - timedelta(days=1)
            return Periods((_make("range", last - timedelta(days=count - 1), last, tz),), False)
        if "," not in date_value:
            raise ApiError(
                f"The date '{date_value[:40]}' is not a correct date range. It should have the "
                "following format: YYYY-MM-DD,YYYY-MM-DD."
            )
        first_raw, last_raw = date_value.split(",", 1)
        first, last = _day(first_raw, today), _day(last_raw, today)
        if last < first:
            raise ApiError(f"The date '{date_value[:40]}' is not a correct date range: its end is before its start.")
        return Periods((_make("range", first, last, tz),), False)
    if relative:
        count = _count(relative.group(2))
        end = today if relative.group(1) == "last" else _bounds(period, today)[0] - timedelta(days=1)
        return Periods(tuple(_series(period, end, count, tz)), True)
    if "," in date_value:
        first_raw, last_raw = date_value.split(",", 1)
        first, last = _day(first_raw, today), _day(last_raw, today)
        if last < first:
            raise ApiError(f"The date '{date_value[:40]}' is not a correct date range: its end is before its start.")
        items: list[tuple[str, Period]] = []
        start, end = _bounds(period, first)
        while start <= last:
            items.append(_make(period, start, end, tz))
            if len(items) > MAX_PERIODS:
                raise ApiError(f"A date range spans at most {MAX_PERIODS} periods.")
            start, end = _bounds(period, end + timedelta(days=1))
        return Periods(tuple(items), True)
    first, last = _bounds(period, _day(date_value, today))
    return Periods((_make(period, first, last, tz),), False)


# --- rows -----------------------------------------------------------------------------------------


def _integer(params: Mapping[str, str], name: str, default: int) -> int:
    raw = params.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"-?\d{1,9}", raw):
        raise ApiError(f"The parameter '{name}' must be a whole number.")
    return int(raw)


def row_window(params: Mapping[str, str]) -> tuple[int, int]:
    """(limit, offset) from filter_limit (-1: all, here at most MAX_ROWS) and filter_offset."""
    limit = _integer(params, "filter_limit", DEFAULT_LIMIT)
    offset = _integer(params, "filter_offset", 0)
    if limit < 0 or limit > MAX_ROWS:
        limit = MAX_ROWS
    return limit, max(0, min(offset, MAX_ROWS))
