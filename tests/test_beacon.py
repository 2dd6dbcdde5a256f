"""Our first-party beacon and its consent banner in Debian's Chromium, against the real collector."""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from tests.support.browser import (
    UploadLog,
    all_stored_text,
    collector_serving_pages,
    metric,
    screenshot,
    stored_rows,
    wait_until,
)
from tests.support.collector import CollectorFactory, RunningCollector, make_site, services

pytestmark = pytest.mark.browser

EMAIL, CARD = "jane.doe@example.com", "4111 1111 1111 1111"
SECRETS = (EMAIL, CARD, CARD.replace(" ", ""), "jane.doe")
NO_NAVIGATION = """document.addEventListener("click", function (e) {
  if (e.target.closest("#outbound, #download")) { e.preventDefault(); }
});"""


def _demo(collector: RunningCollector, path: str = "/demo", **options: str) -> str:
    query = {"site": "proj123", "beacon": "1", "banner": "1", **options}
    return collector.url + path + "?" + "&".join(f"{k}={v}" for k, v in query.items())


async def _open(new_page: Any, **context_options: Any) -> tuple[Any, UploadLog]:
    page = await new_page(**context_options)
    return page, UploadLog().attach(page.context)


def _ledger(collector: RunningCollector, where: str = "1") -> list[tuple[Any, ...]]:
    return collector.rows(
        "SELECT decision, consent_source, analytics, ad, categories_granted, categories_denied, ingest_path, "
        f"visitor_hash = 0 FROM {{db}}.consent_ledger WHERE {where} ORDER BY ts"
    )


def _answered(log: UploadLog, predicate: Any) -> bool:
    """Did an upload holding an event that matches reach the collector and get its 204?"""
    return any(u.status == 204 and any(predicate(e) for e in u.document.get("a", [])) for u in log.uploads)


async def _remembered(page: Any) -> Any:
    """Wait for the banner to have published the remembered choice; return it."""
    await page.wait_for_function("window.waConsent && window.waConsent.state && window.wa && window.wa.started")
    return await page.evaluate("({analytics: waConsent.state.analytics, marketing: waConsent.state.marketing})")


async def _collect_requests(collector: RunningCollector) -> float:
    return sum([await metric(collector, "collector_requests_total", route="collect", status=s) for s in ("204", "403")])


async def test_beacon_accept_all_after_nothing_sent_stores_pages_clicks_scroll_and_events(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _open(new_page)
    await page.goto(_demo(collector))
    banner = page.get_by_role("dialog", name="Your privacy choices")
    await banner.wait_for()
    # before any choice: interactions, a custom event and a page change (the unload path) send nothing
    await page.click("#buy")
    await page.mouse.wheel(0, 600)
    await page.evaluate("wa('event', 'before-choice')")
    await page.click("#next")
    await banner.wait_for()
    assert log.requested == 0 and await _collect_requests(collector) == 0

    await page.get_by_role("button", name="Accept all").click()
    assert await banner.is_hidden()
    await page.evaluate(NO_NAVIGATION)
    buy = await page.locator("#buy").bounding_box()
    await page.click("#buy")
    assert await wait_until(lambda: log.requested >= 1)
    first = log.uploads[0].document
    assert first["e"][1] == 1 and first["a"][0][1:5] == [47, 5, 1, 1], "the choice comes first, nothing before it"
    await page.click("#signup")
    await page.click("#outbound")
    await page.click("#download")
    await page.evaluate("wa('identify', 'customer-42')")
    await page.mouse.move(400, 400)
    await page.mouse.wheel(0, 1400)
    await page.wait_for_function("window.scrollY > 1000")
    # a single-page-app route change starts a new page view
    await page.evaluate("history.pushState({}, '', '/demo/virtual?site=proj123')")
    await page.click("#buy")
    # a full page load: the remembered choice is sent with source 6 (cookie)
    await page.click("#next")
    await page.wait_for_url("**/demo?**")
    assert await _remembered(page) == {"analytics": True, "marketing": True}
    await page.click("#buy")
    await page.goto("about:blank")

    assert await wait_until(lambda: collector.settled_count("pageviews", "ended = 1"), until=lambda n: n == 3)
    pages = collector.rows(
        "SELECT page_num, any(url), max(consent_source), uniqExact(visitor_hash), uniqExact(session_hash), "
        "max(scroll_bottom), max(doc_height), max(user_hash), any(source) FROM {db}.pageviews GROUP BY page_num "
        "ORDER BY page_num"
    )
    assert [p[0] for p in pages] == [1, 2, 3]
    assert [p[1].split("?")[0].split("127.0.0.1")[1].split("/", 1)[1] for p in pages] == [
        "demo/second",
        "demo/virtual",
        "demo",
    ]
    assert [p[2] for p in pages] == [5, 5, 6], "explicit choice, same document, then remembered (cookie)"
    assert collector.rows("SELECT uniqExact(visitor_hash), uniqExact(session_hash) FROM {db}.pageviews") == [(1, 1)]
    assert pages[0][5] > 1400 and pages[0][6] >= pages[0][5], "scroll depth measured against the document"
    assert all(p[6] > 0 for p in pages), "every page view, however quick, carries its document size"
    customer = services(collector).hasher.user("proj123", hashlib.sha256(b"customer-42").hexdigest())
    assert pages[0][7] == customer and "customer-42" not in all_stored_text(collector)
    assert {p[8] for p in pages} == {"beacon"}

    clicks = collector.rows("SELECT x, y, target_hash, target_tag, text FROM {db}.events WHERE type = 9")
    assert all(x > 0 and y > 0 and re.fullmatch(r"[0-9a-z]+", h) for x, y, h, _, _ in clicks), "one selector hash"
    assert ("button", "Buy now") in {(c[3], c[4]) for c in clicks}
    x, y = next((x, y) for x, y, _, tag, text in clicks if text == "Buy now")
    assert buy["x"] <= x <= buy["x"] + buy["width"] and buy["y"] <= y <= buy["y"] + buy["height"], "page coordinates"
    customs = dict(collector.rows("SELECT key, any(value) FROM {db}.events WHERE type = 24 GROUP BY key"))
    assert customs["signup"] == "newsletter"
    assert customs["outbound"] == "https://example.org/partner"
    assert customs["download"].endswith("/demo/files/report.pdf")
    assert "before-choice" not in customs
    engaged = collector.rows("SELECT max(toUInt64(value)) FROM {db}.events WHERE type = 24 AND key = 'engagement'")
    assert engaged[0][0] > 0
    assert collector.count("events", "type = 10") >= 1 and collector.count("events", "type = 8") >= 3
    ledger = _ledger(collector)
    assert [(d, s, a, ad, g, den, path) for d, s, a, ad, g, den, path, _ in ledger] == [
        ("grant", 5, 1, 1, ["necessary", "analytics", "marketing"], [], "beacon"),
        ("grant", 5, 1, 1, ["necessary", "analytics", "marketing"], [], "beacon"),
        ("grant", 6, 1, 1, ["necessary", "analytics", "marketing"], [], "beacon"),
    ]
    # every upload answered (a loaded machine can report an answer after the rows are already counted)
    assert await wait_until(lambda: log.uploads and all(u.status is not None for u in log.uploads), seconds=60)
    assert {u.status for u in log.uploads} == {204} and not any(u.reply for u in log.uploads)


async def test_beacon_reject_all_stores_nothing_and_the_refusal_reaches_the_ledger_anonymously(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _open(new_page)
    await page.goto(_demo(collector))
    await page.get_by_role("button", name="Reject all").click()
    assert await wait_until(lambda: collector.count("consent_ledger") == 1)
    assert _ledger(collector) == [("deny", 5, 0, 0, ["necessary"], ["analytics", "marketing"], "beacon", 1)]
    await page.click("#buy")
    await page.evaluate("wa('event', 'after-refusal')")
    assert await page.evaluate("localStorage.getItem('wa_ids')") is None, "no ids without consent"
    await page.mouse.wheel(0, 900)
    await page.click("#next")
    assert await _remembered(page) == {"analytics": False, "marketing": False}
    assert await page.locator(".wa-banner").count() == 0, "the refusal is remembered"
    await page.click("#buy")
    await page.goto("about:blank")
    await collector.flush()
    assert log.requested == 1, "only the refusal itself was sent"
    assert stored_rows(collector) == 0
    assert collector.count("consent_ledger") == 1


async def test_beacon_customise_drives_clarity_js_too_and_the_change_link_withdraws_both(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _open(new_page)
    await page.goto(_demo(collector, clarity="1", track="0"))
    await page.get_by_role("button", name="Customise").click()
    await page.get_by_role("checkbox", name="Analytics", exact=True).check()
    assert not await page.get_by_role("checkbox", name="Marketing", exact=True).is_checked()
    assert await page.get_by_role("checkbox", name="Necessary", exact=True).is_disabled()
    await page.get_by_role("button", name="Save my choices").click()
    await page.type("#email", EMAIL, delay=5)
    await page.type("#card", CARD, delay=5)
    await page.click("#buy")
    await page.click("#signup")

    def both_stored() -> bool:
        return collector.count("events", "type = 24 AND key = 'signup'") == 2

    assert await wait_until(both_stored, seconds=30)
    grants = _ledger(collector, "decision = 'grant'")
    # both clients report one page view (the beacon follows clarity-js): its one grant, from whichever came first
    assert [(s, a, ad, g, d) for _, s, a, ad, g, d, _, _ in grants] == [
        (5, 1, 0, ["necessary", "analytics"], ["marketing"])
    ], "one decision, one page view, marketing refused"
    assert {c["name"] for c in await page.context.cookies()} >= {"_clck"}

    await page.click("#change")
    await page.get_by_role("dialog", name="Your privacy choices").wait_for()
    assert await wait_until(lambda: collector.count("consent_ledger", "decision = 'withdraw'") == 1)
    assert _ledger(collector, "decision = 'withdraw'")[0][:4] == ("withdraw", 5, 0, 0)
    await page.evaluate("wa('event', 'after-withdrawal'); clarity('event', 'after-withdrawal')")
    await page.click("#buy")
    await page.type("#email", "second.person@example.com", delay=5)
    assert await page.evaluate("localStorage.getItem('wa_ids')") is None
    assert await wait_until(lambda: _answered(log, lambda e: e[1] == 24 and "after-withdrawal" in e[2:])), (
        "clarity-js (restarted cookie-less) did send it, and the collector answered"
    )
    await page.goto("about:blank")
    await collector.flush()
    assert collector.count("events", "key = 'after-withdrawal'") == 0
    assert collector.rows("SELECT uniqExact(pageview_id) FROM {db}.pageviews") == [(1,)], (
        "one page view for both clients, none after the withdrawal"
    )
    assert collector.rows(
        "SELECT arraySort(groupUniqArray(source)), uniqExact(pageview_id) FROM {db}.events WHERE key = 'signup'"
    ) == [(["beacon", "clarity"], 1)], "each client's own call of the site's event, on the one page view"
    assert not {c["name"] for c in await page.context.cookies()} & {"_clck", "_clsk"}
    stored = all_stored_text(collector)
    for secret in SECRETS + ("second.person",):
        assert secret not in stored


async def test_beacon_banner_asks_again_after_six_months(collector_factory: CollectorFactory, new_page: Any) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _open(new_page)
    await page.goto(_demo(collector))
    await page.get_by_role("button", name="Accept all").click()
    assert await wait_until(lambda: [e[2] for e in log.consent_events()] == [5])
    now = datetime.now(timezone.utc)

    later = await page.context.new_page()
    await later.clock.set_fixed_time(now + timedelta(days=182))
    await later.goto(_demo(collector, path="/demo/second"))
    assert await _remembered(later) == {"analytics": True, "marketing": True}
    assert await later.locator(".wa-banner").count() == 0, "a choice younger than 6 months is not asked again"
    assert await wait_until(lambda: [e[2] for e in log.consent_events()] == [5, 6]), "sent as remembered (6)"
    sent = log.requested

    much_later = await page.context.new_page()
    await much_later.clock.set_fixed_time(now + timedelta(days=184))
    await much_later.goto(_demo(collector))
    await much_later.get_by_role("dialog", name="Your privacy choices").wait_for()
    assert await much_later.evaluate("localStorage.getItem('wa_consent')") is None
    await much_later.click("#buy")
    await much_later.evaluate("wa('event', 'before-the-new-choice')")
    await much_later.get_by_role("button", name="Reject all").click()
    assert await wait_until(lambda: log.requested > sent)
    first = log.uploads[sent].document
    assert first["a"] == [[0, 47, 5, 0, 0, ["necessary"], ["analytics", "marketing"]]], (
        "the first thing this page sent is the new choice: nothing went out before it"
    )
    assert await much_later.locator(".wa-banner").is_hidden()


async def test_browser_banner_is_accessible_keyboard_usable_styleable_and_not_blank(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, _ = await _open(new_page)
    await page.goto(_demo(collector))
    dialog = page.get_by_role("dialog", name="Your privacy choices")
    await dialog.wait_for()
    assert await page.evaluate("document.activeElement.getAttribute('role')") == "dialog", "focus moves to it"
    description = await page.evaluate(
        "document.getElementById(document.activeElement.getAttribute('aria-describedby')).textContent"
    )
    assert "Nothing is collected unless you agree" in description
    await screenshot(page, "banner", element=dialog)
    await screenshot(page, "banner-page")

    accept, reject = page.get_by_role("button", name="Accept all"), page.get_by_role("button", name="Reject all")
    looks = (
        "b => { const s = getComputedStyle(b); return [s.backgroundColor, s.color, s.fontSize, s.fontWeight, "
        "s.borderTopWidth, s.paddingTop, Math.round(b.getBoundingClientRect().height)]; }"
    )
    assert await accept.evaluate(looks) == await reject.evaluate(looks), "accept and reject look the same"
    widths = [(await b.bounding_box())["width"] for b in (accept, reject)]
    assert abs(widths[0] - widths[1]) <= 1
    await page.add_style_tag(content=":root { --wa-button-bg: rgb(120, 20, 90); }")
    assert (await accept.evaluate("b => getComputedStyle(b).backgroundColor")) == "rgb(120, 20, 90)"

    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Accept all"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Reject all"
    await page.keyboard.press("Tab")
    await page.keyboard.press("Enter")
    assert await page.evaluate("document.activeElement.name") == "analytics"
    await page.keyboard.press("Space")
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.name") == "marketing"
    await page.keyboard.press("Tab")
    assert await page.evaluate("document.activeElement.textContent") == "Save my choices"
    await page.keyboard.press("Enter")
    assert await dialog.is_hidden()
    saved = await page.evaluate("JSON.parse(localStorage.getItem('wa_consent')).c")
    assert saved == {"analytics": True, "marketing": False}
    assert await wait_until(lambda: collector.count("consent_ledger", "decision = 'grant'") == 1)
    assert _ledger(collector)[0][:6] == ("grant", 5, 1, 0, ["necessary", "analytics"], ["marketing"])


@pytest.mark.parametrize(
    "signal",
    [
        "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {get: () => true})",
        "Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})",
    ],
    ids=["gpc", "dnt"],
)
async def test_beacon_honours_gpc_and_dnt_by_sending_nothing(
    collector_factory: CollectorFactory, new_page: Any, signal: str
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _open(new_page)
    await page.add_init_script(signal)
    await page.goto(_demo(collector))
    await page.wait_for_function("window.waConsent && window.waConsent.state")
    assert await page.locator(".wa-banner").count() == 0, "nothing to ask: the signal already refuses"
    await page.evaluate("wa('consent', {analytics: true, marketing: true}); wa('event', 'ignored')")
    assert await page.evaluate("localStorage.getItem('wa_ids')") is None, "no page view was started"
    assert await page.evaluate("waConsent.state.analytics") is False
    await page.click("#buy")
    await page.click("#next")
    await page.wait_for_selector("text=second page")
    await page.goto("about:blank")
    assert log.requested == 0 and await _collect_requests(collector) == 0


async def test_beacon_cross_origin_site_uploads_with_cors(
    collector_factory: CollectorFactory, new_page: Any, page_server: Any
) -> None:
    """The website on one origin, the collector on another: the beacon's uploads pass CORS."""
    urls: dict[str, str] = {}
    site_url = await page_server(
        lambda: (
            f"""<!doctype html><html><head><title>Shop</title></head><body>
<h1>Elsewhere</h1><button id="buy">Buy</button>
<script defer src="{urls["collector"]}/beacon.js" data-site="proj123" data-banner></script></body></html>"""
        )
    )
    collector = await collector_factory(make_site(origins=[site_url.rstrip("/")]))
    urls["collector"] = collector.url
    page, log = await _open(new_page)
    failures: list[str] = []
    page.on("requestfailed", lambda request: failures.append(request.url))
    await page.goto(site_url)
    await page.get_by_role("button", name="Accept all").click()
    await page.click("#buy")
    assert await wait_until(lambda: collector.count("events", "type = 9") == 1), "sent by fetch while the page is open"
    assert await wait_until(lambda: [u.status for u in log.uploads if u.kind == "fetch"] == [204])
    assert not failures, "CORS with credentials passed"
    change = page.get_by_role("button", name="Privacy choices")
    assert await change.is_visible(), "a page without its own change link gets one"
    await change.click()
    await page.get_by_role("dialog", name="Your privacy choices").wait_for()
    assert await wait_until(lambda: collector.count("consent_ledger", "decision = 'withdraw'") == 1)
