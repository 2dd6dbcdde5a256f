"""Report schedules and their send log, in ClickHouse (tables of the accounts migration).

The send log makes a report go out once per period, even across restarts and several processes:
before the SMTP conversation a process writes a claim for (schedule, period, attempt) and goes on
only if its claim is the earliest; the outcome (sent, failed, skipped) is written after. A claim
with no outcome (the process died while sending) is never retried: a report may be missing, but
never arrives twice. A failed send is retried on later ticks, MAX_ATTEMPTS times in all.
"""

from __future__ import annotations

import re
import secrets
import time
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timezone
from typing import Any

from dashboards.errors import BadQuery, NotFound
from dashboards.reports.periods import FREQUENCIES
from ingest_schema.storage import Storage

MAX_ATTEMPTS = 3
_EMAIL = re.compile(r"^[^@\s<>\"',;]+@[^@\s<>\"',;]+\.[^@\s<>\"',;]+$")
_ID = re.compile(r"^[0-9a-f]{16}$")
_SCHEDULE_COLUMNS = ("id", "analyst", "site", "frequency", "email", "created_at", "deleted", "version")


@dataclass(frozen=True)
class Schedule:
    id: str
    analyst: str
    site: str
    frequency: str
    email: str
    created_at: datetime

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "analyst": self.analyst,
            "site": self.site,
            "frequency": self.frequency,
            "email": self.email,
            "created_at": self.created_at,
        }


def check_email(value: str) -> str:
    value = value.strip()
    if len(value) > 254 or not _EMAIL.fullmatch(value):
        raise BadQuery("email must be an e-mail address such as ana@example.org")
    return value


def check_id(value: str) -> str:
    if not _ID.fullmatch(value):
        raise NotFound("no such report schedule")
    return value


class Reports:
    """Schedules and send log of one database (blocking: call through `storage.run` or a thread)."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage

    def create(self, analyst: str, site: str, frequency: str, email: str) -> Schedule:
        if frequency not in FREQUENCIES:
            raise BadQuery(f"frequency must be one of {', '.join(FREQUENCIES)}")
        schedule = Schedule(
            secrets.token_hex(8), analyst, site, frequency, check_email(email), datetime.now(timezone.utc)
        )
        self._write(schedule, deleted=False)
        return schedule

    def _write(self, schedule: Schedule, deleted: bool) -> None:
        s = schedule
        self.storage.insert(
            "report_schedules",
            _SCHEDULE_COLUMNS,
            [(s.id, s.analyst, s.site, s.frequency, s.email, s.created_at, int(deleted), time.time_ns())],
        )

    def schedules(self, analyst: str | None = None, schedule_id: str | None = None) -> list[Schedule]:
        """Active schedules, oldest first: all, one analyst's, or one by id."""
        where, params = "", {}
        if schedule_id is not None:
            where, params = "WHERE id = {i:String}", {"i": schedule_id}
        rows = self.storage.query_rows(
            "SELECT id, argMax(analyst, version), argMax(site, version), argMax(frequency, version), "
            f"argMax(email, version), min(created_at) FROM {self.storage.table('report_schedules')} {where} "
            "GROUP BY id HAVING argMax(deleted, version) = 0 ORDER BY min(created_at), id",
            params or None,
        )
        found = [Schedule(str(r[0]), str(r[1]), str(r[2]), str(r[3]), str(r[4]), _aware(r[5])) for r in rows]
        return [s for s in found if analyst is None or s.analyst == analyst]

    def get(self, schedule_id: str) -> Schedule:
        found = self.schedules(schedule_id=check_id(schedule_id))
        if not found:
            raise NotFound("no such report schedule")
        return found[0]

    def delete(self, schedule_id: str) -> Schedule:
        schedule = self.get(schedule_id)
        self._write(schedule, deleted=True)
        return schedule

    # send log -------------------------------------------------------------------------------------

    def _log(
        self, schedule_id: str, period: tuple[date, date], attempt: int, status: str, claim: str = "", detail: str = ""
    ) -> None:
        self.storage.insert(
            "report_sends",
            ("schedule_id", "period_start", "period_end", "attempt", "status", "claim", "detail"),
            [(schedule_id, period[0], period[1], attempt, status, claim, detail[:500])],
        )

    def next_attempt(self, schedule_id: str, period: tuple[date, date]) -> int | None:
        """The attempt to make for this period, or None when it is sent, skipped, being sent (or died
        while sending), or failed MAX_ATTEMPTS times."""
        rows = self.storage.query_rows(
            f"SELECT attempt, groupArray(status) FROM {self.storage.table('report_sends')} "
            "WHERE schedule_id = {s:String} AND period_start = {p:Date} GROUP BY attempt ORDER BY attempt",
            {"s": schedule_id, "p": period[0]},
        )
        for _, statuses in rows:
            if {"sent", "skipped"} & set(statuses) or "failed" not in statuses:
                return None  # done, or a claim without an outcome
        return len(rows) + 1 if len(rows) < MAX_ATTEMPTS else None

    def claim(self, schedule_id: str, period: tuple[date, date], attempt: int) -> bool:
        """Claim a send; True if this claim is the earliest for (schedule, period, attempt)."""
        mine = uuid.uuid4().hex
        self._log(schedule_id, period, attempt, "claimed", claim=mine)
        rows = self.storage.query_rows(
            f"SELECT claim FROM {self.storage.table('report_sends')} WHERE schedule_id = {{s:String}} "
            "AND period_start = {p:Date} AND attempt = {a:UInt32} AND status = 'claimed' ORDER BY at, claim LIMIT 1",
            {"s": schedule_id, "p": period[0], "a": attempt},
        )
        return bool(rows) and rows[0][0] == mine

    def outcome(self, schedule_id: str, period: tuple[date, date], attempt: int, status: str, detail: str = "") -> None:
        self._log(schedule_id, period, attempt, status, detail=detail)

    def sends(self, schedule_ids: list[str], limit: int = 100) -> list[dict[str, Any]]:
        """The send log of these schedules, newest first: one row per attempt with its last status."""
        if not schedule_ids:
            return []
        rows = self.storage.query_rows(
            "SELECT schedule_id, period_start, period_end, attempt, argMax(status, at), argMax(detail, at), max(at) "
            f"FROM {self.storage.table('report_sends')} WHERE schedule_id IN {{ids:Array(String)}} "
            "GROUP BY schedule_id, period_start, period_end, attempt ORDER BY max(at) DESC LIMIT {n:UInt32}",
            {"ids": schedule_ids, "n": limit},
        )
        return [
            {
                "schedule_id": str(r[0]),
                "from": r[1],
                "to": r[2],
                "attempt": int(r[3]),
                "status": str(r[4]),
                "detail": str(r[5]),
                "at": _aware(r[6]),
            }
            for r in rows
        ]


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
