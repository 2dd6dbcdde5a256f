"""The real, unmodified clarity-js (npm) in Debian's Chromium, uploading to the collector."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from tests.support.browser import UploadLog, all_stored_text, collector_serving_pages, metric, stored_rows, wait_until
from tests.support.collector import CollectorFactory, RunningCollector, make_site, services

pytestmark = pytest.mark.browser

EMAIL, CARD, NAME = "jane.doe@example.com", "4111 1111 1111 1111", "Jane Typedname"
SECRETS = (EMAIL, CARD, CARD.replace(" ", ""), "Typedname", "jane.doe")
GRANT = "clarity('consentv2', {ad_Storage: 'denied', analytics_Storage: 'granted'})"


async def _open(new_page: Any, collector: RunningCollector, options: str = "clarity=1") -> tuple[Any, UploadLog]:
    page = await new_page()
    log = UploadLog().attach(page.context)
    await page.goto(f"{collector.url}/demo?site=proj123&{options}")
    await page.wait_for_function("window.clarity && window.clarity.v")
    return page, log


async def _use_the_form(page: Any) -> None:
    await page.fill("#name", NAME)
    await page.type("#email", EMAIL, delay=5)
    await page.type("#card", CARD, delay=5)
    await page.click("#buy")
    await page.mouse.wheel(0, 900)


def _sent(log: UploadLog, predicate: Any) -> bool:
    return any(predicate(e) for u in log.uploads for e in u.document.get("a", []))


async def _dropped(collector: RunningCollector, reason: str) -> float:
    return await metric(collector, "collector_dropped_total", reason=reason, unit="payload")


async def test_clarity_js_with_explicit_consent_stores_pages_clicks_playback_and_no_typed_value(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _open(new_page, collector)
    await page.evaluate(GRANT)
    await _use_the_form(page)
    assert await wait_until(lambda: any(u.gzipped and u.status == 204 for u in log.uploads)), "gzip XHR answered 204"
    assert await wait_until(lambda: _sent(log, lambda e: e[1] == 27)), "what was typed went out (masked by clarity-js)"
    # a single-page-app route change: clarity-js ends the page view with a text/plain beacon and starts the next
    await page.evaluate("history.pushState({}, '', '/demo/second?site=proj123&clarity=1&spa=1')")
    assert await wait_until(lambda: any(u.kind == "ping" and "text/plain" in u.content_type for u in log.uploads))
    assert await wait_until(lambda: any(u.document["e"][7] == 2 for u in log.uploads))
    await page.click("#buy")
    # a full navigation: the root-relative upload path survives in _clsk, and consent comes back from the cookie
    await page.click("#next")
    await page.wait_for_function("window.clarity && window.clarity.v")
    await page.click("#buy")
    assert await wait_until(lambda: any(u.document["e"][7] == 3 and u.status == 204 for u in log.uploads))
    await page.goto("about:blank")

    assert await wait_until(lambda: collector.rows("SELECT uniqExact(page_num) FROM {db}.pageviews") == [(3,)])
    assert await wait_until(lambda: collector.count("events", "type = 9") >= 3)
    pages = collector.rows(
        "SELECT page_num, max(consent_source), any(url) FROM {db}.pageviews GROUP BY page_num ORDER BY page_num"
    )
    assert [(p[0], p[1]) for p in pages] == [(1, 5), (2, 5), (3, 6)], "consentv2, same document, then the cookie"
    assert "spa=1" in pages[1][2] and "spa=1" not in pages[2][2]
    assert collector.rows("SELECT uniqExact(session_hash), uniqExact(visitor_hash) FROM {db}.pageviews") == [(1, 1)]
    assert collector.count("playback") >= 3 and collector.count("playback", "is_end = 1") >= 1
    assert collector.count("events", "type = 27") >= 1, "input events are kept, masked"
    assert {(u.status, u.reply) for u in log.uploads if u.status is not None} == {(204, b"")}
    stored = all_stored_text(collector)
    for secret in SECRETS:
        assert secret not in stored


@pytest.mark.parametrize("options", ["clarity=1", "clarity=1&track=0"], ids=["implicit", "track_false"])
async def test_clarity_js_without_consent_stores_nothing(
    collector_factory: CollectorFactory, new_page: Any, options: str
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _open(new_page, collector, options)
    await _use_the_form(page)
    assert await wait_until(lambda: any(u.status == 204 for u in log.uploads)), "clarity-js did upload"
    await page.goto("about:blank")
    assert await wait_until(lambda: _dropped(collector, "no_consent"), until=lambda dropped: dropped >= 2)
    await collector.flush()
    assert stored_rows(collector) == 0
    assert collector.count("consent_ledger") == 0, "an implicit or default state is not a decision"
    assert EMAIL not in all_stored_text(collector)


async def test_clarity_js_consent_then_withdrawal_stores_nothing_after_the_refusal(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _open(new_page, collector)
    await page.evaluate(GRANT)
    await page.evaluate("clarity('event', 'before-withdrawal')")
    await page.click("#buy")
    assert await wait_until(lambda: collector.count("events", "key = 'before-withdrawal'") == 1)
    await page.evaluate("clarity('consent', false)")
    # clarity-js ends the page view, forgets its cookies and restarts as a new page view with 0/0
    assert await wait_until(lambda: _sent(log, lambda e: e[1] == 47 and e[2:5] == [4, 0, 0]))
    await page.evaluate("clarity('event', 'after-withdrawal')")
    await _use_the_form(page)
    assert await wait_until(lambda: _sent(log, lambda e: e[1] == 24 and "after-withdrawal" in e[2:]))
    await page.goto("about:blank")
    await collector.flush()
    assert collector.count("events", "key = 'after-withdrawal'") == 0
    assert collector.rows("SELECT uniqExact(pageview_id) FROM {db}.pageviews") == [(1,)], (
        "the page view started after consent(false) left no row"
    )
    assert collector.rows(
        "SELECT decision, consent_source, visitor_hash FROM {db}.consent_ledger WHERE decision = 'deny'"
    ) == [("deny", 4, 0)], "the refusal reached the ledger, anonymously"
    assert not {c["name"] for c in await page.context.cookies()} & {"_clck", "_clsk"}
    for secret in SECRETS:
        assert secret not in all_stored_text(collector)


async def test_clarity_js_custom_events_and_identify_are_stored_hashed(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, _ = await _open(new_page, collector)
    await page.evaluate("clarity('consentv2', {ad_Storage: 'granted', analytics_Storage: 'granted'})")
    await page.evaluate("clarity('event', 'signup'); clarity('identify', 'customer-42'); clarity('set', 'plan', 'pro')")
    assert await wait_until(lambda: collector.count("pageviews", "user_hash != ''") >= 1)
    expected = services(collector).hasher.user("proj123", hashlib.sha256(b"customer-42").hexdigest())
    assert collector.rows("SELECT max(user_hash) FROM {db}.pageviews") == [(expected,)]
    assert await wait_until(lambda: collector.count("events", "type = 24 AND key = 'signup'") == 1)
    assert "customer-42" not in all_stored_text(collector)
    assert collector.rows("SELECT ad, analytics FROM {db}.consent_ledger") == [(1, 1)]


async def test_clarity_js_cross_origin_upload_with_credentials(
    collector_factory: CollectorFactory, new_page: Any, page_server: Any
) -> None:
    """The page on one origin, the collector on another: CORS must echo the origin with credentials."""
    urls: dict[str, str] = {}
    site_url = await page_server(
        lambda: (
            f"""<!doctype html><html><head><title>Shop</title>
<script src="{urls["collector"]}/clarity.js"></script>
<script>clarity("start", {{projectId: "proj123", upload: "{urls["collector"]}/collect"}});
clarity("consentv2", {{ad_Storage: "denied", analytics_Storage: "granted"}});</script></head>
<body><h1>Cross-origin shop</h1><button id="buy">Buy</button></body></html>"""
        )
    )
    collector = await collector_factory(make_site(origins=[site_url.rstrip("/")]))
    urls["collector"] = collector.url
    page = await new_page()
    log = UploadLog().attach(page.context)
    failures: list[str] = []
    page.on("requestfailed", lambda request: failures.append(request.url))
    await page.goto(site_url)
    await page.click("#buy")
    assert await wait_until(lambda: collector.count("events", "type = 9") == 1)
    assert [u.status for u in log.uploads if u.kind == "xhr"][:1] == [204]
    assert not [u for u in failures if "/collect" in u], "the credentialed XHR passed CORS"


async def test_clarity_js_driven_by_the_banner_alone(collector_factory: CollectorFactory, new_page: Any) -> None:
    """banner.js without our beacon: its decision reaches clarity-js as consentv2, first explicit (5), then
    remembered (6) on the next page, and nothing is stored before the choice. On the grant banner.js
    restarts clarity-js, so the page the visitor accepted on is recorded whole (a DOM snapshot) from then."""
    collector = await collector_serving_pages(collector_factory)
    page, log = await _open(new_page, collector, "clarity=1&track=0&banner=1")
    await page.click("#buy")
    assert await wait_until(lambda: any(u.status == 204 for u in log.uploads)), "clarity-js uploads before the choice"
    await page.get_by_role("button", name="Accept all").click()
    # cookie-less until the grant, so the restarted page view keeps page number 1 and starts at sequence 1
    assert await wait_until(lambda: collector.count("playback", "page_num = 1 AND sequence = 1") == 1), (
        "the restarted page view starts whole"
    )
    await page.click("#buy")
    buy = "type = 9 AND target_tag = 'button' AND text = 'Buy now'"
    assert await wait_until(lambda: collector.count("events", f"{buy} AND page_num = 1") == 1)
    await page.click("#next")
    await page.wait_for_function("window.waConsent && window.waConsent.state")
    await page.click("#buy")
    assert await wait_until(lambda: collector.count("events", f"{buy} AND page_num = 2") == 1)
    assert collector.rows("SELECT page_num, max(consent_source) FROM {db}.pageviews GROUP BY 1 ORDER BY 1") == [
        (1, 5),
        (2, 6),
    ]
    assert collector.count("events", f"{buy} AND page_num = 1") == 1, "the click before the choice is not stored"
    assert collector.rows("SELECT decision, consent_source, ad, ingest_path FROM {db}.consent_ledger ORDER BY ts")[
        0
    ] == ("grant", 5, 1, "clarity")
    assert await page.locator(".wa-banner").count() == 0, "the remembered choice is not asked again"
