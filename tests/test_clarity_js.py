"""The real, unmodified clarity-js (npm) in Debian's Chromium, uploading to the collector."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from aiohttp import web

from collector.identity import Hasher

from .browser import browser, new_page, screenshot, wait_until  # noqa: F401  (pytest fixtures)
from .conftest import free_port, make_site

pytestmark = pytest.mark.browser

EMAIL, CARD, NAME = "jane.doe@example.com", "4111 1111 1111 1111", "Jane Typedname"
SECRETS = (EMAIL, CARD, CARD.replace(" ", ""), "Typedname", "jane.doe")


async def _collector_for_pages(collector_factory: Any, **site_options: Any) -> Any:
    """A collector whose own origin is the site's origin (it serves the /demo pages)."""
    port = free_port()
    return await collector_factory(make_site(origins=[f"http://127.0.0.1:{port}"], **site_options), port=port)


def _stored(collector: Any) -> int:
    return sum(collector.count(t) for t in ("pageviews", "events", "playback"))


def _all_text(collector: Any) -> str:
    database = collector.storage.database
    parts = []
    for table, column in collector.rows(
        "SELECT table, name FROM system.columns WHERE database = '{db}' AND type LIKE '%String%'"
    ):
        query = f"SELECT toString(`{column}`) FROM `{database}`.`{table}`"
        parts += [str(v[0]) for v in collector.storage.query_rows(query)]
    return "\n".join(parts)


async def _use_the_form(page: Any) -> None:
    await page.fill("#name", NAME)
    await page.type("#email", EMAIL, delay=5)
    await page.type("#card", CARD, delay=5)
    await page.click("#buy")
    await page.mouse.wheel(0, 900)
    await page.wait_for_timeout(300)


async def _dropped(collector: Any, reason: str) -> float:
    async with collector.http.get(collector.url + "/metrics") as response:
        text = await response.text()
    prefix = f'collector_dropped_total{{reason="{reason}",unit="payload"}}'
    line = next((x for x in text.splitlines() if x.startswith(prefix)), "x 0")
    return float(line.split()[-1])


async def test_clarity_js_with_explicit_consent_stores_pages_clicks_playback_and_no_typed_value(
    collector_factory: Any, new_page: Any  # noqa: F811
) -> None:
    collector = await _collector_for_pages(collector_factory)
    page = await new_page()
    await page.goto(f"{collector.url}/demo?site=proj123&clarity=1")
    await page.evaluate("clarity('consentv2', {ad_Storage: 'denied', analytics_Storage: 'granted'})")
    await _use_the_form(page)
    await page.wait_for_timeout(1500)
    await page.click("#next")
    await page.wait_for_selector("text=second page")
    await page.click("#buy")
    await page.wait_for_timeout(1200)
    await page.goto("about:blank")

    def complete() -> bool:
        return collector.count("pageviews", "ended = 1") >= 2 and collector.count("events", "type = 9") >= 2

    assert await wait_until(lambda: complete(), seconds=30)
    pages = collector.rows("SELECT page_num, max(ended), max(url) FROM {db}.pageviews GROUP BY page_num ORDER BY 1")
    assert [p[0] for p in pages] == [1, 2], "the root-relative upload survives the second page view"
    assert pages[1][2].endswith("/demo/second?site=proj123&clarity=1")
    assert collector.count("playback", "sequence = 1") == 2, "first uploads (gzip) stored"
    assert collector.count("playback", "is_end = 1") == 2, "final beacons (text/plain) stored"
    assert collector.count("events", "type = 27") >= 1, "input events are kept, masked"
    sources = {r[0] for r in collector.rows("SELECT consent_source FROM {db}.pageviews")}
    assert sources == {5, 6}, "page 1 by consentv2, page 2 by clarity's remembered (cookie) consent"
    stored = _all_text(collector)
    for secret in SECRETS:
        assert secret not in stored


@pytest.mark.parametrize("options", ["clarity=1", "clarity=1&track=0"], ids=["implicit", "track_false"])
async def test_clarity_js_without_consent_stores_nothing(
    collector_factory: Any, new_page: Any, options: str  # noqa: F811
) -> None:
    collector = await _collector_for_pages(collector_factory)
    page = await new_page()
    await page.goto(f"{collector.url}/demo?site=proj123&{options}")
    await _use_the_form(page)
    await page.wait_for_timeout(1500)
    await page.goto("about:blank")
    assert await wait_until(lambda: False, seconds=1.5) is False
    await collector.flush()
    assert await _dropped(collector, "no_consent") >= 2, "the uploads arrived and were refused"
    assert _stored(collector) == 0
    assert collector.count("consent_ledger") == 0


async def test_clarity_js_consent_then_withdrawal_stores_nothing_after_the_refusal(
    collector_factory: Any, new_page: Any  # noqa: F811
) -> None:
    collector = await _collector_for_pages(collector_factory)
    page = await new_page()
    await page.goto(f"{collector.url}/demo?site=proj123&clarity=1")
    await page.evaluate("clarity('consentv2', {ad_Storage: 'denied', analytics_Storage: 'granted'})")
    await page.evaluate("clarity('event', 'before-withdrawal')")
    await page.click("#buy")
    assert await wait_until(lambda: collector.count("events", "key = 'before-withdrawal'") == 1)
    await page.evaluate("clarity('consent', false)")
    await page.wait_for_timeout(800)
    await page.evaluate("clarity('event', 'after-withdrawal')")
    await _use_the_form(page)
    await page.wait_for_timeout(1500)
    await page.goto("about:blank")
    await page.wait_for_timeout(1000)
    await collector.flush()
    assert collector.count("events", "key = 'after-withdrawal'") == 0
    assert collector.rows("SELECT uniqExact(pageview_id) FROM {db}.pageviews") == [(1,)], (
        "the page view started after consent(false) left no row"
    )
    assert await _dropped(collector, "no_consent") + await _dropped(collector, "withdrawn") >= 1


async def test_clarity_js_custom_events_and_identify_are_stored_hashed(
    collector_factory: Any, new_page: Any  # noqa: F811
) -> None:
    collector = await _collector_for_pages(collector_factory)
    page = await new_page()
    await page.goto(f"{collector.url}/demo?site=proj123&clarity=1")
    await page.evaluate("clarity('consentv2', {ad_Storage: 'granted', analytics_Storage: 'granted'})")
    await page.evaluate("clarity('event', 'signup'); clarity('identify', 'customer-42')")
    await page.wait_for_timeout(1500)
    await page.goto("about:blank")
    assert await wait_until(lambda: collector.count("pageviews", "user_hash != ''") == 1)
    expected = Hasher(b"test-secret-key").user("proj123", hashlib.sha256(b"customer-42").hexdigest())
    assert collector.rows("SELECT max(user_hash) FROM {db}.pageviews") == [(expected,)]
    assert collector.count("events", "type = 24 AND key = 'signup'") == 1
    assert "customer-42" not in _all_text(collector)
    assert collector.rows("SELECT ad FROM {db}.consent_ledger") == [(1,)]


async def test_clarity_js_cross_origin_upload_with_credentials(collector_factory: Any, new_page: Any) -> None:  # noqa: F811
    """The page on one origin, the collector on another: CORS must echo the origin with credentials."""
    site_port = free_port()
    site_origin = f"http://127.0.0.1:{site_port}"
    collector = await collector_factory(make_site(origins=[site_origin]))

    async def page_handler(request: web.Request) -> web.Response:
        return web.Response(content_type="text/html", text=f"""<!doctype html><html><head><title>Shop</title>
<script src="{collector.url}/clarity.js"></script>
<script>clarity("start", {{projectId: "proj123", upload: "{collector.url}/collect"}});
clarity("consentv2", {{ad_Storage: "denied", analytics_Storage: "granted"}});</script></head>
<body><h1>Cross-origin shop</h1><button id="buy">Buy</button></body></html>""")

    app = web.Application()
    app.router.add_get("/", page_handler)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", site_port).start()
    try:
        page = await new_page()
        failures: list[str] = []
        page.on("requestfailed", lambda request: failures.append(request.url))
        await page.goto(site_origin + "/")
        await page.click("#buy")
        await page.wait_for_timeout(1500)
        await page.goto("about:blank")
        assert await wait_until(lambda: collector.count("playback") >= 2)
        assert collector.count("events", "type = 9") == 1
        assert not [u for u in failures if "/collect" in u]
    finally:
        await runner.cleanup()
