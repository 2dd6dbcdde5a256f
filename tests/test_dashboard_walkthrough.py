"""The analyst walkthrough of docs/dashboards.md, end to end in Chromium: a visitor browses the demo site with the
real clarity-js and the consent banner, accepts, types into the form and clicks; an analyst then logs
in and sees that visit in the traffic overview, a click heatmap of the demo page and its replay, and
pulls the same numbers as CSV and as a pandas DataFrame.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
from typing import Any

import pytest

from dashboards import frame
from tests.support.browser import UploadLog, collector_serving_pages, screenshot, wait_until
from tests.support.collector import CollectorFactory, RunningCollector
from tests.support.dashboard import PASSWORD, accounts, with_token

pytestmark = pytest.mark.asyncio
SITE = "proj123"
TYPED = "jane.doe@example.com"


async def visitor_browses_the_demo_site(collector: RunningCollector, new_page: Any) -> None:
    page = await new_page()
    log = UploadLog().attach(page.context)
    await page.goto(f"{collector.url}/demo?site={SITE}&clarity=1&track=0&banner=1")
    await page.wait_for_function("window.clarity && window.clarity.v")
    await page.get_by_role("button", name="Accept all").click()
    await page.wait_for_timeout(600)  # banner.js restarts clarity-js so the page is recorded whole from here
    await page.type("#email", TYPED, delay=5)
    await page.click("#buy", click_count=3)  # three clicks in one input sequence: a burst on a loaded machine too
    await page.mouse.wheel(0, 1200)
    await page.wait_for_timeout(300)
    await page.click("#next")
    await page.wait_for_function("window.clarity && window.clarity.v")
    await page.click("#buy")
    assert await wait_until(lambda: any(u.document["e"][7] == 2 and u.status == 204 for u in log.uploads))
    await page.goto("about:blank")
    await page.context.close()


async def test_dashboard_walkthrough_from_demo_visit_to_csv_and_dataframe(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)
    await visitor_browses_the_demo_site(collector, new_page)
    assert await wait_until(lambda: collector.rows("SELECT uniqExact(page_num) FROM {db}.pageviews") == [(2,)])
    assert await wait_until(lambda: collector.count("events", "type = 9 AND text = 'Buy now'") >= 4), collector.rows(
        "SELECT page_num, type, text FROM {db}.events ORDER BY ts"
    )
    await collector.flush()
    demo_path = collector.rows("SELECT path(any(url)) FROM {db}.pageviews WHERE page_num = 1")[0][0]

    await collector.storage.run(accounts(collector).save_analyst, "analyst", PASSWORD)
    page = await new_page()
    await page.goto(f"{collector.url}/dashboard/")
    await page.fill("input[name=name]", "analyst")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(re.compile(r"/dashboard/traffic"))
    figures = page.locator("#figures")
    assert await wait_until(lambda: figures.inner_text(), until=lambda t: "PAGE VIEWS\n2" in t.upper())
    assert "VISITS\n1" in (await figures.inner_text()).upper()
    await screenshot(page, "walkthrough-traffic", full_page=True)

    await page.goto(f"{collector.url}/dashboard/heatmaps?site={SITE}&period=today&page={demo_path}")
    stage = page.locator("#stage")
    assert await wait_until(lambda: stage.get_attribute("data-ready"), until=lambda v: v in ("1", "error"))
    assert await stage.get_attribute("data-ready") == "1", await page.locator("#heatmap-status").inner_text()
    recorded = await page.frame_locator("#page-frame").locator("body").inner_text()
    assert "Welcome to the demo shop" in recorded and TYPED not in recorded
    assert (
        "3 clicks" in await page.locator("#heatmap-status").inner_text()
        or "4 clicks" in await page.locator("#heatmap-status").inner_text()
    )
    await screenshot(page, "walkthrough-heatmap", element=page.locator(".stage-card"))

    await page.goto(f"{collector.url}/dashboard/recordings?site={SITE}&period=today")
    link = page.locator("a[href*='/dashboard/replay']").first
    assert await wait_until(lambda: link.count())
    await link.click()
    player = page.locator("#player")
    assert await wait_until(lambda: player.get_attribute("data-ready"), until=lambda v: v in ("1", "error"))
    replayed = page.frame_locator("#replay-frame").locator("body")
    assert await wait_until(lambda: replayed.inner_text(), until=lambda t: "Welcome to the demo shop" in t)
    assert await page.locator("#page-label").inner_text() == "page 1 of 2"
    await screenshot(page, "walkthrough-replay", element=page.locator("#stage"))

    # the same numbers as CSV (the link on the traffic page) and as a DataFrame
    csv_text = await page.evaluate(
        f"fetch('/dashboard/api/v1/top_pages.csv?site={SITE}&period=today').then(r => r.text())"
    )
    from_csv = {row["page"]: int(row["pageviews"]) for row in csv.DictReader(io.StringIO(csv_text))}
    assert sum(from_csv.values()) == 2 and from_csv[demo_path] == 1
    script = await with_token(collector)
    token = script.extra_headers["Authorization"].removeprefix("Bearer ")
    await script.close()
    df = await asyncio.to_thread(frame, "top_pages", site=SITE, period="today", url=collector.url, token=token)
    assert dict(zip(df["page"], df["pageviews"], strict=True)) == from_csv
    overview = await asyncio.to_thread(frame, "overview", site=SITE, period="today", url=collector.url, token=token)
    assert overview.set_index("metric").loc["visits", "value"] == 1

    # three quick clicks on "Buy now" are a rage click, and a button that changes nothing gives dead clicks
    rage = await asyncio.to_thread(frame, "rage_clicks", site=SITE, period="today", url=collector.url, token=token)
    assert rage["text"].tolist() == ["Buy now"] and rage["rage_clicks"].tolist() == [1]
    assert rage["page"].tolist() == [demo_path]
    dead = await asyncio.to_thread(frame, "dead_clicks", site=SITE, period="today", url=collector.url, token=token)
    assert "Buy now" in dead["text"].tolist()
    assert not any("Next" in label for label in dead["text"]), "a link is never a dead click"
    raging = await asyncio.to_thread(
        frame, "recordings", site=SITE, period="today", rage=1, url=collector.url, token=token
    )
    assert len(raging) == 1 and raging["rage_clicks"].tolist() == [1]
