"""What the beacon reports for heatmaps and frustration signals, with the real beacon in Debian's Chromium
against the real collector: clicks placed by the document size sent with them, a click's effect (a DOM change,
the page left, or nothing: a dead click) and JavaScript errors, masked."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.support.browser import UploadLog, collector_serving_pages, wait_until
from tests.support.collector import RunningCollector
from tests.support.dashboard import log_in

pytestmark = pytest.mark.browser

SITE = "proj123"
EMAIL = "jane.doe@example.com"
#: the demo page's "Sign up" button changes the page on click here; "Buy now" does nothing (a dead click)
REACTS = """document.querySelector('#signup').addEventListener('click', function () {
  var note = document.createElement('p'); note.textContent = 'Thanks!'; document.body.appendChild(note);
});"""


async def _accepted(new_page: Any, collector: Any) -> tuple[Any, UploadLog]:
    page = await new_page()
    log = UploadLog().attach(page.context)
    await page.goto(f"{collector.url}/demo?site={SITE}&beacon=1&banner=1")
    await page.get_by_role("button", name="Accept all").click()
    await page.wait_for_function("window.wa && window.wa.started")
    return page, log


async def _page_box(page: Any, selector: str) -> dict[str, float]:
    """The element's box in page coordinates (what the click's x/y are)."""
    box: dict[str, float] = await page.evaluate(
        "s => { const r = document.querySelector(s).getBoundingClientRect();"
        " return {x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height}; }",
        selector,
    )
    return box


def _clicks(collector: RunningCollector) -> list[tuple[Any, ...]]:
    return collector.rows(
        "SELECT toUnixTimestamp64Milli(ts), pageview_id, x, y, doc_width, doc_height, text FROM {db}.events "
        "WHERE type = 9 ORDER BY ts"
    )


async def test_beacon_clicks_carry_the_document_size_and_land_on_their_element_in_the_heatmap(
    collector_factory: Any, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _accepted(new_page, collector)
    boxes = {"Buy now": await _page_box(page, "#buy")}
    await page.click("#buy")
    # later uploads: the scrolled page, then a click in an upload of its own
    await page.wait_for_timeout(1500)
    await page.mouse.wheel(0, 700)
    await page.wait_for_function("window.scrollY > 600")
    await page.wait_for_timeout(1500)
    boxes[""] = await _page_box(page, "#bottom")  # not a link, button or label: no text is sent
    await page.click("#bottom")
    await page.wait_for_timeout(1500)
    boxes["Sign up for the newslette"] = await _page_box(page, "#signup")  # texts are cut at 25 characters
    await page.click("#signup")
    size = await page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    await page.wait_for_timeout(1500)
    await page.goto("about:blank")

    async def three() -> int:
        await collector.flush()
        return len(_clicks(collector))

    assert await wait_until(three, seconds=30, until=lambda n: n == 3)
    sequences = [u.document["e"][1] for u in log.uploads if any(e[1] == 9 for e in u.document["a"])]
    assert len([s for s in sequences if s > 1]) >= 2, "clicks went out in later uploads too"
    stored = _clicks(collector)
    for _, _, x, y, doc_width, doc_height, text in stored:
        box = boxes[text]
        assert box["x"] <= x <= box["x"] + box["width"] and box["y"] <= y <= box["y"] + box["height"], text
        assert [doc_width, doc_height] == size, "every click row knows the document it was on"

    analyst = await log_in(collector)
    try:
        cells = (await analyst.api("heatmap_clicks", site=SITE, period="7d", page="/demo"))["rows"]
    finally:
        await analyst.close()
    assert sum(cell["clicks"] for cell in cells) == 3, "every beacon click is in the heatmap"
    width = size[0]
    for cell in cells:
        # the cell's centre, back in page pixels, is on one of the clicked elements (within one 5 px cell)
        px, py = cell["x"] * width, cell["y"] * width
        assert any(
            b["x"] - 5 <= px <= b["x"] + b["width"] + 5 and b["y"] - 5 <= py <= b["y"] + b["height"] + 5
            for b in boxes.values()
        ), cell


async def test_beacon_reports_what_a_click_did_so_dead_clicks_are_told_from_live_ones(
    collector_factory: Any, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, log = await _accepted(new_page, collector)
    await page.evaluate(REACTS)
    await page.click("#buy")
    await page.wait_for_timeout(1500)
    await page.click("#signup")
    await page.wait_for_timeout(1500)
    await page.click("#next")  # leaves the page within the second after the click
    await page.wait_for_url("**/demo/second?**")
    await page.goto("about:blank")

    async def markers() -> list[tuple[Any, ...]]:
        await collector.flush()
        return collector.rows(
            "SELECT toUnixTimestamp64Milli(ts), pageview_id, data FROM {db}.events WHERE type = 6 ORDER BY ts"
        )

    assert await wait_until(markers, seconds=30, until=lambda rows: len(rows) == 2)
    clicks = collector.rows(
        "SELECT toUnixTimestamp64Milli(ts), pageview_id, text FROM {db}.events WHERE type = 9 ORDER BY ts"
    )
    assert [text for *_, text in clicks] == ["Buy now", "Sign up for the newslette", "Next page"]
    found = await markers()

    def after(click: tuple[Any, ...]) -> list[int]:
        """The effects reported within 1 s of a click, on its page view."""
        return [orjson.loads(data)[0] for t, pv, data in found if pv == click[1] and click[0] <= t <= click[0] + 1000]

    assert after(clicks[0]) == [], "nothing happened after 'Buy now': a dead click"
    assert after(clicks[1]) == [1], "the DOM changed after 'Sign up'"
    assert after(clicks[2]) == [2], "the page view ended after 'Next page'"

    # the same on what the dashboards' dead-click rule reads: stored payloads, in page time
    events = [e for (p,) in collector.rows("SELECT payload FROM {db}.playback") for e in orjson.loads(p)["a"]]
    payload_clicks = sorted(e[0] for e in events if e[1] == 9)
    effects = [(e[0], e[2]) for e in events if e[1] == 6]
    assert [[kind for t, kind in effects if c <= t <= c + 1000] for c in payload_clicks] == [[], [1], [2]]


async def test_beacon_reports_javascript_errors_masked_and_without_a_stack(
    collector_factory: Any, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page, _ = await _accepted(new_page, collector)
    await page.evaluate(f"setTimeout(function () {{ throw new Error('card declined for {EMAIL}'); }})")
    await page.evaluate(f"Promise.reject(new Error('lookup failed for {EMAIL}')); 0")
    await page.wait_for_timeout(1500)
    await page.goto("about:blank")

    async def errors() -> list[tuple[Any, ...]]:
        await collector.flush()
        return collector.rows("SELECT data FROM {db}.events WHERE type = 31 ORDER BY ts")

    assert await wait_until(errors, seconds=30, until=lambda rows: len(rows) == 2)
    stored = [orjson.loads(row[0]) for row in await errors()]
    messages = sorted(str(e[0]) for e in stored)
    assert messages[0].startswith("card declined for ") and messages[1].startswith("lookup failed for "), messages
    assert all(EMAIL not in str(e) and "jane.doe" not in str(e) for e in stored), "the message is masked"
    assert all(e[3] == "" for e in stored), "no stack"
