"""The standard Matomo snippet with our /matomo.js in Debian's Chromium: page views, events, link
clicks, e-commerce, heartbeat and the consent calls, end to end into ClickHouse.

The pages come from a small site server on another port (the tracker is cross-origin, as in
production). Chromium gets a desktop user agent: the collector drops HeadlessChrome on purpose.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from collector.ingest.keys import SERVICES
from tests.support.collector import DESKTOP_UA, CollectorFactory, make_site
from tests.support.matomo import events_by_type, metric, pageviews, visitor_hash, visits
from tests.support.matomo_browser import SNIPPET, SiteServer, Tracked

pytestmark = pytest.mark.browser


PAGES = {
    "shop": (
        "1",
        """_paq.push(['setCustomDimension', 1, 'blue']);
  _paq.push(['setUserId', 'customer-42']);
  _paq.push(['enableHeartBeatTimer', 1]);""",
        """
  <button id="play" onclick="_paq.push(['trackEvent', 'Video', 'Play', 'intro.mp4', 3.5])">play</button>
  <button id="search" onclick="_paq.push(['trackSiteSearch', 'shoes', 'Catalog', 12])">search</button>
  <button id="goal" onclick="_paq.push(['trackGoal', 1, 9.99])">goal</button>
  <button id="buy" onclick="_paq.push(['addEcommerceItem', 'SKU1', 'Shoe', 'Footwear', 49.5, 2]);
    _paq.push(['trackEcommerceOrder', 'ORDER-1', 99, 90, 5, 4, false])">buy</button>
  <a id="out" href="https://external.example.com/x" onclick="event.preventDefault()">elsewhere</a>
  <a id="pdf" href="/files/report.pdf" onclick="event.preventDefault()">report</a>
  <a id="next" href="/next.html">next page</a>""",
    ),
    "next": ("1", "", "<p>second page</p>"),
    "consent": (
        "2",
        "_paq.push(['requireConsent']);",
        """
  <button id="early" onclick="_paq.push(['trackEvent', 'Consent', 'BeforeConsent'])">early</button>
  <button id="accept" onclick="_paq.push(['rememberConsentGiven'])">accept</button>""",
    ),
    "consent-again": ("2", "_paq.push(['requireConsent']);", "<p>consent remembered</p>"),
    "optout": ("2", "_paq.push(['optUserOut']);", "<p>opted out</p>"),
    "cookieless": (
        "3",
        "_paq.push(['requireCookieConsent']);",
        """
  <button id="cookies" onclick="_paq.push(['setCookieConsentGiven'])">allow cookies</button>""",
    ),
}


#: Pages that load Matomo's own matomo.js (vendored, unchanged) from the site server instead of ours
#: from the collector; `setTrackerUrl` still points at the collector.
VENDORED_PAGES = {
    "order": (
        "1",
        """_paq.push(['addEcommerceItem', 'SKU1', 'Shoe', 'Footwear', 25, 1]);
  _paq.push(['trackEcommerceOrder', 'ORDER-7', 25]);""",
        "<p>thank you</p>",
    ),
    "goals": ("1", "_paq.push(['trackGoal', 1, 5]); _paq.push(['trackGoal', 1, 5]);", "<p>goal page</p>"),
    "landing": ("1", "_paq.push(['setConversionAttributionFirstReferrer', true]);", "<p>landing</p>"),
    "later": (
        "1",
        """_paq.push(['setConversionAttributionFirstReferrer', true]);
  _paq.push(['appendToTrackingUrl', 'new_visit=1']);""",
        """
  <button id="convert" onclick="_paq.push(['appendToTrackingUrl', '']); _paq.push(['trackGoal', 1, 7])">go</button>""",
    ),
    "timed": ("1", "", """<button id="event" onclick="_paq.push(['trackEvent', 'Page', 'Loaded'])">event</button>"""),
    "product": ("1", "_paq.push(['setEcommerceView', 'SKU-9', 'Shoe', ['Shoes', 'Sale'], 49.5]);", "<p>shoe</p>"),
}


def page_html(name: str, tracker: str) -> str:
    vendored = name.startswith("v-")
    idsite, calls, body = VENDORED_PAGES[name[2:]] if vendored else PAGES[name]
    script = "'/vendor/matomo.js'" if vendored else "u+'matomo.js'"
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{name} page</title>"
        f"{SNIPPET.format(calls=calls, tracker=tracker, idsite=idsite, script=script)}</head>"
        f"<body>{body}</body></html>"
    )


@pytest_asyncio.fixture
async def site_server() -> AsyncIterator[SiteServer]:
    server = SiteServer(
        lambda name, tracker: (
            page_html(name, tracker) if name in PAGES or name.removeprefix("v-") in VENDORED_PAGES else None
        )
    )
    await server.start()
    yield server
    await server.stop()


@pytest_asyncio.fixture
async def tracked(collector_factory: CollectorFactory, site_server: SiteServer) -> Any:
    """A collector with three sites, one per Matomo consent mode, all on the site server's origin."""
    origins = [site_server.origin]
    collector = await collector_factory(
        make_site(id="shop", origins=origins, matomo_idsite=1, matomo_consent="tracker_requires_consent"),
        make_site(id="consenting", origins=origins, matomo_idsite=2),
        make_site(id="anonymous", origins=origins, matomo_idsite=3, matomo_consent="cookieless"),
    )
    site_server.tracker = collector.url.removeprefix("http://")
    return collector


@pytest_asyncio.fixture
async def new_context(chromium: Any, tracked: Any) -> AsyncIterator[Callable[[], Any]]:
    contexts: list[Any] = []

    async def open_context() -> Tracked:
        context = await chromium.new_context(user_agent=DESKTOP_UA)
        contexts.append(context)
        return Tracked(context, tracked)

    yield open_context
    for context in contexts:
        await context.close()


async def test_matomo_browser_snippet_tracks_pages_events_links_and_orders(
    tracked: Any, site_server: SiteServer, new_context: Any
) -> None:
    browser = await new_context()
    page = await browser.context.new_page()
    await page.goto(
        f"{site_server.origin}/shop.html?mtm_campaign=spring&mtm_kwd=promo", referer="https://www.google.com/"
    )
    await browser.tracker_ready(page)
    for button in ("#play", "#search", "#goal", "#buy", "#out", "#pdf"):
        await page.click(button)
    await browser.settle(7)
    await browser.settle(len(browser.sent) + 1)  # a heartbeat ping (every second while the page is visible)
    visitor_id = await page.evaluate("Matomo.getAsyncTracker().getVisitorId()")
    cookies = {c["name"]: c["value"] for c in await browser.context.cookies()}
    await page.evaluate("Matomo.getAsyncTracker().disableHeartBeatTimer()")
    before = len(browser.sent)
    await page.click("#next")
    await page.wait_for_url("**/next.html")
    await browser.tracker_ready(page)
    await browser.settle(before + 1)
    await tracked.flush()

    assert cookies["_pk_id.1.dc78"].startswith(visitor_id + "."), "matomo.js's own cookie name and format"
    [visit] = visits(tracked)
    assert visit["visitor_hash"] == visitor_hash(tracked, visitor_id)
    assert (visit["pageviews"], visit["entry_title"], visit["exit_title"]) == (2, "shop page", "next page")
    assert (visit["channel"], visit["campaign_name"], visit["campaign_keyword"]) == ("campaign", "spring", "promo")
    assert visit["referrer_name"] == "Google" and visit["dimensions"] == {"1": "blue"}
    assert visit["user_hash"] == tracked.app[SERVICES].hasher.user("shop", hashlib.sha256(b"customer-42").hexdigest())
    assert (visit["browser"], visit["os"], visit["device"]) == ("Chrome", "Linux", "desktop")
    assert (visit["goals"], visit["revenue"]) == (2, pytest.approx(108.99))
    types = events_by_type(tracked)
    assert {t: types.get(t, 0) for t in (1001, 1002, 1003, 1004, 1005, 1006)} == {
        1001: 1,
        1002: 1,
        1003: 1,
        1004: 1,
        1005: 1,
        1006: 1,
    }
    assert types.get(1009, 0) >= 1 and types.get(1010, 0) >= 1
    links = {r[0]: r[1] for r in tracked.rows("SELECT type, link FROM {db}.events WHERE type IN (1003, 1004)")}
    assert links == {1003: "https://external.example.com/x", 1004: f"{site_server.origin}/files/report.pdf"}
    assert [p["page_num"] for p in pageviews(tracked)] == [1, 6], "page_num is the action number in the visit"


async def test_matomo_browser_require_consent_sends_nothing_before_consent(
    tracked: Any, site_server: SiteServer, new_context: Any
) -> None:
    browser = await new_context()
    page = await browser.context.new_page()
    await page.goto(f"{site_server.origin}/consent.html")
    await browser.tracker_ready(page)
    await page.click("#early")
    await browser.tracker_ready(page)
    assert browser.sent == [] and not [c for c in await browser.context.cookies() if c["name"].startswith("_pk_")]
    await page.click("#accept")
    await browser.settle(3)  # the queued page view and event, then a ping with the new visitor id
    assert all("consent=1" in request for request in browser.sent)
    visitor_id = await page.evaluate("Matomo.getAsyncTracker().getVisitorId()")

    again = await browser.context.new_page()
    await again.goto(f"{site_server.origin}/consent-again.html")
    await browser.settle(4)
    await tracked.flush()
    [visit] = visits(tracked)
    assert visit["visitor_hash"] == visitor_hash(tracked, visitor_id, "consenting")
    assert (visit["pageviews"], visit["consent_source"]) == (2, 1)
    assert events_by_type(tracked).get(1001) == 1
    grants = tracked.rows("SELECT DISTINCT decision, consent_source, ingest_path FROM {db}.consent_ledger")
    assert grants == [("grant", 1, "matomo")]


async def test_matomo_browser_opt_out_sends_nothing(tracked: Any, site_server: SiteServer, new_context: Any) -> None:
    browser = await new_context()
    page = await browser.context.new_page()
    await page.goto(f"{site_server.origin}/optout.html")
    await browser.tracker_ready(page)
    await page.evaluate("new Promise(done => window._paq.push(['trackEvent', 'After', 'OptOut'], [done]))")
    assert browser.sent == []
    cookies = {c["name"] for c in await browser.context.cookies()}
    assert "mtm_consent_removed" in cookies and not any(name.startswith("_pk_") for name in cookies)


async def test_matomo_browser_cookie_consent_is_anonymous_until_and_after_consent(
    tracked: Any, site_server: SiteServer, new_context: Any
) -> None:
    """requireCookieConsent on a cookieless-mode site: hits are sent without an id and stored
    anonymously; setCookieConsentGiven writes the cookie and pings with an id, which links nothing."""
    browser = await new_context()
    page = await browser.context.new_page()
    await page.goto(f"{site_server.origin}/cookieless.html")
    await browser.settle(1)
    assert "_id=&" in browser.sent[0]
    assert not [c for c in await browser.context.cookies() if c["name"].startswith("_pk_")]
    await page.click("#cookies")
    await browser.settle(2)
    visitor_id = await page.evaluate("Matomo.getAsyncTracker().getVisitorId()")
    assert f"_id={visitor_id}" in browser.sent[1]
    await tracked.flush()
    [visit] = visits(tracked)
    assert visit["cookieless"] == 1 and visit["visitor_hash"] != visitor_hash(tracked, visitor_id, "anonymous")
    assert visit["site"] == "anonymous" and tracked.count("consent_ledger") == 0


# ---- Matomo's own matomo.js (vendored 5.2.0-b5) counts as Matomo counts ----------------------------


async def _open_vendored(
    browser: Tracked,
    site_server: SiteServer,
    name: str,
    expected: int,
    query: str = "",
) -> Any:
    page = await browser.context.new_page()
    await page.goto(f"{site_server.origin}/v-{name}.html{query}")
    await browser.tracker_ready(page, vendored=True)
    await browser.settle(expected)
    return page


async def test_vendored_matomo_js_reloaded_order_page_stores_the_order_once(
    tracked: Any, site_server: SiteServer, new_context: Any
) -> None:
    from tests.support.matomo_semantics import panel_rows

    browser = await new_context()
    page = await _open_vendored(browser, site_server, "order", 2)
    await page.reload()
    await browser.tracker_ready(page, vendored=True)
    await browser.settle(4)
    assert sum("ec_id=ORDER-7" in request for request in browser.sent) == 2, "matomo.js sent the order twice"
    assert await metric(tracked, 'collector_requests_total{route="matomo",status="400"') >= 1
    await tracked.flush()
    [visit] = visits(tracked)
    assert (visit["goals"], visit["revenue"]) == (1, 25)
    [goals] = await panel_rows(tracked, "goals")
    assert (goals["conversions"], goals["revenue"]) == (1, 25)


async def test_vendored_matomo_js_goal_twice_in_a_visit_converts_once(
    tracked: Any, site_server: SiteServer, new_context: Any
) -> None:
    browser = await new_context()
    await _open_vendored(browser, site_server, "goals", 3)
    await tracked.flush()
    assert sum("idgoal=1" in request for request in browser.sent) == 2
    [visit] = visits(tracked)
    assert (visit["goals"], visit["revenue"]) == (1, 5)
    assert events_by_type(tracked).get(1005) == 1


async def test_vendored_matomo_js_campaigns_differing_in_case_are_one(
    tracked: Any, site_server: SiteServer, new_context: Any
) -> None:
    from tests.support.matomo_semantics import panel_rows

    for name in ("Spring", "spring"):
        browser = await new_context()
        await _open_vendored(browser, site_server, "landing", 1, f"?mtm_campaign={name}&mtm_kwd=Promo")
    await tracked.flush()
    assert [(v["campaign_name"], v["campaign_keyword"]) for v in visits(tracked)] == [("spring", "promo")] * 2
    [row] = await panel_rows(tracked, "campaigns")
    assert (row["campaign"], row["visits"]) == ("spring", 2)


async def test_vendored_matomo_js_later_direct_visit_keeps_its_channel_and_credits_the_campaign(
    tracked: Any, site_server: SiteServer, new_context: Any
) -> None:
    from tests.support.matomo_semantics import panel_rows

    browser = await new_context()
    await _open_vendored(browser, site_server, "landing", 1, "?mtm_campaign=Spring&mtm_kwd=Promo")
    page = await _open_vendored(browser, site_server, "later", 2)
    await page.click("#convert")
    await browser.settle(3)
    assert "_rcn=Spring" in browser.sent[-1] and "new_visit=1" not in browser.sent[-1]
    await tracked.flush()
    first, later = visits(tracked)
    assert (first["channel"], first["campaign_name"]) == ("campaign", "spring")
    assert (later["channel"], later["campaign_name"]) == ("direct", "")
    [(data,)] = tracked.rows("SELECT data FROM {db}.events WHERE type = 1005")
    credit = json.loads(data)["attribution"]
    assert (credit["channel"], credit["campaign_name"], credit["campaign_keyword"]) == ("campaign", "spring", "promo")
    channels = {row["channel"]: row["visits"] for row in await panel_rows(tracked, "channels")}
    assert channels == {"campaign": 1, "direct": 1}


async def test_vendored_matomo_js_page_performance_is_one_complete_row(
    tracked: Any, site_server: SiteServer, new_context: Any
) -> None:
    browser = await new_context()
    page = await _open_vendored(browser, site_server, "timed", 1)
    await page.wait_for_load_state("load")
    await page.wait_for_function("performance.getEntriesByType('navigation')[0].loadEventEnd > 0")
    await page.click("#event")
    await browser.settle(2)
    assert "pf_onl=" in browser.sent[-1], "the later hit carries the full set of timings"
    await tracked.flush()
    [(data,)] = tracked.rows("SELECT data FROM {db}.events WHERE type = 1010")
    assert set(json.loads(data)) == {"net", "srv", "tfr", "dm1", "dm2", "onl"}


async def test_vendored_matomo_js_product_view_is_stored_and_reported(
    tracked: Any, site_server: SiteServer, new_context: Any
) -> None:
    from tests.support.matomo_semantics import panel_rows

    browser = await new_context()
    await _open_vendored(browser, site_server, "product", 1)
    assert "_pks=SKU-9" in browser.sent[0]
    await tracked.flush()
    assert tracked.rows("SELECT key, value, text, num FROM {db}.events WHERE type = 1011") == [
        ("SKU-9", "Shoe", "Shoes, Sale", 49.5)
    ]
    [row] = await panel_rows(tracked, "product_views")
    assert (row["sku"], row["name"], row["views"], row["visitors"]) == ("SKU-9", "Shoe", 1, 1)
