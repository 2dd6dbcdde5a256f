"""The frustration signals of closed days, archived as occurrences (issue 14: do not recompute closed days).

Like Matomo's archiving: once a UTC day is over (plus a grace period), the signals of the visits begun on it are
computed once, by the very SQL the insights run live (`dashboards.insights.signals_sql` over a one-day scope),
and stored in `signal_occurrences` (one row per occurrence, with the visitor); `signal_archive_days` records
the day with the number of rows it was computed from (events and playback of the day and the next, page views
of both). A pass archives every closed day not yet archived or whose rows changed since (a late upload, a visit
going on past midnight, an erasure). The insights panels and the recordings list read archived days from the
table and compute the others live (`insights.occurrences_sql`).
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime, timedelta, timezone
from typing import Any, AsyncIterator, Callable

from dashboards.insights import SIGNAL_COLUMNS, Scope, signals_sql
from dashboards.model import Context, Params, Query, Sql
from dashboards.periods import Period
from dashboards.visits import visits_sql
from ingest_schema.storage import Storage, StorageError
from ingest_schema.tables import TABLES

log = logging.getLogger(__name__)

#: how often the collector looks for days to archive
CHECK_S = 600


def last_closed_day(now: datetime, grace: timedelta) -> date:
    """The newest UTC day that ended at least `grace` ago."""
    return (now.astimezone(timezone.utc) - grace).date() - timedelta(days=1)


def day_query(site: str, day: date) -> Query:
    """The visits begun on one UTC day, as a panel query (the same visit rules as every panel)."""
    return Query(site, Period("archive", day, day, "UTC"))


def archive_sql(ctx: Context, site: str, day: date) -> Sql:
    """Every signal occurrence (SIGNAL_COLUMNS) of the visits begun on `day`, with the visitor: the day's visits
    are chosen once, with their visitors, and the live signal SQL runs over them."""
    params = Params()
    query = day_query(site, day)
    visits = visits_sql(ctx, params, query, query.period.start, query.period.end)
    scope = Scope(ctx, params, site, query.period.start, query.period.end, "SELECT arrayJoin(day_visits.1)")
    return Sql(
        f"WITH (SELECT (groupArray(session_hash), groupArray(v_visitor)) FROM ({visits})) AS day_visits "
        f"SELECT session_hash, transform(session_hash, day_visits.1, day_visits.2, toUInt64(0)) AS visitor, "
        f"{', '.join(c for c in SIGNAL_COLUMNS if c != 'session_hash')} FROM ({signals_sql(scope)})",
        params.values,
    )


def source_rows(storage: Storage, last: date) -> dict[tuple[str, date], int]:
    """Per site and day up to `last`: the rows a day's archive is computed from (its own and the next day's, a
    visit may go on past midnight), so that a change shows as a different number."""
    per_day: dict[tuple[str, date], int] = {}
    reads = (
        ("events", "count()"),
        ("playback", "count()"),
        ("pageviews", "uniqExact(pageview_id)"),
    )
    for table, measure in reads:
        rows = storage.query_rows(
            f"SELECT site, day, {measure} FROM {storage.table(table)} WHERE day <= {{last:Date}} GROUP BY site, day",
            {"last": last + timedelta(days=1)},
        )
        for site, day, n in rows:
            per_day[(str(site), day)] = per_day.get((str(site), day), 0) + int(n)
    return {
        (site, day): n + per_day.get((site, day + timedelta(days=1)), 0)
        for (site, day), n in per_day.items()
        if day <= last
    }


def archived(storage: Storage) -> dict[tuple[str, date], int]:
    """The source row count of each archived day's newest archive."""
    rows = storage.query_rows(
        f"SELECT site, day, argMax(source_rows, archived_at) FROM {storage.table('signal_archive_days')} "
        "GROUP BY site, day"
    )
    return {(str(site), day): int(n) for site, day, n in rows}


def archive_day(storage: Storage, site: str, day: date, rows_seen: int, use_view: bool = True) -> int:
    """Compute and store one day's archive (a new version); returns the rows written. The day is marked
    archived after its rows are in, so readers never see half an archive; the older versions' rows are deleted
    after that (readers already ignore them)."""
    sql = archive_sql(Context(storage.database, use_view), site, day)
    found = storage.query_rows(sql.text, sql.params)
    version = datetime.now(timezone.utc)
    if found:
        storage.insert("signal_occurrences", TABLES["signal_occurrences"].column_names,
                       [(site, day, *row, version) for row in found])  # fmt: skip
    storage.insert("signal_archive_days", TABLES["signal_archive_days"].column_names, [(site, day, rows_seen, version)])
    older = (
        f"FROM {storage.table('signal_occurrences')} WHERE site = {{site:String}} AND day = {{day:Date}} "
        "AND archived_at < {version:DateTime64(3, 'UTC')}"
    )
    bounds = {"site": site, "day": day, "version": version.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]}
    if storage.query_rows(f"SELECT count() {older}", bounds)[0][0]:  # a delete waits on a mutation: only if needed
        storage.command(f"DELETE {older}", bounds)
    return len(found)


def due_days(storage: Storage, now: datetime, grace: timedelta) -> list[tuple[str, date, int]]:
    """(site, day, source rows) of every closed day that is not archived or whose rows changed since."""
    current = source_rows(storage, last_closed_day(now, grace))
    done = archived(storage)
    return sorted((site, day, n) for (site, day), n in current.items() if done.get((site, day)) != n)


def archive_due(storage: Storage, now: datetime, grace: timedelta, use_view: bool = True) -> list[tuple[str, date]]:
    """One pass: archive every closed day that is not archived or whose rows changed since; returns those days."""
    due = due_days(storage, now, grace)
    for site, day, rows_seen in due:
        archive_day(storage, site, day, rows_seen, use_view)
    return [(site, day) for site, day, _ in due]


def archiver_context(
    storage_of: Callable[[], Storage], grace_min: int, use_view: Callable[[Storage], bool]
) -> Callable[[Any], AsyncIterator[None]]:
    """The background task of the primary collector: a pass at start and every CHECK_S seconds (grace 0: off).
    A pass in progress is finished before the collector stops."""

    async def signals_archive_ctx(app: Any) -> AsyncIterator[None]:
        if grace_min <= 0:
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(_loop(storage_of(), timedelta(minutes=grace_min), use_view, stop))
        yield
        stop.set()
        await task

    return signals_archive_ctx


async def _loop(storage: Storage, grace: timedelta, use_view: Callable[[Storage], bool], stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            view = await storage.run(use_view, storage)
            due = await storage.run(due_days, storage, datetime.now(timezone.utc), grace)
            for site, day, rows_seen in due:  # a day per call: the storage's threads stay free for the panels
                if stop.is_set():
                    break
                await storage.run(archive_day, storage, site, day, rows_seen, view)
            if due:
                log.info("archived the frustration signals of %d day(s)", len(due))
        except StorageError as exc:
            log.warning("signal archive pass failed: %s", str(exc)[:200])
        try:
            await asyncio.wait_for(stop.wait(), CHECK_S)
        except asyncio.TimeoutError:
            pass
