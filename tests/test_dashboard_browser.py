"""The dashboards in headless Chromium (Debian's): log in through the form, then the traffic overview,
a click heatmap drawn over the recorded page and the replay of a fixture recording render, with
screenshots kept in test-output/ and checked (not blank, the replayed page's text visible), and no
request leaving 127.0.0.1.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
import pytest

from tests.support.browser import screenshot, wait_until
from tests.support.collector import CollectorFactory, RunningCollector
from tests.support.dashboard import SITE, dashboard_site, seed
from tests.support.dashboard_browser import logged_in_page

pytestmark = pytest.mark.asyncio
PAGE = "/page.html"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def only_local(requests: list[str], collector: RunningCollector) -> None:
    outside = [u for u in requests if not u.startswith((collector.url, "about:", "data:", "blob:"))]
    assert outside == [], f"the dashboards made requests to other hosts: {outside[:5]}"


async def api(tab: Any, panel: str, **params: str) -> Any:
    """The panel as the logged-in browser gets it (same cookie), to compare with what the page shows."""
    query = "&".join(f"{k}={v}" for k, v in {"site": SITE, **params}.items())
    text = await tab.evaluate(f"fetch('/dashboard/api/v1/{panel}?{query}').then(r => r.text())")
    return orjson.loads(text)


async def test_dashboard_overview_renders_in_browser(collector_factory: CollectorFactory, new_page: Any) -> None:
    collector = await collector_factory(dashboard_site())
    await seed(collector)
    page, requests, errors = await logged_in_page(collector, new_page, f"/dashboard/traffic?site={SITE}&period=7d")
    assert await wait_until(lambda: page.locator("#figures .figure").count(), until=lambda n: n >= 6)
    overview = {r["metric"]: r["value"] for r in (await api(page, "overview", period="7d"))["rows"]}
    shown = await page.locator("#figures").inner_text()
    for metric in ("visitors", "visits", "pageviews"):
        assert re.search(rf"\b{overview[metric]}\b", shown), (metric, overview[metric], shown)
    assert overview["visits"] >= 8
    # the chart is drawn by uPlot (served by us) on a canvas with something on it
    assert await wait_until(lambda: page.locator("#chart canvas").count())
    painted = await page.evaluate(
        "(() => { const c = document.querySelector('#chart canvas'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) "
        "if (d[i]) n++; return n; })()"
    )
    assert painted > 500, "the time series is drawn"
    top = page.locator('[data-panel="top_pages"] tbody')
    assert await wait_until(lambda: top.inner_text(), until=lambda t: PAGE in t)
    assert await page.locator("#realtime-visitors").inner_text() == str(overview["visitors"])
    await screenshot(page, "dashboard-overview", full_page=True)

    # a filter applies to every panel: click the campaign channel
    await page.goto(collector.url + f"/dashboard/traffic?site={SITE}&period=7d&channel=campaign")
    assert await wait_until(lambda: page.locator("#figures").inner_text(), until=lambda t: "VISITS\n1" in t.upper())
    countries = page.locator('[data-panel="countries"] tbody')
    assert await wait_until(lambda: countries.inner_text(), until=lambda t: "Loading" not in t)
    only_local(requests, collector)
    assert errors == []


async def test_heatmap_renders_over_the_recorded_page(collector_factory: CollectorFactory, new_page: Any) -> None:
    collector = await collector_factory(dashboard_site())
    await seed(collector)
    target = f"/dashboard/heatmaps?site={SITE}&period=7d&page={PAGE}"
    page, requests, errors = await logged_in_page(collector, new_page, target)
    stage = page.locator("#stage")
    assert await wait_until(lambda: stage.get_attribute("data-ready"), until=lambda v: v in ("1", "error"))
    assert await stage.get_attribute("data-ready") == "1", await page.locator("#heatmap-status").inner_text()
    recorded = page.frame_locator("#page-frame").locator("body")
    text = await recorded.inner_text()
    assert "Visible unmasked text" in text, "the recorded page is drawn under the heatmap"
    assert not EMAIL.search(text), "masked text stays masked"
    clicks = (await api(page, "heatmap_clicks", period="7d", page=PAGE))["rows"]
    hot = await page.evaluate(
        "(() => { const c = document.getElementById('heatmap-overlay'); const d = c.getContext('2d')"
        ".getImageData(0, 0, c.width, c.height).data; let n = 0; for (let i = 3; i < d.length; i += 4) "
        "if (d[i]) n++; return n; })()"
    )
    assert clicks and hot > 100 * len(clicks), "every click cell is painted"
    assert f"{sum(c['clicks'] for c in clicks)} clicks" in await page.locator("#heatmap-status").inner_text()
    await screenshot(page, "dashboard-heatmap", element=page.locator(".heatmap-layout"))

    await page.select_option("#mode", "scroll")
    scroll_table = page.locator('[data-panel="heatmap_scroll"] tbody')
    assert "100" in await scroll_table.inner_text()
    await screenshot(page, "dashboard-heatmap-scroll", element=page.locator(".stage-card"))
    only_local(requests, collector)
    assert errors == []


async def test_heatmap_compares_two_segments_side_by_side(collector_factory: CollectorFactory, new_page: Any) -> None:
    """Compare offers the saved segments: one every visit matches draws the same clicks beside the main map, one
    no visit matches says that it has no recorded view."""
    collector = await collector_factory(dashboard_site())
    await seed(collector)
    target = f"/dashboard/heatmaps?site={SITE}&period=7d&page={PAGE}"
    page, _, errors = await logged_in_page(collector, new_page, target)
    segments = {
        "everyone": {"match": "all", "conditions": [{"field": "page", "op": "prefix", "value": "/"}]},
        "nobody": {"match": "all", "conditions": [{"field": "country", "op": "is", "value": "AQ"}]},
    }
    ids = {}
    for name, definition in segments.items():
        created = await page.evaluate(
            "([site, body]) => fetch(`/dashboard/api/v1/segments?site=${site}`, {method: 'POST', headers: "
            "{'Content-Type': 'application/json', 'X-CSRF-Token': document.body.dataset.csrf}, "
            "body: JSON.stringify(body)}).then(r => r.json())",
            [SITE, {"name": name, "definition": definition}],
        )
        ids[name] = created["id"]
    await page.reload()
    compare = page.locator("#compare")
    assert await wait_until(lambda: compare.get_attribute("data-ready"))
    assert await wait_until(lambda: page.locator("#stage").get_attribute("data-ready"), until=lambda v: v == "1")
    everyone = await api(page, "heatmap_clicks", period="7d", page=PAGE, segment=ids["everyone"])
    assert everyone["rows"] == (await api(page, "heatmap_clicks", period="7d", page=PAGE))["rows"] != []

    await compare.select_option(f"segment:{ids['everyone']}")
    stage = page.locator("#stage-compare")
    assert await wait_until(lambda: stage.get_attribute("data-ready"), seconds=60)
    assert await stage.get_attribute("data-ready") == "1", await page.locator("#compare-card h2").inner_text()
    assert "segment everyone" in await page.locator("#compare-card h2").inner_text()
    painted = await page.evaluate(
        "(() => { const d = document.getElementById('heatmap-overlay-stage-compare').getContext('2d')"
        ".getImageData(0, 0, 4000, 4000).data; let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i]) n++; "
        "return n; })()"
    )
    assert painted > 100 * len(everyone["rows"]), "the segment's clicks are drawn beside the main map"
    await screenshot(page, "dashboard-heatmap-compare-segment", element=page.locator(".heatmap-layout"))

    await compare.select_option(f"segment:{ids['nobody']}")
    assert await wait_until(lambda: stage.get_attribute("data-ready"), seconds=60)
    assert await stage.get_attribute("data-ready") == "error"
    assert "no recorded view" in await page.locator("#compare-card h2").inner_text()
    assert errors == []


async def test_replay_of_a_fixture_recording_renders(collector_factory: CollectorFactory, new_page: Any) -> None:
    collector = await collector_factory(dashboard_site())
    await seed(collector)
    recording = collector.rows(
        "SELECT lower(hex(session_hash)) FROM {db}.playback WHERE site = {site:String} GROUP BY session_hash "
        "ORDER BY uniqExact(pageview_id) DESC, session_hash LIMIT 1",
        site=SITE,
    )[0][0]
    target = f"/dashboard/replay?site={SITE}&recording={recording}"
    page, requests, errors = await logged_in_page(collector, new_page, target)
    player = page.locator("#player")
    assert await wait_until(lambda: player.get_attribute("data-ready"), until=lambda v: v in ("1", "error"))
    assert await player.get_attribute("data-ready") == "1", await page.locator("#page-label").inner_text()
    replayed = page.frame_locator("#replay-frame").locator("body")
    assert await wait_until(lambda: replayed.inner_text(), until=lambda t: "Visible unmasked text" in t)
    assert not EMAIL.search(await replayed.inner_text())
    label = page.locator("#page-label")
    assert await label.inner_text() == "page 1 of 2", "a two-page visit"

    # play at 8x with idle skipped: the clock moves and the second page is reached
    await page.select_option("#speed", "8")
    # (no check of the "Pause" label: at 8x a short visit can end before the click's round trip returns)
    await page.click("#play")
    assert await wait_until(lambda: label.inner_text(), seconds=30, until=lambda t: t == "page 2 of 2")
    assert await wait_until(lambda: page.locator("#play").inner_text(), seconds=30, until=lambda t: t == "Play")
    clock = await page.locator("#clock").inner_text()
    elapsed, total = clock.split(" / ")
    assert elapsed == total, clock
    await screenshot(page, "dashboard-replay", element=page.locator("#stage"))

    # favourite it from the player: its playback is kept 13 months
    await page.check("#favourite")
    await page.fill("#labels", "checkout")
    await page.click("#save-marks")
    status = page.locator("#marks-status")
    assert await wait_until(lambda: status.inner_text(), until=lambda t: "13 months" in t)
    kept = collector.rows("SELECT min(keep) FROM {db}.playback WHERE session_hash = {s:UInt64}", s=int(recording, 16))
    assert kept == [(1,)]
    only_local(requests, collector)
    assert errors == []
