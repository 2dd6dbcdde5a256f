"""Frustration signals, heatmaps per layout and recordings against a scripted ground truth: the real clarity-js in
Chromium on the /demo pages, two device sizes, and our beacon for a visit that has nothing to replay.

The script knows what it did (which element each click hit, which bursts it made, where it scrolled, what it
threw), and every figure the dashboard API gives must equal that exactly; the heatmap points must land on the
element that was clicked in the recorded page rendered for their layout.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from tests.support.browser import collector_serving_pages, screenshot, wait_until
from tests.support.dashboard import PASSWORD, SITE, accounts, log_in

pytestmark = pytest.mark.browser

MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)
#: makes the page's title react to a click (a DOM change), so clicks on it are never dead
REACTING_TITLE = """() => { const t = document.getElementById('title'); let n = 0;
  t.addEventListener('click', () => { n += 1; t.textContent = 'Demo shop ' + n; }); }"""
PAUSE_S = 1.3  # longer than the rage gap and the dead-click window: separates what the script does


@dataclass
class Truth:
    """What the script did, per layout."""

    rage: Counter[str] = field(default_factory=Counter)
    dead: Counter[str] = field(default_factory=Counter)
    clicks: dict[str, Counter[str]] = field(default_factory=dict)
    bursts: list[int] = field(default_factory=list)
    quick_backs: int = 0
    excessive_scrolls: int = 0
    errors: int = 0

    def click(self, layout: str, element: str, n: int = 1) -> None:
        self.clicks.setdefault(layout, Counter())[element] += n


async def _centre(page: Any, selector: str) -> tuple[float, float]:
    box = await page.locator(selector).bounding_box()
    return box["x"] + box["width"] / 2, box["y"] + box["height"] / 2


async def _burst(page: Any, selector: str, n: int, gap_ms: int, jitter: int = 0) -> None:
    x, y = await _centre(page, selector)
    for i in range(n):
        await page.mouse.click(x + (i % 3 - 1) * jitter, y + (i % 2) * jitter)
        await asyncio.sleep(gap_ms / 1000)


async def _ready(page: Any) -> None:
    await page.wait_for_function("window.clarity && window.clarity.v")


async def desktop_visit(new_page: Any, url: str, truth: Truth) -> None:
    """Page A: rage bursts of 4, 3, 6 and 3 clicks (one after a click elsewhere), dead clicks, excessive
    scrolling and a thrown error; then A → B → A within seconds (a quick back)."""
    page = await new_page()
    await page.goto(f"{url}/demo?site={SITE}&clarity=1")
    await _ready(page)
    await page.evaluate(REACTING_TITLE)
    await asyncio.sleep(0.5)
    layout = "desktop"

    async def burst(selector: str, n: int, dead: bool, jitter: int = 0) -> None:
        await _burst(page, selector, n, 150, jitter)
        truth.rage[layout] += 1
        truth.bursts.append(n)
        truth.dead[layout] += n if dead else 0
        truth.click(layout, selector, n)
        await asyncio.sleep(PAUSE_S)

    async def single(selector: str, dead: bool, pause: float = PAUSE_S) -> None:
        await page.mouse.click(*await _centre(page, selector))
        truth.dead[layout] += int(dead)
        truth.click(layout, selector)
        await asyncio.sleep(pause)

    await burst("#title", 4, dead=False)
    await single("#signup", dead=True)  # a custom event changes nothing on the page
    await burst("#buy", 3, dead=True)  # a button without a handler
    await single("#title", dead=False)
    await burst("#title", 6, dead=False, jitter=8)
    await single("#signup", dead=True, pause=0.3)  # a click elsewhere just before a burst does not break it
    await burst("#buy", 3, dead=True)
    # down, up, down, up: three changes of direction, timed in the page (not by round trips from this process)
    await page.evaluate(
        "async () => { for (const top of [1200, 0, 1200, 0]) { window.scrollTo(0, top); "
        "await new Promise((done) => setTimeout(done, 300)); } }"
    )
    truth.excessive_scrolls += 1
    await asyncio.sleep(PAUSE_S)
    await page.evaluate("setTimeout(() => { throw new Error('insights test failure'); }, 0)")
    truth.errors += 1
    await asyncio.sleep(PAUSE_S)
    await page.click("#next")  # a link: never dead
    truth.click(layout, "#next")
    await page.wait_for_url("**/demo/second**")
    await _ready(page)
    await asyncio.sleep(2)
    await page.click("#next")  # back to /demo within seconds
    truth.click("second page", "#next")
    await page.wait_for_url("**/demo?**")
    truth.quick_backs += 1
    await _ready(page)
    await asyncio.sleep(2)
    await page.goto("about:blank")


async def mobile_visit(browser: Any, url: str, truth: Truth) -> None:
    """A phone: one rage burst on the title and one dead click."""
    context = await browser.new_context(
        user_agent=MOBILE_UA,
        viewport={"width": 390, "height": 844},
        is_mobile=True,
        has_touch=True,
        device_scale_factor=1,
    )
    page = await context.new_page()
    await page.goto(f"{url}/demo?site={SITE}&clarity=1")
    await _ready(page)
    await page.evaluate(REACTING_TITLE)
    await asyncio.sleep(0.5)
    await _burst(page, "#title", 3, 150)
    truth.rage["mobile"] += 1
    truth.bursts.append(3)
    truth.click("mobile", "#title", 3)
    await asyncio.sleep(PAUSE_S)
    await page.mouse.click(*await _centre(page, "#buy"))
    truth.dead["mobile"] += 1
    truth.click("mobile", "#buy")
    await asyncio.sleep(PAUSE_S)
    await page.goto("about:blank")
    await context.close()


async def beacon_visit(new_page: Any, url: str, truth: Truth) -> None:
    """Our beacon only: page views and clicks (on the desktop heatmap too), nothing to replay."""
    page = await new_page()
    await page.goto(f"{url}/demo?site={SITE}&beacon=1&banner=1")
    await page.click("[data-wa=accept]")
    await page.wait_for_function("window.wa && window.wa.started")
    await page.click("#buy")
    truth.click("desktop", "#buy")
    await asyncio.sleep(1.5)
    await page.goto("about:blank")


async def scripted(collector_factory: Any, new_page: Any, browser: Any) -> tuple[Any, Truth]:
    collector = await collector_serving_pages(collector_factory, consent="loader")
    truth = Truth()
    await desktop_visit(new_page, collector.url, truth)
    await mobile_visit(browser, collector.url, truth)
    await beacon_visit(new_page, collector.url, truth)
    expected_clicks = sum(sum(c.values()) for c in truth.clicks.values()) - 1  # one is the beacon's

    async def arrived() -> bool:
        await collector.flush()
        return (
            collector.count("events", "type = 9 AND source = 'clarity'") >= expected_clicks
            and collector.count("events", "type = 31") >= 1
            and collector.count("events", "source = 'beacon'") > 0
            and collector.count("playback", "is_end = 1") >= 4
        )

    assert await wait_until(arrived, seconds=60), "every upload arrived"
    return collector, truth


def _by(rows: list[dict[str, Any]], key: str, value: str) -> dict[str, int]:
    return {r[key]: r[value] for r in rows}


async def test_insights_signals_heatmaps_and_recordings_equal_the_scripted_ground_truth(
    collector_factory: Any, new_page: Any, browser: Any
) -> None:
    collector, truth = await scripted(collector_factory, new_page, browser)
    analyst = await log_in(collector)
    try:
        await _api_counts(collector, analyst, truth)
    finally:
        await analyst.close()
    page = await _dashboard(browser, collector)
    await _insights_page(page, collector, truth)
    for layout in ("desktop", "mobile"):
        await _heatmap_lands_on_the_clicked_elements(page, collector, truth, layout)
    await _replay_with_timeline(page, collector)


async def _dashboard(browser: Any, collector: Any) -> Any:
    await collector.storage.run(accounts(collector).save_analyst, "viewer", PASSWORD)
    context = await browser.new_context(viewport={"width": 1400, "height": 900})
    page = await context.new_page()
    await page.goto(f"{collector.url}/dashboard/login")
    await page.fill("input[name=name]", "viewer")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/dashboard/traffic**")
    return page


async def _insights_page(page: Any, collector: Any, truth: Truth) -> None:
    await page.goto(f"{collector.url}/dashboard/insights?site={SITE}&period=today")
    assert await wait_until(lambda: page.evaluate("document.body.dataset.ready || ''"), seconds=60)
    rage = page.locator('[data-signal="rage_click"] .value')
    assert await rage.inner_text() == str(sum(truth.rage.values()))
    assert await page.locator('[data-signal="quick_back"] .value').inner_text() == str(truth.quick_backs)
    await screenshot(page, "insights-page", full_page=True)
    await page.click('[data-signal="quick_back"]')
    await page.wait_for_url("**/dashboard/recordings?**signal=quick_back**")
    cards = page.locator(".rec")
    assert await wait_until(lambda: page.locator('[data-panel="recordings"]').get_attribute("data-ready"))
    assert await cards.count() == 1 and "quick back" in await cards.first.inner_text()
    await screenshot(page, "insights-recordings-quick-back", element=page.locator('[data-panel="recordings"]'))


#: the elements the script clicked on /demo
CLICKED = ("#title", "#buy", "#signup", "#next")


async def _heatmap_lands_on_the_clicked_elements(page: Any, collector: Any, truth: Truth, layout: str) -> None:
    """Every click cell of the layout, drawn where the page draws it, falls on the element the script clicked,
    in the recorded view of that layout (element boxes measured in the rendered snapshot)."""
    await page.goto(f"{collector.url}/dashboard/heatmaps?site={SITE}&period=today&page=/demo&layout={layout}")
    stage = page.locator("#stage")
    assert await wait_until(lambda: stage.get_attribute("data-ready"), seconds=60)
    assert await stage.get_attribute("data-ready") == "1", await page.locator("#heatmap-status").inner_text()
    frame = page.frame_locator("#page-frame")
    width = await frame.locator("html").evaluate("e => e.scrollWidth")
    boxes = {}
    for selector in CLICKED:
        boxes[selector] = await frame.locator(selector).evaluate(
            "e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; }"
        )
    cells = await page.evaluate(
        f"fetch('/dashboard/api/v1/heatmap_clicks?site={SITE}&period=today&page=/demo&layout={layout}')"
        ".then(r => r.json())"
    )
    landed: Counter[str] = Counter()
    tolerance = 3  # a cell is 1/200 of the document width: its centre is within 2.5 px of the click
    for cell in cells["rows"]:
        x, y = cell["x"] * width, cell["y"] * width
        hit = [
            s
            for s, (left, top, right, bottom) in boxes.items()
            if left - tolerance <= x <= right + tolerance and top - tolerance <= y <= bottom + tolerance
        ]
        assert len(hit) == 1, (layout, cell, boxes)
        landed[hit[0]] += cell["clicks"]
    assert landed == truth.clicks[layout], layout
    await page.select_option("#mode", "areas")
    await screenshot(page, f"insights-heatmap-{layout}-areas", element=page.locator(".stage-card").first)
    await page.select_option("#mode", "clicks")
    await screenshot(page, f"insights-heatmap-{layout}-clicks", element=page.locator(".stage-card").first)
    await page.select_option("#mode", "attention")
    await screenshot(page, f"insights-heatmap-{layout}-attention", element=page.locator(".stage-card").first)


async def _replay_with_timeline(page: Any, collector: Any) -> None:
    await page.goto(f"{collector.url}/dashboard/recordings?site={SITE}&period=today&signal=rage_click")
    assert await wait_until(lambda: page.locator('[data-panel="recordings"]').get_attribute("data-ready"))
    await page.locator(".rec", has_text="desktop").click()
    player = page.locator("#player")
    assert await wait_until(lambda: player.get_attribute("data-ready"), seconds=60)
    assert await player.get_attribute("data-ready") == "1", await page.locator("#page-label").inner_text()
    items = page.locator("#timeline li")
    assert await items.count() > 20
    error = page.locator("#timeline li.js_error").first
    await error.click()
    at = int(await error.get_attribute("data-at"))
    clock = await page.locator("#clock").inner_text()
    assert clock.split(" / ")[0] == f"{at // 60000}:{at // 1000 % 60:02d}" or at % 1000 >= 500
    assert await page.get_attribute("#previous", "href"), "the mobile recording is before it in the filtered list"
    await screenshot(page, "insights-replay-timeline", element=page.locator("#player"))
    await page.keyboard.press("p")
    await page.wait_for_url("**/dashboard/replay?**")


async def _api_counts(collector: Any, analyst: Any, truth: Truth) -> None:
    summary = _by((await analyst.api("insights", site=SITE, period="today"))["rows"], "signal", "occurrences")
    assert summary == {
        "rage_click": sum(truth.rage.values()),
        "dead_click": sum(truth.dead.values()),
        "quick_back": truth.quick_backs,
        "excessive_scroll": truth.excessive_scrolls,
        "js_error": truth.errors,
    }
    for layout in ("desktop", "mobile"):
        rage = (await analyst.api("rage_clicks", site=SITE, period="today", device=layout))["rows"]
        assert sum(r["rage_clicks"] for r in rage) == truth.rage[layout], layout
        dead = (await analyst.api("dead_clicks", site=SITE, period="today", device=layout))["rows"]
        assert sum(r["dead_clicks"] for r in dead) == truth.dead[layout], layout
    pages = (await analyst.api("insights_pages", site=SITE, period="today"))["rows"]
    assert [p["page"] for p in pages] == ["/demo"], "every signal happened on /demo (the quick back too)"
    errors = (await analyst.api("js_errors", site=SITE, period="today"))["rows"]
    assert [e["errors"] for e in errors] == [1] and "insights test failure" in errors[0]["message"]
    trend = (await analyst.api("insights_trend", site=SITE, period="today"))["rows"]
    assert sum(r["rage_click"] for r in trend) == sum(truth.rage.values())

    recordings = (await analyst.api("recordings", site=SITE, period="today"))["rows"]
    beacon_sessions = collector.rows("SELECT uniqExact(session_hash) FROM {db}.pageviews WHERE source = 'beacon'")
    assert beacon_sessions == [(1,)], "the beacon visit is stored"
    assert len(recordings) == 2, "only the two clarity-js visits can be replayed"
    by_device = {r["device"]: r for r in recordings}
    assert by_device["desktop"]["rage_clicks"] == truth.rage["desktop"]
    assert by_device["desktop"]["dead_clicks"] == truth.dead["desktop"]
    assert sorted(by_device["desktop"]["tags"]) == sorted(
        ["rage_click", "dead_click", "quick_back", "excessive_scroll", "js_error"]
    )
    assert by_device["desktop"]["pageviews"] == 3 and by_device["mobile"]["pageviews"] == 1
    # the desktop recording holds every desktop click but the beacon visit's one
    desktop_clicks = sum(truth.clicks["desktop"].values()) - 1 + sum(truth.clicks["second page"].values())
    assert by_device["desktop"]["clicks"] == desktop_clicks
    assert by_device["mobile"]["tags"] == ["rage_click", "dead_click"]
    for signal, expected in (("quick_back", ["desktop"]), ("rage_click", ["desktop", "mobile"])):
        listed = (await analyst.api("recordings", site=SITE, period="today", signal=signal))["rows"]
        assert sorted(r["device"] for r in listed) == expected, signal

    timeline = (
        await analyst.api(
            "recording_timeline", site=SITE, period="today", recording=by_device["desktop"]["recording"], limit=1000
        )
    )["rows"]
    kinds = Counter(r["kind"] for r in timeline)
    assert kinds["page"] == 3 and kinds["click"] == desktop_clicks
    assert kinds["rage_click"] == truth.rage["desktop"] and kinds["js_error"] == 1 and kinds["quick_back"] == 1
    assert [r["at_ms"] for r in timeline] == sorted(r["at_ms"] for r in timeline) and timeline[0]["at_ms"] >= 0
