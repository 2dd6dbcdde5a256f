"""GDPR access and erasure end to end: Matomo's own matomo.js (5.2.0-b5, vendored unchanged) and the
real clarity-js in Debian's Chromium, then `python -m retention export|erase` as a subprocess against
the running collector, then a scan of every visitor table for rows of the visit.

Matomo's `requireConsent` flow sends the hits queued before consent without a visitor id (stored
under the daily cookieless hash) and only later hits with `_id`; an erasure must still find them all,
by the visit they share (docs/retention.md).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from collector.core.keys import SETTINGS
from collector.ingest.keys import SERVICES
from ingest_schema.hashing import matomo_visitor_hash
from retention.service import execute, validate
from tests.support.browser import UploadLog, collector_serving_pages, wait_until
from tests.support.collector import DESKTOP_UA, ROOT, CollectorFactory, RunningCollector, make_site, services
from tests.support.matomo import hit
from tests.support.matomo_browser import SNIPPET, SiteServer, Tracked

pytestmark = pytest.mark.browser

CONSENT_SITE = "consenting"  # matomo_idsite 2, consent_param mode

#: Pages on the consenting site: Matomo's snippet with requireConsent; the tracker script is Matomo's own.
PAGES = {
    "require": (
        "_paq.push(['requireConsent']);",
        """
  <button id="event" onclick="_paq.push(['trackEvent', 'Video', 'Play', 'queued'])">event</button>
  <button id="give" onclick="_paq.push(['setConsentGiven'])">consent</button>
  <button id="after" onclick="_paq.push(['setUserId', 'customer-7']);
    _paq.push(['trackEvent', 'Video', 'Pause', 'after'])">after</button>""",
    ),
    "remember": (
        "_paq.push(['requireConsent']);",
        """
  <button id="event" onclick="_paq.push(['trackEvent', 'Form', 'Open', 'queued'])">event</button>
  <button id="give" onclick="_paq.push(['rememberConsentGiven'])">consent</button>""",
    ),
    "remember-again": ("_paq.push(['requireConsent']);", "<p>second page, consent remembered</p>"),
}


def vendored_page(name: str, tracker: str) -> str:
    """Matomo's snippet as its UI shows it, loading matomo.js from the website itself."""
    calls, body = PAGES[name]
    snippet = SNIPPET.format(calls=calls, tracker=tracker, idsite=2, script="'/vendor/matomo.js'")
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{name} page</title>{snippet}</head>"
        f"<body>{body}</body></html>"
    )


@pytest_asyncio.fixture
async def vendored_site() -> AsyncIterator[SiteServer]:
    server = SiteServer(lambda name, tracker: vendored_page(name, tracker) if name in PAGES else None)
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def matomo_collector(collector_factory: CollectorFactory, vendored_site: SiteServer) -> Any:
    collector = await collector_factory(
        make_site(id=CONSENT_SITE, origins=[vendored_site.origin], matomo_idsite=2),
        make_site(id="bystander", origins=[vendored_site.origin], matomo_idsite=3),
    )
    vendored_site.tracker = collector.url.removeprefix("http://")
    return collector


async def vendored_ready(page: Any) -> None:
    """Matomo's tracker loaded and every queued _paq call applied."""
    await page.wait_for_function("window.Matomo && window.Matomo.getAsyncTracker")
    await page.evaluate("new Promise(done => window._paq.push([done]))")


FIREFOX_UA = "Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0"


async def retention_cli(collector: RunningCollector, tmp_path: Path, *args: str) -> dict[str, Any]:
    """`python -m retention ARGS` as a subprocess, through the running collector's admin endpoint."""
    sites = tmp_path / "cli-sites.toml"
    sites.write_text(
        "".join(
            f'[[site]]\nid = "{s.id}"\norigins = {list(s.origins)!r}\n'.replace("'", '"')
            for s in collector.app[SERVICES].sites.all()
        )
    )
    env = {
        **os.environ,
        "COLLECTOR_DATA_DIR": str(tmp_path / "cli"),
        "COLLECTOR_SITES_FILE": str(sites),
        "COLLECTOR_ADMIN_TOKEN": collector.app[SETTINGS].admin_token,
        "COLLECTOR_LOG_LEVEL": "WARNING",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "retention",
        *args,
        "--collector",
        collector.url,
        env=env,
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=300)
    assert process.returncode == 0, (out + err).decode()[-2000:]
    report: dict[str, Any] = json.loads(out)
    return report


def rows_of_visits(collector: RunningCollector, site: str, sessions: set[int]) -> dict[str, int]:
    """An independent scan: rows in every visitor table that carry one of the sessions, or one of the
    visitor hashes (cookieless or not) that any row of those sessions carries."""
    database = collector.storage.database
    if not sessions:
        return {}
    in_sessions = f"site = '{site}' AND session_hash IN ({','.join(map(str, sessions))})"
    columns: dict[str, set[str]] = {}
    for table, name in collector.rows(
        "SELECT table, name FROM system.columns WHERE database = '{db}' AND table IN "
        "(SELECT name FROM system.tables WHERE database = '{db}' AND engine NOT LIKE '%View')"
    ):
        columns.setdefault(table, set()).add(name)
    tables = [t for t, names in columns.items() if "session_hash" in names]
    hashes = {
        int(h)
        for t in tables
        if "visitor_hash" in columns[t]
        for (h,) in collector.rows(f"SELECT DISTINCT visitor_hash FROM `{database}`.`{t}` WHERE {in_sessions}")
    }
    hashes.discard(0)
    counts = {}
    for table in tables:
        where = in_sessions
        if hashes and "visitor_hash" in columns[table]:
            where = f"({in_sessions}) OR (site = '{site}' AND visitor_hash IN ({','.join(map(str, hashes))}))"
        counts[table] = collector.count(table, where)
    return counts


async def matomo_require_consent_flow(context: Tracked, origin: str) -> Any:
    """requireConsent, a queued trackPageView and trackEvent, setConsentGiven, then another trackEvent
    (with setUserId): Matomo's own tracker sends the queued hits without a visitor id."""
    page = await context.context.new_page()
    await page.goto(f"{origin}/require.html")
    await vendored_ready(page)
    await page.click("#event")
    await vendored_ready(page)
    assert context.sent == [], "nothing leaves the browser before consent"
    await page.click("#give")
    await context.settle(3)  # the queued page view and event (without _id), then a ping with the new id
    await page.click("#after")
    await context.settle(4)
    return page


async def matomo_remember_consent_flow(context: Tracked, origin: str) -> Any:
    """requireConsent, a queued page view and event, rememberConsentGiven, then a second page."""
    page = await context.context.new_page()
    await page.goto(f"{origin}/remember.html")
    await vendored_ready(page)
    await page.click("#event")
    await vendored_ready(page)
    assert context.sent == []
    await page.click("#give")
    await context.settle(3)
    second = await context.context.new_page()
    await second.goto(f"{origin}/remember-again.html")
    await vendored_ready(second)
    await context.settle(4)
    return second


FLOWS = {"setConsentGiven": matomo_require_consent_flow, "rememberConsentGiven": matomo_remember_consent_flow}


@pytest.mark.parametrize("flow", FLOWS)
async def test_gdpr_matomo_js_require_consent_visit_is_exported_and_erased_whole(
    matomo_collector: Any, vendored_site: SiteServer, chromium: Any, tmp_path: Path, flow: str
) -> None:
    collector = matomo_collector
    context = Tracked(await chromium.new_context(user_agent=DESKTOP_UA), collector)
    try:
        page = await FLOWS[flow](context, vendored_site.origin)
        visitor_id = await page.evaluate("Matomo.getAsyncTracker().getVisitorId()")
        cookies = {c["name"]: c["value"] for c in await context.context.cookies()}
    finally:
        await context.context.close()
    assert cookies["_pk_id.2.dc78"].startswith(visitor_id + "."), "the id the browser holds"
    assert any("_id=&" in sent for sent in context.sent), "matomo.js sent the queued hits without an id"
    # someone else on the same site (another browser, so another cookieless hash): must stay
    other = {
        "idsite": 2,
        "_id": "0123456789abcdef",
        "consent": 1,
        "send_image": 0,
        "url": f"{vendored_site.origin}/x.html",
    }
    for action in ("other page", "other again"):
        headers = {"Origin": vendored_site.origin, "User-Agent": FIREFOX_UA}
        assert (await hit(collector, {**other, "action_name": action}, headers=headers))[0] == 204
    await collector.flush()

    own_hash = matomo_visitor_hash(collector.app[SERVICES].hasher, CONSENT_SITE, visitor_id)
    sessions = {
        int(s)
        for (s,) in collector.rows(
            "SELECT DISTINCT session_hash FROM {db}.visits WHERE site = 'consenting' AND visitor_hash = {h:UInt64}",
            h=own_hash,
        )
    }
    assert len(sessions) == 1, "one visit, linked to the id by the consent ping"
    before = rows_of_visits(collector, CONSENT_SITE, sessions)
    assert before["pageviews"] >= 1 and before["events"] >= 2 and before["consent_ledger"] >= 1
    assert collector.count("pageviews", f"visitor_hash != {own_hash} AND session_hash IN {tuple(sessions) * 2}"), (
        "the gap this test is about: page views of the visit stored under the cookieless hash"
    )
    bystander = {t: collector.count(t, "site = 'consenting'") - n for t, n in before.items()}
    assert bystander["pageviews"] >= 1 and bystander["visits"] >= 1

    exported = await retention_cli(
        collector, tmp_path, "export", "--kind", "matomo", "--visitor", visitor_id, "--output", str(tmp_path / "export")
    )
    assert {t: n for t, n in exported["rows"].items() if t in before} == before
    files = json.loads((tmp_path / "export" / "export.json").read_text())
    assert {row["session_hash"] for rows in files.values() for row in rows} == sessions
    if flow == "setConsentGiven":
        by_user = await retention_cli(
            collector,
            tmp_path,
            "export",
            "--kind",
            "user",
            "--visitor",
            "customer-7",
            "--output",
            str(tmp_path / "by-user"),
        )
        assert by_user["rows"] == exported["rows"], "the user id set mid-visit links the whole visit"

    erased = await retention_cli(collector, tmp_path, "erase", "--kind", "matomo", "--visitor", visitor_id)
    assert erased["ok"] and erased["sessions"] == 1
    assert {t: n for t, n in erased["erased"].items() if t in before} == before
    assert set(erased["remaining"].values()) == {0}
    assert sum(rows_of_visits(collector, CONSENT_SITE, sessions).values()) == 0, "nothing of the visit remains"
    assert {t: collector.count(t, "site = 'consenting'") for t in before} == bystander, "no one else was touched"


async def test_gdpr_clarity_js_withdrawal_reaches_the_ledger_only_as_an_anonymous_deny(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    """What the wire carries when clarity-js is told `consentv2` analytics denied: the granting page
    view ends with a final beacon that holds no Consent event, then a new page view under new ids
    starts with Consent 5/0/0. Nothing links the two, so the ledger keeps the grant under the old
    visitor and an anonymous deny, and no `withdraw` row (README, docs/retention.md); erasing the old
    visitor removes the grant, and the deny holds nothing about anyone."""
    collector = await collector_serving_pages(collector_factory)
    page = await new_page()
    log = UploadLog().attach(page.context)
    await page.goto(f"{collector.url}/demo?site=proj123&clarity=1")
    await page.wait_for_function("window.clarity && window.clarity.v")
    await page.evaluate("clarity('consentv2', {ad_Storage: 'denied', analytics_Storage: 'granted'})")
    await page.evaluate("clarity('event', 'before-withdrawal')")
    assert await wait_until(lambda: collector.count("events", "key = 'before-withdrawal'") == 1)
    granted_ids = log.uploads[0].document["e"][5:7]
    await page.evaluate("clarity('consentv2', {analytics_Storage: 'denied'})")
    assert await wait_until(lambda: any(e[2:5] == [5, 0, 0] for e in log.consent_events()))
    await page.evaluate("clarity('event', 'after-withdrawal')")
    assert await wait_until(
        lambda: any(e[1] == 24 and "after-withdrawal" in e[2:] for u in log.uploads for e in u.document.get("a", []))
    )
    assert await wait_until(lambda: all(u.status is not None for u in log.uploads))
    await collector.flush()

    old = [u.document for u in log.uploads if u.document["e"][5:7] == granted_ids]
    new = [u.document for u in log.uploads if u.document["e"][5:7] != granted_ids]
    assert old[-1]["e"][9] == 1, "the granting page view ended (its final beacon)"
    assert all(e[4] == 1 for d in old for e in d.get("a", []) if e[1] == 47), "no denial under the granting ids"
    assert new and new[0]["e"][7] == 1 and [e[2:5] for e in new[0]["a"] if e[1] == 47] == [[5, 0, 0]]
    granted_hash = services(collector).hasher.visitor("proj123", granted_ids[0])
    ledger = collector.rows(
        "SELECT decision, consent_source, visitor_hash, session_hash, pageview_id FROM {db}.consent_ledger ORDER BY ts"
    )
    assert [(d, s, v) for d, s, v, _, _ in ledger] == [("grant", 5, granted_hash), ("deny", 5, 0)]
    assert ledger[1][3:] == (0, 0), "the refusal is anonymous"
    assert collector.count("events", "key = 'after-withdrawal'") == 0, "nothing after the denial is stored"

    report = execute(
        collector.storage,
        services(collector).hasher,
        validate({"action": "erase", "visitor": granted_ids[0]}, ["proj123"]),
    )
    assert report["ok"] and report["erased"]["consent_ledger"] == 1 and report["erased"]["events"] >= 1
    assert collector.rows("SELECT decision, visitor_hash FROM {db}.consent_ledger") == [("deny", 0)]
    assert sum(collector.count(t) for t in ("pageviews", "events", "playback", "visit_stats")) == 0
