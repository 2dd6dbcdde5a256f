"""Scheduled e-mail reports (issue 15 point 7), received by a real SMTP server (aiosmtpd, started here):
the body's figures and the CSV attachments equal what the API serves for the same period, the signed
unsubscribe link works without a log-in, the send log prevents a second send (also after a restart
and after a crash mid-send), a failed send is retried, and the collector's background task sends."""

from __future__ import annotations

import asyncio
import dataclasses
import email
import email.policy
import io
import re
import sys
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from typing import Any, Iterator

import aiohttp
import orjson
import pytest
from aiosmtpd.controller import Controller

from collector.core.keys import SETTINGS, SITES
from dashboards import page_templates
from dashboards.__main__ import main
from dashboards.reports.periods import last_complete
from dashboards.reports.scheduler import ReportDeps, send_due
from dashboards.reports.store import Reports
from tests.support.collector import CollectorFactory, RunningCollector, free_port, stop_collector
from tests.support.dashboard import PASSWORD, SITE, accounts, dashboard_site, log_in, seed


class Inbox:
    """What the SMTP server received."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(parsed)
        return "250 OK"


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, int]]:
    inbox = Inbox()
    port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def smtp_settings(port: int, **extra: Any) -> dict[str, Any]:
    return {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "smtp_from": "reports@example.org",
        "public_url": "http://analytics.example.org",
        **extra,
    }


def deps(collector: RunningCollector) -> ReportDeps:
    return ReportDeps(
        collector.storage, accounts(collector), collector.app[SITES], collector.app[SETTINGS], page_templates()
    )


def parts(message: EmailMessage) -> tuple[str, str, dict[str, str]]:
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None and html is not None
    attachments = {str(p.get_filename()): p.get_content() for p in message.iter_attachments()}
    return str(text.get_content()), str(html.get_content()), attachments


async def test_report_figures_and_csv_equal_the_api(
    collector_factory: CollectorFactory, smtp: tuple[Inbox, int]
) -> None:
    inbox, port = smtp
    collector = await collector_factory(dashboard_site(), **smtp_settings(port))
    await seed(collector)
    analyst = await log_in(collector, "ana")
    try:
        status, body = await analyst.post_json(
            "/dashboard/api/v1/reports/schedules",
            {"site": SITE, "frequency": "weekly", "email": "ana@example.org"},
            csrf=analyst.csrf,
        )
        assert status == 201, body
        schedule = orjson.loads(body)
        # a moment in next week: the stored visits (made now) are in the last complete week then
        later = datetime.now(timezone.utc) + timedelta(days=7)
        first, last = last_complete("weekly", later, "UTC")
        assert first <= date.today() <= last
        sent = await asyncio.to_thread(send_due, deps(collector), later)
        assert [(r["status"], r["attempt"]) for r in sent] == [("sent", 1)]
        assert len(inbox.messages) == 1
        message = inbox.messages[0]
        assert message["To"] == "ana@example.org" and message["From"] == "reports@example.org"
        assert f"{first.isoformat()} – {last.isoformat()}" in str(message["Subject"])
        text, html, attachments = parts(message)

        period = {"site": SITE, "period": "custom", "from": first.isoformat(), "to": last.isoformat()}
        overview = await analyst.api("overview", **period)
        figures = {r["metric"]: r["value"] for r in overview["rows"]}
        assert figures["visitors"] > 0 and figures["pageviews"] > figures["visitors"] / 2
        for metric in ("visitors", "visits", "pageviews"):
            line = next(ln for ln in text.splitlines() if ln.startswith(metric + " "))
            assert f"{int(figures[metric]):,}" in line.split()[1], (metric, line)
            assert re.search(rf"<td[^>]*>{metric}</td><td[^>]*>{int(figures[metric]):,}", html), metric
        top = await analyst.api("top_pages", **period, limit="10")
        for row in top["rows"]:
            assert row["page"] in text and row["page"] in html

        # one CSV per section, byte for byte the API's CSV of the same period
        stem = f"{SITE}-{first.isoformat()}-{last.isoformat()}"
        assert sorted(attachments) == sorted(f"{p}-{stem}.csv" for p in ("overview", "top_pages", "sources", "goals"))
        for panel in ("overview", "top_pages", "sources", "goals"):
            extra = {} if panel == "overview" else {"limit": "10"}
            status, api_csv, _ = await analyst.get(f"/dashboard/api/v1/{panel}.csv", **period, **extra)
            assert status == 200
            assert attachments[f"{panel}-{stem}.csv"] == api_csv.decode(), panel

        # the send log: sent once; the same period is never sent again
        assert await asyncio.to_thread(send_due, deps(collector), later) == []
        assert await asyncio.to_thread(send_due, deps(collector), later, True) == []
        log = (await analyst.api("reports/sends"))["sends"]
        assert [(s["schedule_id"], s["from"], s["status"]) for s in log] == [
            (schedule["id"], first.isoformat(), "sent")
        ]

        # the unsubscribe link works without a log-in; a forged one does not
        link = re.search(r"Stop these e-mails: (\S+)", text)
        assert link and message["List-Unsubscribe"] == f"<{link.group(1)}>"
        local = link.group(1).replace("http://analytics.example.org", collector.url)
        async with aiohttp.ClientSession() as anonymous:
            async with anonymous.get(local.replace("sig=", "sig=0")) as response:
                assert response.status == 404
            async with anonymous.get(local) as response:
                assert response.status == 200 and "Unsubscribe" in await response.text()
            assert len(await collector.storage.run(Reports(collector.storage).schedules)) == 1, "a GET changes nothing"
            async with anonymous.post(local, data={"List-Unsubscribe": "One-Click"}) as response:
                assert response.status == 200 and "No more weekly reports" in await response.text()
        assert await collector.storage.run(Reports(collector.storage).schedules) == []
        assert await asyncio.to_thread(send_due, deps(collector), later + timedelta(days=7)) == []
        assert len(inbox.messages) == 1
    finally:
        await analyst.close()


async def test_report_schedules_refuse_bad_input_and_foreign_sites(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site(), dashboard_site(id="other", matomo_idsite=2))
    await collector.storage.run(accounts(collector).create_analyst, "vic", PASSWORD, {SITE: "view"})
    viewer = await log_in(collector, "vic")
    try:
        api = "/dashboard/api/v1/reports/schedules"
        for payload, expected, words in (
            ({"site": "other", "frequency": "weekly", "email": "v@example.org"}, 403, "no access"),
            ({"site": "nope", "frequency": "weekly", "email": "v@example.org"}, 404, "unknown site"),
            ({"site": SITE, "frequency": "daily", "email": "v@example.org"}, 400, "frequency"),
            ({"site": SITE, "frequency": "weekly", "email": "not an address"}, 400, "email"),
        ):
            status, body = await viewer.post_json(api, payload, csrf=viewer.csrf)
            assert status == expected and words in orjson.loads(body)["error"], (payload, status, body)
        assert collector.count("report_schedules") == 0, "nothing half-saved"
        status, body = await viewer.post_json(
            api, {"site": SITE, "frequency": "monthly", "email": "v@example.org"}, csrf=viewer.csrf
        )
        assert status == 201, "a view-only analyst schedules reports of the sites they see"
        async with viewer.http.delete(
            f"{collector.url}{api}/0123456789abcdef", headers={"X-CSRF-Token": viewer.csrf}
        ) as response:
            assert response.status == 404
    finally:
        await viewer.close()


async def test_scheduler_sends_once_across_restarts_retries_failures_and_cli(
    collector_factory: CollectorFactory, smtp: tuple[Inbox, int], monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    inbox, port = smtp
    database = "t_reports_" + datetime.now().strftime("%H%M%S%f")
    first = await collector_factory(dashboard_site(), database=database, reports_check_s=1, **smtp_settings(port))
    store = accounts(first)
    await first.storage.run(store.save_analyst, "sam", PASSWORD)
    # a schedule made a month ago: its last complete week is due now
    created = datetime.now(timezone.utc) - timedelta(days=31)
    first.storage.insert(
        "report_schedules",
        ("id", "analyst", "site", "frequency", "email", "created_at", "deleted", "version"),
        [("00000000000000a1", "sam", SITE, "weekly", "sam@example.org", created, 0, 1)],
    )

    async def received(n: int) -> bool:
        for _ in range(600):
            if len(inbox.messages) >= n:
                return True
            await asyncio.sleep(0.1)
        return False

    assert await received(1), "the background task sent the due report"
    await stop_collector(first)
    second = await collector_factory(dashboard_site(), database=database, reports_check_s=1, **smtp_settings(port))
    sent = await asyncio.to_thread(send_due, deps(second), datetime.now(timezone.utc))
    assert sent == [] and len(inbox.messages) == 1, "after a restart the send log still holds the send"

    # a claim without an outcome (a crash mid-send) is never sent again
    later = datetime.now(timezone.utc) + timedelta(days=7)
    period = last_complete("weekly", later, "UTC")
    reports = Reports(second.storage)
    assert await second.storage.run(reports.claim, "00000000000000a1", period, 1)
    assert await asyncio.to_thread(send_due, deps(second), later) == []

    # a failed send (SMTP down) is logged and retried as attempt 2, through the CLI and the collector
    reports = Reports(second.storage)
    schedule = await second.storage.run(reports.create, "sam", SITE, "monthly", "sam@example.org")
    dead = dataclasses.replace(second.app[SETTINGS], smtp_port=free_port())  # nothing listens there
    broken = ReportDeps(second.storage, accounts(second), second.app[SITES], dead, page_templates())
    failed = await asyncio.to_thread(send_due, broken, datetime.now(timezone.utc), True)
    assert [(r["schedule_id"], r["status"], r["attempt"]) for r in failed] == [(schedule.id, "failed", 1)]
    monkeypatch.setenv("COLLECTOR_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("COLLECTOR_ADMIN_TOKEN", second.app[SETTINGS].admin_token)
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))
    code = await asyncio.to_thread(main, ["send-reports", "--now", "--url", second.url])
    assert code == 0
    assert await received(2)
    assert inbox.messages[1]["To"] == "sam@example.org" and "Monthly report" in str(inbox.messages[1]["Subject"])
    log = await second.storage.run(reports.sends, [schedule.id])
    assert [(s["attempt"], s["status"]) for s in log] == [(2, "sent"), (1, "failed")]
    assert "refused" in log[1]["detail"].lower() or "connect" in log[1]["detail"].lower()
