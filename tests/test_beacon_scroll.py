"""Excessive scrolling on pages measured by our beacon alone: the real beacon in Debian's Chromium against the real
collector sends its scroll positions (not only new maximum depths), so scrolling down and up again and again is
found by the same rule as for clarity-js, and a page only read downwards is not."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.support.browser import collector_serving_pages, wait_until
from tests.support.dashboard import log_in

pytestmark = pytest.mark.browser

SITE = "proj123"
PAUSE_S = 0.7  # longer than the beacon's scroll throttle (250 ms): each position is measured


async def _scroll(page: Any, tops: tuple[int, ...]) -> None:
    for top in tops:
        await page.evaluate(f"window.scrollTo(0, {top})")
        await page.wait_for_function(f"Math.abs(window.scrollY - {top}) < 2")
        await asyncio.sleep(PAUSE_S)


async def test_beacon_scrolling_up_and_down_is_excessive_scrolling_and_reading_down_is_not(
    collector_factory: Any, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    page = await new_page()
    await page.goto(f"{collector.url}/demo?site={SITE}&beacon=1&banner=1")
    await page.get_by_role("button", name="Accept all").click()
    await page.wait_for_function("window.wa && window.wa.started")
    await _scroll(page, (1200, 0, 1200, 0))  # down, up, down, up: three changes of direction
    await page.click("#next")
    await page.wait_for_url("**/demo/second?**")
    await page.wait_for_function("window.wa && window.wa.started")
    await _scroll(page, (300, 700, 1100))  # reading down only
    await page.goto("about:blank")

    async def positions() -> list[tuple[Any, ...]]:
        await collector.flush()
        return collector.rows(
            "SELECT page_num, groupArray(y) FROM (SELECT page_num, y FROM {db}.events WHERE type = 10 ORDER BY ts) "
            "GROUP BY page_num ORDER BY page_num"
        )

    assert await wait_until(positions, seconds=60, until=lambda rows: len(rows) == 2 and rows[1][1][-1] > 1000)
    first, second = [ys for _, ys in await positions()]
    assert collector.count("pageviews", "source != 'beacon'") == 0, "the beacon alone measured these pages"
    turns = [y for y in first if y in (0, 1200)]
    assert [k for i, k in enumerate(turns) if i == 0 or k != turns[i - 1]] == [0, 1200, 0, 1200, 0], first
    assert second == sorted(second), second

    analyst = await log_in(collector)
    try:
        summary = (await analyst.api("insights", site=SITE, period="today"))["rows"]
        pages = (await analyst.api("insights_pages", site=SITE, period="today"))["rows"]
    finally:
        await analyst.close()
    assert {r["signal"]: r["occurrences"] for r in summary}["excessive_scroll"] == 1
    assert {p["page"]: p["excessive_scroll"] for p in pages} == {"/demo": 1}
