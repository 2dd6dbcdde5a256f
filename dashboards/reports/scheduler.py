"""Sending the reports that are due, and the collector's background task that does it every
COLLECTOR_REPORTS_CHECK_S seconds.

A schedule is due for the newest complete week or month (site time zone) that ended after the
schedule was created (so a new weekly schedule first reports on the week it was created in) and is
not yet in the send log; `force` (`python -m dashboards send-reports --now`) also takes a period
that ended before. Before sending, the analyst must still exist, be enabled and see the site.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import logging
import smtplib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, AsyncIterator
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import jinja2
from aiohttp import web
from aiohttp.helpers import ChainMapProxy

from collector.core.errors import CollectorError
from collector.core.keys import SETTINGS, SITES, STORAGE
from collector.core.settings import Settings
from collector.core.sites import Site, SiteRegistry
from dashboards.accounts import Accounts
from dashboards.keys import ACCOUNTS, STATE
from dashboards.reports.content import Report, as_html, as_text, build_sections, query_parameters
from dashboards.reports.mail import message, send
from dashboards.reports.periods import last_complete
from dashboards.reports.store import Reports, Schedule
from ingest_schema.storage import Storage, StorageError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReportDeps:
    """What sending needs, from the running app or built by the CLI."""

    storage: Storage
    accounts: Accounts
    sites: SiteRegistry
    settings: Settings
    templates: jinja2.Environment
    use_view: bool = True


def deps_of(collector: web.Application | ChainMapProxy, dashboards: web.Application) -> ReportDeps:
    """From the collector app (or a request's config_dict) and the dashboards sub-application."""
    state = dashboards[STATE]
    return ReportDeps(
        collector[STORAGE], dashboards[ACCOUNTS], collector[SITES], collector[SETTINGS], state.templates, state.use_view
    )


def unsubscribe_signature(secret_key: bytes, schedule_id: str) -> str:
    key = hmac.new(secret_key, b"report-unsubscribe", hashlib.sha256).digest()
    return hmac.new(key, schedule_id.encode(), hashlib.sha256).hexdigest()


def unsubscribe_url(settings: Settings, schedule_id: str) -> str:
    query = urlencode({"id": schedule_id, "sig": unsubscribe_signature(settings.secret_key, schedule_id)})
    return f"{settings.public_url.rstrip('/')}/dashboard/reports/unsubscribe?{query}"


def compose(deps: ReportDeps, schedule: Schedule, site: Site, period: tuple[date, date]) -> Report:
    first, last = period
    sections = build_sections(deps.storage, site, first, last, deps.use_view)
    query = urlencode({k: v for k, v in query_parameters(site, first, last).items() if k != "limit"})
    return Report(
        schedule,
        site,
        first,
        last,
        sections,
        f"{deps.settings.public_url.rstrip('/')}/dashboard/traffic?{query}",
        unsubscribe_url(deps.settings, schedule.id),
    )


def _period_end(site: Site, last: date) -> datetime:
    return datetime.combine(last + timedelta(days=1), time(), ZoneInfo(site.timezone))


def send_due(deps: ReportDeps, now: datetime, force: bool = False) -> list[dict[str, Any]]:
    """Send every report due at `now` (blocking); returns what happened to each one attempted."""
    reports = Reports(deps.storage)
    done = []
    for schedule in reports.schedules():
        site = deps.sites.get(schedule.site)
        if site is None:
            continue  # the site left the sites file; its schedule waits
        period = last_complete(schedule.frequency, now, site.timezone)
        if not force and _period_end(site, period[1]) <= schedule.created_at:
            continue
        attempt = reports.next_attempt(schedule.id, period)
        if attempt is None or not reports.claim(schedule.id, period, attempt):
            continue
        status, detail = _send_one(deps, schedule, site, period)
        reports.outcome(schedule.id, period, attempt, status, detail)
        done.append(
            {
                "schedule_id": schedule.id,
                "site": site.id,
                "email": schedule.email,
                "from": period[0],
                "to": period[1],
                "attempt": attempt,
                "status": status,
                "detail": detail,
            }
        )
    return done


def _send_one(deps: ReportDeps, schedule: Schedule, site: Site, period: tuple[date, date]) -> tuple[str, str]:
    identity = deps.accounts.identity_of(schedule.analyst)
    if identity is None or not identity.can_view(site.id):
        return "skipped", f"analyst {schedule.analyst} no longer exists, is disabled or cannot see {site.id}"
    try:
        report = compose(deps, schedule, site, period)
        send(message(report, as_text(report), as_html(report, deps.templates), deps.settings), deps.settings)
    except (OSError, smtplib.SMTPException, CollectorError, StorageError) as exc:
        log.warning("report %s to %s failed: %s", schedule.id, schedule.email, str(exc)[:200])
        return "failed", str(exc)[:300]
    return "sent", ""


def scheduler_context(app: web.Application) -> Any:
    """The background task: while the collector runs, send what is due each tick. A tick in progress
    is finished before the collector stops (the send log then holds its outcome)."""

    async def reports_ctx(sub: web.Application) -> AsyncIterator[None]:
        settings = app[SETTINGS]
        if not settings.smtp_host:
            log.info("COLLECTOR_SMTP_HOST is not set: scheduled reports are off")
            yield
            return
        stop = asyncio.Event()
        task = asyncio.create_task(_loop(deps_of(app, sub), settings.reports_check_s, stop))
        yield
        stop.set()
        await task

    return reports_ctx


async def _loop(deps: ReportDeps, interval: float, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            await asyncio.to_thread(send_due, deps, datetime.now(timezone.utc))
        except (StorageError, CollectorError, OSError) as exc:
            log.warning("report scheduler tick failed: %s", str(exc)[:200])
        try:
            await asyncio.wait_for(stop.wait(), interval)
        except asyncio.TimeoutError:
            pass
