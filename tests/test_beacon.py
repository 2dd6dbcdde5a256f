"""Our first-party beacon and its consent banner in Debian's Chromium, against the collector."""

from __future__ import annotations

import gzip
import re
import subprocess
import time
from typing import Any

import pytest

from .browser import browser, new_page, screenshot, wait_until  # noqa: F401  (pytest fixtures)
from .conftest import ROOT, free_port, make_site

pytestmark = pytest.mark.browser
DATA_TABLES = ("pageviews", "events", "playback")
PAGE = "/demo?site=proj123&beacon=1&banner=1"


async def _collector_for_pages(collector_factory: Any) -> Any:
    port = free_port()
    return await collector_factory(make_site(origins=[f"http://127.0.0.1:{port}"]), port=port)


def _stored(collector: Any) -> int:
    return sum(collector.count(t) for t in DATA_TABLES)


async def _open(new_page: Any, collector: Any, path: str = PAGE, **options: Any) -> Any:  # noqa: F811
    page = await new_page(**options)
    page.collect_requests = []
    page.on("request", lambda r: page.collect_requests.append(r) if r.url.endswith("/collect") else None)
    await page.route("https://example.org/**", lambda route: route.fulfill(body="<h1>partner</h1>",
                                                                          content_type="text/html"))
    await page.goto(collector.url + path)
    return page


async def test_beacon_banner_accept_all_measures_pages_clicks_scroll_links_and_spa(
    collector_factory: Any, new_page: Any  # noqa: F811
) -> None:
    collector = await _collector_for_pages(collector_factory)
    page = await _open(new_page, collector)
    banner = page.get_by_role("dialog", name="Your privacy choices")
    await banner.wait_for()
    await screenshot(page, "beacon_banner")
    assert page.collect_requests == [], "nothing is sent before a choice"
    accept, reject = page.get_by_role("button", name="Accept all"), page.get_by_role("button", name="Reject all")
    accept_box, reject_box = await accept.bounding_box(), await reject.bounding_box()
    assert abs(accept_box["width"] - reject_box["width"]) < 2 and accept_box["height"] == reject_box["height"], (
        "accept and reject have equal prominence"
    )
    await accept.click()
    await banner.wait_for(state="detached")
    buy = await page.locator("#buy").bounding_box()
    await page.click("#buy")
    await page.mouse.wheel(0, 1200)
    await page.wait_for_timeout(600)
    await page.evaluate("wa('event', 'signup', 'pro')")
    await page.evaluate("document.getElementById('download').addEventListener('click', e => e.preventDefault())")
    await page.click("#download")
    await page.evaluate("history.pushState({}, '', '/demo?site=proj123&beacon=1&banner=1&step=2')")
    await page.wait_for_timeout(300)
    await page.click("#outbound")
    assert await wait_until(lambda: collector.count("events", "type = 24 AND key = 'outbound'") == 1)
    assert await wait_until(lambda: collector.count("pageviews", "ended = 1") >= 2)

    pages = collector.rows("SELECT page_num, any(source), max(consent_source) FROM {db}.pageviews GROUP BY page_num "
                           "ORDER BY page_num")
    assert pages[:2] == [(1, "beacon", 5), (2, "beacon", 5)], "a history change starts a new page view"
    clicks = collector.rows("SELECT x, y, target_hash FROM {db}.events WHERE type = 9 AND target_tag = 'button'")
    assert len(clicks) == 1
    x, y, target_hash = clicks[0]
    assert buy["x"] <= x <= buy["x"] + buy["width"] and buy["y"] <= y <= buy["y"] + buy["height"]
    assert re.fullmatch(r"[0-9a-z]+\.[0-9a-z]+", target_hash)
    assert collector.rows("SELECT max(y) FROM {db}.events WHERE type = 10")[0][0] > 500, "scroll depth"
    assert collector.rows("SELECT key, value FROM {db}.events WHERE type = 24 AND key = 'signup'") == [
        ("signup", "pro")
    ]
    assert collector.count("events", "type = 24 AND key = 'download' AND value LIKE '%/report.pdf'") == 1
    assert collector.rows("SELECT link FROM {db}.events WHERE type = 9 AND link LIKE 'https://example.org%'")
    ledger = collector.rows(
        "SELECT decision, consent_source, analytics, ad, categories_granted, page_num FROM {db}.consent_ledger "
        "INNER JOIN (SELECT DISTINCT pageview_id, page_num FROM {db}.pageviews) AS p USING (pageview_id) ORDER BY ts"
    )
    granted = ["necessary", "analytics", "marketing"]
    assert ledger == [("grant", 5, 1, 1, granted, 1), ("grant", 5, 1, 1, granted, 2)], "one proof per page view"


async def test_beacon_banner_reject_all_sends_no_data_and_records_an_anonymous_refusal(
    collector_factory: Any, new_page: Any  # noqa: F811
) -> None:
    collector = await _collector_for_pages(collector_factory)
    page = await _open(new_page, collector)
    await page.get_by_role("button", name="Reject all").click()
    await page.click("#buy")
    await page.mouse.wheel(0, 800)
    await page.goto("about:blank")
    assert await wait_until(lambda: collector.count("consent_ledger") == 1)
    assert collector.rows("SELECT decision, visitor_hash, pageview_id FROM {db}.consent_ledger") == [("deny", 0, 0)]
    assert _stored(collector) == 0
    assert len(page.collect_requests) == 1, "only the refusal itself was sent"


async def test_beacon_banner_customise_grants_only_the_chosen_categories(
    collector_factory: Any, new_page: Any  # noqa: F811
) -> None:
    collector = await _collector_for_pages(collector_factory)
    page = await _open(new_page, collector)
    customise = page.locator("[data-wa=customise]")
    assert await customise.text_content() == "Customise"
    await customise.click()
    assert await customise.get_attribute("aria-expanded") == "true"
    await page.get_by_label("Analytics").check()
    assert await page.get_by_label("Necessary (always on)").is_disabled()
    await page.get_by_role("button", name="Save my choices").click()
    await page.click("#buy")
    assert await wait_until(lambda: collector.count("events", "type = 9") == 1)
    ledger = collector.rows("SELECT analytics, ad, categories_granted, categories_denied FROM {db}.consent_ledger")
    assert ledger == [(1, 0, ["necessary", "analytics"], ["marketing"])]


async def test_beacon_banner_is_keyboard_usable(collector_factory: Any, new_page: Any) -> None:  # noqa: F811
    collector = await _collector_for_pages(collector_factory)
    page = await _open(new_page, collector)
    await page.get_by_role("dialog").wait_for()
    assert await page.evaluate("document.activeElement.textContent") == "Accept all", "focus moves into the banner"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Reject all"
    await page.keyboard.press("Enter")
    await page.get_by_role("dialog").wait_for(state="detached")
    assert await wait_until(lambda: collector.count("consent_ledger", "decision = 'deny'") == 1)


async def test_beacon_choice_is_remembered_six_months_then_asked_again(
    collector_factory: Any, new_page: Any  # noqa: F811
) -> None:
    collector = await _collector_for_pages(collector_factory)
    page = await _open(new_page, collector)
    await page.get_by_role("button", name="Accept all").click()
    await page.click("#buy")
    assert await wait_until(lambda: collector.count("events", "type = 9") == 1)
    await page.reload()
    await page.click("#buy")
    assert await page.get_by_role("dialog").count() == 0, "the choice is remembered"
    assert await wait_until(lambda: collector.count("events", "type = 9") == 2)
    assert collector.count("pageviews", "consent_source = 6") >= 1, "a remembered choice is sent as cookie consent"
    await page.clock.install(time=time.time() + 184 * 86400)
    sent_before = len(page.collect_requests)
    await page.reload()
    await page.get_by_role("dialog").wait_for()
    await page.click("#buy")
    await page.wait_for_timeout(800)
    assert len(page.collect_requests) == sent_before, "after six months nothing is sent until a new choice"
    await screenshot(page, "beacon_banner_after_six_months")


async def test_beacon_change_my_choice_withdraws(collector_factory: Any, new_page: Any) -> None:  # noqa: F811
    collector = await _collector_for_pages(collector_factory)
    page = await _open(new_page, collector)
    await page.get_by_role("button", name="Accept all").click()
    await page.evaluate("wa('event', 'before')")
    await page.click("#buy")
    assert await wait_until(lambda: collector.count("events", "key = 'before'") == 1)
    await page.click("#change")
    await page.get_by_role("dialog").wait_for()
    await page.evaluate("wa('event', 'after')")
    await page.click("#buy")
    assert await wait_until(lambda: collector.count("consent_ledger", "decision = 'withdraw'") == 1)
    await page.wait_for_timeout(500)
    await collector.flush()
    assert collector.count("events", "key = 'after'") == 0
    assert await page.evaluate("localStorage.getItem('wa_consent')") is None


async def test_beacon_honours_global_privacy_control(collector_factory: Any, new_page: Any) -> None:  # noqa: F811
    collector = await _collector_for_pages(collector_factory)
    page = await new_page()
    await page.add_init_script("Object.defineProperty(navigator, 'globalPrivacyControl', {get: () => true})")
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url) if r.url.endswith("/collect") else None)
    await page.goto(collector.url + PAGE)
    await page.wait_for_timeout(500)
    assert await page.get_by_role("dialog").count() == 0
    await page.evaluate("wa('consent', {analytics: true})")
    await page.click("#buy")
    await page.wait_for_timeout(500)
    assert requests == []


async def test_beacon_banner_drives_clarity_js(collector_factory: Any, new_page: Any) -> None:  # noqa: F811
    """One decision for both clients: accepting in the banner calls clarity('consentv2', …)."""
    collector = await _collector_for_pages(collector_factory)
    page = await _open(new_page, collector, "/demo?site=proj123&beacon=1&banner=1&clarity=1")
    await page.click("#buy")
    await page.wait_for_timeout(1200)
    assert _stored(collector) == 0
    await page.get_by_role("button", name="Accept all").click()
    await page.click("#buy")
    await page.wait_for_timeout(1500)
    await page.goto("about:blank")
    assert await wait_until(lambda: {r[0] for r in collector.rows("SELECT DISTINCT source FROM {db}.pageviews")}
                            == {"beacon", "clarity"})
    assert collector.count("playback") >= 1, "clarity's recording starts at the banner's grant"


def test_beacon_build_is_under_its_size_budget() -> None:
    output = subprocess.run(["node", "scripts/build_beacon.mjs"], cwd=ROOT, capture_output=True, text=True,
                            check=True).stdout
    gzipped = int(re.search(r"(\d+) B gzipped", output).group(1))  # type: ignore[union-attr]
    built = (ROOT / "collector" / "static" / "dist" / "beacon.min.js").read_bytes()
    assert gzipped == len(gzip.compress(built, 9)) or abs(gzipped - len(gzip.compress(built, 9))) < 64
    assert gzipped < 6 * 1024
    assert b".value" not in built, "the beacon never reads input values"
