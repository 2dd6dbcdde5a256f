"""One import: for each Matomo idsite → our site, batches of visits read, mapped, written, checkpointed.

Idempotent three ways: a batch's visits whose `visits` row is already there are skipped (a second
run adds nothing, whatever its window); each insert carries a deduplication token derived from its
content (a batch re-written after a kill between two of its inserts is dropped by ClickHouse); and the
checkpoint lets a killed run resume after its last whole batch. Per batch, `visits` is written last,
so a visit counts as imported only once all its rows are in.
"""

from __future__ import annotations

import calendar
import hashlib
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Sequence

from collector.core.sites import Site, SiteRegistry
from collector.ingest.matomo.visits import site_zone
from collector.ingest.matomo_import import progress
from collector.ingest.matomo_import.errors import ImportRefused
from collector.ingest.matomo_import.mapping import ORDER_COLUMNS, Rows, SiteMapping, map_visit
from collector.ingest.matomo_import.source import Batch, MatomoSource
from collector.ingest.spool import rows_json
from ingest_schema.hashing import Hasher
from ingest_schema.rows import EventRow, PageviewRow, VisitRow
from ingest_schema.storage import Storage
from ingest_schema.tables import ANALYTICS_MONTHS

INSERT_ROWS = 50_000  # rows per ClickHouse insert
UTC = timezone.utc
Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Options:
    #: Matomo idsite → our site id; empty: every site that has a matomo_idsite in the sites file
    sites: dict[int, str] = field(default_factory=dict)
    since: date | None = None  # first local day (Matomo site's time zone), inclusive
    until: date | None = None  # last local day, inclusive
    include_expired: bool = False
    dry_run: bool = False
    batch_visits: int = 5000


def retention_cutoff(today: date) -> date:
    """The first UTC day whose rows the tables' TTL (`day + 13 MONTH`) keeps."""
    month = today.month - ANALYTICS_MONTHS
    year = today.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    day = min(today.day, calendar.monthrange(year, month)[1])
    return date(year, month, day) + timedelta(days=1)


def _zone(name: str) -> Any:
    """A Matomo time zone: a tz name, or `UTC+5.5`-style fixed offsets."""
    if name.upper().startswith("UTC") and len(name) > 3:
        try:
            return timezone(timedelta(hours=float(name[3:])))
        except ValueError:
            pass
    return site_zone(name)


def window(options: Options, zone_name: str, now: datetime) -> tuple[datetime, datetime]:
    """[since, until) as naive UTC datetimes (Matomo's DATETIME), from local days in the Matomo site's zone."""
    zone = _zone(zone_name)

    def utc(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC).replace(tzinfo=None)

    since = utc(options.since) if options.since else datetime(1990, 1, 1)
    until = utc(options.until + timedelta(days=1)) if options.until else (now + timedelta(days=1)).replace(tzinfo=None)
    if not options.include_expired:
        cutoff = retention_cutoff(now.date())
        since = max(since, datetime(cutoff.year, cutoff.month, cutoff.day))
    return since, until


def resolve_sites(options: Options, registry: SiteRegistry, matomo_sites: Sequence[int]) -> dict[int, Site]:
    """Matomo idsite → our Site, each checked on both sides."""
    wanted = options.sites or {s.matomo_idsite: s.id for s in registry.all() if s.matomo_idsite is not None}
    if not wanted:
        raise ImportRefused(
            "no site to import: pass --site MATOMO_IDSITE=OUR_SITE or set matomo_idsite in the sites file"
        )
    resolved = {}
    for idsite, site_id in wanted.items():
        if idsite not in matomo_sites:
            raise ImportRefused(f"Matomo has no site with idsite {idsite} (it has {sorted(matomo_sites)})")
        site = registry.get(site_id)
        if site is None:
            raise ImportRefused(f"site {site_id!r} is not in the sites file")
        resolved[idsite] = site
    return resolved


def _token(table: str, site: str, sessions: list[int], chunk: int) -> str:
    digest = hashlib.sha256(f"{table}\x1f{site}\x1f{chunk}\x1f".encode() + b",".join(b"%d" % s for s in sessions))
    return "matomo-import:" + digest.hexdigest()[:40]


def _insert(
    storage: Storage,
    table: str,
    columns: Sequence[str],
    rows: Sequence[tuple[Any, ...]],
    site: str,
    sessions: list[int],
) -> None:
    """As the spool does: rows as JSONCompactEachRow lines (orjson), parsed by ClickHouse, not per value in Python."""
    for chunk, start in enumerate(range(0, len(rows), INSERT_ROWS)):
        data = rows_json(list(rows[start : start + INSERT_ROWS]))
        storage.insert_json(table, columns, data, _token(table, site, sessions, chunk))


def existing_sessions(storage: Storage, site: str, sessions: list[int], first: date, last: date) -> set[int]:
    rows = storage.query_rows(
        f"SELECT DISTINCT session_hash FROM {storage.table('visits')} WHERE site = {{site:String}} "
        "AND day BETWEEN {first:Date} AND {last:Date} AND session_hash IN {sessions:Array(UInt64)}",
        {"site": site, "first": first, "last": last, "sessions": sessions},
    )
    return {int(r[0]) for r in rows}


@dataclass
class SiteReport:
    site: str
    idsite: int
    since: str
    until: str
    visits: int = 0
    actions: int = 0
    skipped_existing: int = 0
    rows: dict[str, int] = field(default_factory=lambda: {"pageviews": 0, "events": 0, "visits": 0, "matomo_orders": 0})
    resumed_after: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        total = sum(self.rows.values())
        return {
            "site": self.site,
            "matomo_idsite": self.idsite,
            "since_utc": self.since,
            "until_utc": self.until,
            "visits": self.visits,
            "actions": self.actions,
            "skipped_existing_visits": self.skipped_existing,
            "rows": self.rows,
            "resumed_after_idvisit": self.resumed_after,
            "seconds": round(self.seconds, 2),
            "rows_per_s": round(total / self.seconds) if self.seconds else 0,
        }


def map_batch(storage: Storage, mapping: SiteMapping, batch: Batch, report: SiteReport) -> Rows:
    """Our rows of the batch's visits not imported yet (a visit is imported once its `visits` row is in)."""
    sessions = {int(v["idvisit"]): mapping.session_hash(int(v["idvisit"])) for v in batch.visits}
    days = [v["visit_first_action_time"].date() for v in batch.visits]
    done = existing_sessions(
        storage, mapping.site.id, list(sessions.values()), min(days), max(days) + timedelta(days=1)
    )
    report.skipped_existing += len(done)
    out = Rows()
    for visit in batch.visits:
        if sessions[int(visit["idvisit"])] not in done:
            map_visit(mapping, batch, visit, out)
            report.actions += len(batch.actions.get(int(visit["idvisit"]), []))
    report.visits += len(out.visits)
    return out


def write_rows(storage: Storage, site: str, out: Rows, report: SiteReport) -> None:
    """Every table of the batch, `visits` last."""
    if not out.visits:
        return
    key = sorted(out.sessions)
    _insert(storage, "events", EventRow._fields, out.events, site, key)
    _insert(storage, "pageviews", PageviewRow._fields, out.pageviews, site, key)
    _insert(storage, "matomo_orders", ORDER_COLUMNS, out.orders, site, key)
    _insert(storage, "visits", VisitRow._fields, out.visits, site, key)
    for table, rows in (
        ("events", out.events),
        ("pageviews", out.pageviews),
        ("visits", out.visits),
        ("matomo_orders", out.orders),
    ):
        report.rows[table] += len(rows)


def import_site(
    storage: Storage | None,
    source: MatomoSource,
    mapping: SiteMapping,
    zone: str,
    source_name: str,
    options: Options,
    now: datetime,
    on_batch: Progress,
) -> dict[str, Any]:
    """Batches in a pipeline: the next batch is read from MariaDB and the previous one written to ClickHouse
    (each in a thread: both wait on I/O or C code) while this one is mapped. Each batch is checkpointed
    once all its rows are in, in order."""
    since, until = window(options, zone, now)
    report = SiteReport(mapping.site.id, mapping.idsite, since.isoformat(), until.isoformat())
    if options.dry_run or storage is None:
        counts = source.counts(mapping.idsite, since, until)
        return {**report.as_dict(), "dry_run": True, "would_read": counts}
    key = progress.run_key(
        source_name,
        source.prefix,
        mapping.idsite,
        mapping.site.id,
        str(options.since or ""),
        str(options.until or ""),
        options.include_expired,
    )
    point = progress.load(storage, mapping.site.id, mapping.idsite, key)
    report.resumed_after = point.last_idvisit  # a finished run goes on too: visits Matomo recorded since
    total = source.counts(mapping.idsite, since, until, point.last_idvisit, visits_only=True)["visits"]
    started = time.monotonic()
    on_batch({"event": "start", "site": mapping.site.id, "idsite": mapping.idsite, "visits_total": total})

    def write(out: Rows, batch: Batch) -> None:
        before = sum(report.rows.values())
        write_rows(storage, mapping.site.id, out, report)
        point.last_idvisit = batch.last_idvisit
        point.visits, point.actions = point.visits + len(batch.visits), point.actions + batch.action_count
        point.rows += sum(report.rows.values()) - before
        progress.save(storage, point)
        report.seconds = time.monotonic() - started
        on_batch(
            {
                "event": "checkpoint",
                "site": mapping.site.id,
                "idsite": mapping.idsite,
                "last_idvisit": point.last_idvisit,
                "visits": len(batch.visits),
                "rows": sum(report.rows.values()),
                "rows_per_s": report.as_dict()["rows_per_s"],
            }
        )

    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="matomo-import") as pool:
        reading = pool.submit(source.batch, mapping.idsite, since, until, point.last_idvisit, options.batch_visits)
        writing: Future[None] | None = None
        while (batch := reading.result()) is not None:
            reading = pool.submit(source.batch, mapping.idsite, since, until, batch.last_idvisit, options.batch_visits)
            out = map_batch(storage, mapping, batch, report)
            if writing is not None:
                writing.result()
            writing = pool.submit(write, out, batch)
        if writing is not None:
            writing.result()
    point.finished = True
    progress.save(storage, point)
    report.seconds = time.monotonic() - started
    return report.as_dict()


def run_import(
    storage: Storage | None,
    source: MatomoSource,
    source_name: str,
    hasher: Hasher,
    registry: SiteRegistry,
    options: Options,
    max_string_chars: int,
    on_batch: Progress = lambda _: None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Import every mapped site; `storage` None (or `options.dry_run`) only counts. Raises ImportRefused
    before anything is written when the input is wrong."""
    now = now or datetime.now(UTC)
    matomo_sites = source.sites()
    sites = resolve_sites(options, registry, list(matomo_sites))
    reports = []
    for idsite, site in sites.items():
        zone = matomo_sites[idsite].timezone
        mapping = SiteMapping(site, idsite, hasher, max_string_chars)
        result = import_site(storage, source, mapping, zone, source_name, options, now, on_batch)
        if _zone(zone) != site_zone(site.timezone) and zone != site.timezone:
            result["warning"] = (
                f"Matomo's time zone {zone!r} differs from the site's {site.timezone!r}: "
                "daily figures are cut at the site's midnight"
            )
        reports.append(result)
    return {"ok": True, "dry_run": options.dry_run, "sites": reports}


def tty() -> bool:
    return sys.stderr.isatty()
