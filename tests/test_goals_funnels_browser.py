"""Goals and funnels in headless Chromium (Debian's): an analyst defines a goal and a funnel from the pages
alone, reads their figures, and opens the recordings of the visits that dropped off after a funnel step.

The data is the captured clarity-js uploads (seven recorded visits of /page.html, some with the custom
event `checkout_started`); the expected figures are counted straight in ClickHouse.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.support.browser import screenshot, wait_until
from tests.support.dashboard import SITE, dashboard_site, seed
from tests.support.dashboard_browser import logged_in_page
from tests.test_dashboard_browser import only_local

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]
EVENT = "checkout_started"


async def test_goal_and_funnel_defined_in_the_ui_and_a_step_opens_its_recordings(
    collector_factory: Any,
    new_page: Any,  # noqa: F811
) -> None:
    collector = await collector_factory(dashboard_site())
    await seed(collector, matomo=False)
    converted = collector.rows(
        "SELECT uniqExact(session_hash) FROM {db}.events WHERE site = {site:String} AND type = 24 AND key = {k:String}",
        site=SITE,
        k=EVENT,
    )[0][0]
    visits = collector.rows("SELECT uniqExact(session_hash) FROM {db}.pageviews WHERE site = {site:String}", site=SITE)[
        0
    ][0]
    # the visits that viewed /page.html and did not send the event afterwards: straight SQL
    dropped = {
        f"{h:x}"
        for (h,) in collector.rows(
            "SELECT p.session_hash FROM (SELECT session_hash, min(started_at) AS t FROM {db}.pageviews "
            "WHERE site = {site:String} AND path(url) = '/page.html' GROUP BY session_hash) AS p "
            "LEFT JOIN (SELECT session_hash, max(ts) AS e FROM {db}.events WHERE site = {site:String} AND type = 24 "
            "AND key = {k:String} GROUP BY session_hash) AS c ON c.session_hash = p.session_hash "
            "WHERE c.e < p.t OR c.session_hash = 0",
            site=SITE,
            k=EVENT,
        )
    }
    assert 0 < converted < visits and 0 < len(dropped) < visits, (converted, dropped, visits)

    page, requests, errors = await logged_in_page(collector, new_page, f"/dashboard/goals?site={SITE}&period=7d")
    # a goal, from the form
    await page.fill("#goal-form [name=name]", "Checkout started")
    await page.select_option("#goal-form [name=kind]", "custom_event")
    assert await page.locator("#goal-form [name=match]").is_hidden(), "page-only fields hide for other kinds"
    await page.fill("#goal-form [name=value]", EVENT)
    await page.fill("#goal-form [name=revenue]", "4")
    await page.click("#goal-save")
    table = page.locator('[data-panel="goal_conversions"] tbody')
    assert await wait_until(lambda: table.inner_text(), until=lambda t: "Checkout started" in t, seconds=60)
    row = (await table.inner_text()).split("\n")[0]
    cells = row.split("\t")
    assert cells[0] == "Checkout started" and cells[1] == f"custom event {EVENT}", cells
    assert cells[2] == str(converted), (cells, converted)
    assert cells[4] == f"{converted * 100 / visits:.1f}".rstrip("0").rstrip("."), cells
    # its breakdown, by device
    await page.click('[data-panel="goal_conversions"] tbody a')
    await page.select_option("#breakdown-by", "device")
    breakdown = page.locator("#breakdown tbody")
    assert await wait_until(lambda: breakdown.inner_text(), until=lambda t: "desktop" in t, seconds=60)
    # a bad pattern is refused with the field named, and nothing is added
    await page.fill("#goal-form [name=name]", "Broken")
    await page.select_option("#goal-form [name=kind]", "page")
    await page.select_option("#goal-form [name=match]", "pattern")
    await page.fill("#goal-form [name=value]", "(unclosed")
    await page.click("#goal-save")
    assert await wait_until(lambda: page.locator("#goal-error").inner_text(), until=lambda t: t.startswith("value"))
    assert await table.locator("tr").count() == 1
    await screenshot(page, "goals-page", full_page=True)

    # a funnel, from the form: /page.html, then the custom event
    await page.goto(collector.url + f"/dashboard/funnels?site={SITE}&period=7d")
    await page.fill("#funnel-form [name=name]", "Page to checkout")
    steps = page.locator("#funnel-steps .step")
    assert await wait_until(lambda: steps.count(), until=lambda n: n == 2)
    await steps.nth(0).locator("[name=value]").fill("/page.html")
    await steps.nth(1).locator("[name=kind]").select_option("custom_event")
    await steps.nth(1).locator("[name=value]").fill(EVENT)
    await steps.nth(1).locator("[name=label]").fill("Checkout")
    await page.click("#funnel-save")
    funnel_table = page.locator("#funnel-table tbody")
    assert await wait_until(lambda: funnel_table.inner_text(), until=lambda t: "Checkout" in t, seconds=60)
    first = (await funnel_table.locator("tr").nth(0).inner_text()).split("\t")
    assert first[:2] == ["1", "page exact /page.html"] and first[3] == str(visits), first
    assert first[6] == str(len(dropped)), (first, dropped)
    assert await page.locator("#funnel-bars .funnel-bar").count() == 2
    await screenshot(page, "funnels-page", full_page=True)

    # the drop-off of step 1 opens the recordings of exactly those visits
    await page.click('#funnel-table a[data-step="1"]')
    await page.wait_for_url(re.compile(r"/dashboard/recordings\?.*step=1.*dropped=1"))
    listed = page.locator("a.rec")  # the recordings page shows one card per replayable visit
    assert await wait_until(lambda: listed.count(), until=lambda n: n == len(dropped), seconds=60)
    hrefs = [await listed.nth(i).get_attribute("href") or "" for i in range(await listed.count())]
    shown = {parse_qs(urlsplit(href).query)["recording"][0].lstrip("0") for href in hrefs}
    assert shown == {d.lstrip("0") for d in dropped}
    assert "dropped off" in await page.locator("#funnel-chip").inner_text()
    await screenshot(page, "funnel-step-recordings", full_page=True)
    assert errors == [], errors
    only_local(requests, collector)
