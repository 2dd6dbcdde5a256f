"""The period a report covers: the last complete week (Monday to Sunday) or calendar month, in the
site's time zone, as seen at a moment."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

FREQUENCIES = ("weekly", "monthly")


def last_complete(frequency: str, now: datetime, timezone: str) -> tuple[date, date]:
    """(first day, last day) of the newest week or month that has ended before `now` in `timezone`."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    if frequency == "weekly":
        first = today - timedelta(days=today.weekday() + 7)
        return first, first + timedelta(days=6)
    last = today.replace(day=1) - timedelta(days=1)
    return last.replace(day=1), last
