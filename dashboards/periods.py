"""Date ranges of the dashboards, in the site's time zone: today, yesterday, 7/30 days, month, custom.

A period is a half-open UTC interval [start, end) computed from calendar days in the site's zone;
its `previous` is the interval of the same length just before it (the comparison of the overview).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dashboards.errors import BadQuery

PERIODS = ("today", "yesterday", "7d", "30d", "month", "last_month", "12mo", "custom")
MAX_CUSTOM_DAYS = 400


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC; `first_day`/`last_day` are the calendar days in the site's zone."""

    name: str
    first_day: date
    last_day: date
    timezone: str

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(), self.zone).astimezone(timezone.utc)

    @property
    def end(self) -> datetime:
        return datetime.combine(self.last_day + timedelta(days=1), time(), self.zone).astimezone(timezone.utc)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    @property
    def previous(self) -> "Period":
        return Period(
            "previous", self.first_day - timedelta(days=self.days), self.first_day - timedelta(days=1), self.timezone
        )

    @property
    def hourly(self) -> bool:
        """Time series of one or two days are drawn by hour, longer ones by day."""
        return self.days <= 2

    def describe(self) -> dict[str, str]:
        return {
            "name": self.name,
            "from": self.first_day.isoformat(),
            "to": self.last_day.isoformat(),
            "timezone": self.timezone,
        }


def site_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise BadQuery(f"unknown time zone {name!r}") from exc
    return name


#: Custom periods stay where ClickHouse's Date and DateTime64 can hold them and their previous period.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


def _day(value: str, label: str) -> date:
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise BadQuery(f"{label} must be a date like 2026-01-31") from exc
    if not FIRST_DAY <= day <= LAST_DAY:
        raise BadQuery(f"{label} must be between {FIRST_DAY} and {LAST_DAY}")
    return day


def parse_period(name: str, first: str = "", last: str = "", tz: str = "UTC", now: datetime | None = None) -> Period:
    """The period called `name` as seen at `now` in zone `tz`; `custom` takes `first`..`last` (inclusive)."""
    tz = site_zone(tz)
    today = (now or datetime.now(timezone.utc)).astimezone(ZoneInfo(tz)).date()
    if name == "today":
        return Period(name, today, today, tz)
    if name == "yesterday":
        return Period(name, today - timedelta(days=1), today - timedelta(days=1), tz)
    if name in ("7d", "30d"):
        return Period(name, today - timedelta(days=int(name[:-1]) - 1), today, tz)
    if name == "month":
        return Period(name, today.replace(day=1), today, tz)
    if name == "last_month":
        last_day = today.replace(day=1) - timedelta(days=1)
        return Period(name, last_day.replace(day=1), last_day, tz)
    if name == "12mo":
        return Period(name, today - timedelta(days=364), today, tz)
    if name == "custom":
        start, end = _day(first, "from"), _day(last, "to")
        if end < start:
            raise BadQuery("to is before from")
        if (end - start).days + 1 > MAX_CUSTOM_DAYS:
            raise BadQuery(f"a custom period spans at most {MAX_CUSTOM_DAYS} days")
        return Period(name, start, end, tz)
    raise BadQuery(f"period must be one of {', '.join(PERIODS)}")
