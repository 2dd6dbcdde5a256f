"""The workbench in headless Chromium (Debian's): save a segment in the editor and see every panel change,
compare two segments, add/edit/delete an annotation and see it on the chart beside the previous-period
line, read the visitor log, a visit's timeline and a visitor's profile. Screenshots go to test-output/.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import pytest

from tests.support.browser import screenshot, wait_until
from tests.support.dashboard import PASSWORD, accounts
from tests.support.segments import GEN_SITE, TOKEN, generate_visits, generated_site, sql_visits

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]


async def logged_in(collector: Any, new_page: Any, target: str) -> tuple[Any, list[str]]:  # noqa: F811
    await collector.storage.run(accounts(collector).save_analyst, "analyst", PASSWORD)
    page = await new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(collector.url + target)
    await page.fill("input[name=name]", "analyst")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith(target), page.url
    return page, errors


async def api(tab: Any, panel: str, **params: str) -> Any:
    query = "&".join(f"{k}={v}" for k, v in {"site": GEN_SITE, **params}.items())
    return orjson.loads(await tab.evaluate(f"fetch('/dashboard/api/v1/{panel}?{query}').then(r => r.text())"))


def figure(text: str, name: str) -> str:
    lines = text.upper().splitlines()
    return lines[lines.index(name.upper()) + 1]


async def test_segment_saved_in_the_editor_changes_every_panel(collector_factory: Any, new_page: Any) -> None:  # noqa: F811
    collector = await collector_factory(generated_site(), matomo_token_auth=TOKEN)
    await generate_visits(collector)
    page, errors = await logged_in(collector, new_page, f"/dashboard/segments?site={GEN_SITE}&period=7d")
    await page.fill("#segment-form input[name=name]", "German visitors")
    row = page.locator("#conditions tr").first
    await row.locator("select[name=field]").select_option("country")
    await row.locator("select[name=op]").select_option("is")
    await row.locator("input[name=value]").fill("DE")
    await page.click("#add-condition")
    second = page.locator("#conditions tr").nth(1)
    await second.locator("select[name=field]").select_option("pageviews")
    await second.locator("select[name=op]").select_option("gte")
    await second.locator("input[name=value]").fill("1")
    await page.click("#save-segment")
    listed = page.locator("#segment-list tbody")
    assert await wait_until(lambda: listed.inner_text(), until=lambda t: "German visitors" in t)
    await screenshot(page, "segments-editor", full_page=True)

    # a pattern the server refuses is shown next to the form, naming the field
    await page.click("#new-segment")
    await page.fill("#segment-form input[name=name]", "Broken")
    first = page.locator("#conditions tr").first
    await first.locator("select[name=field]").select_option("page")
    await first.locator("select[name=op]").select_option("matches")
    await first.locator("input[name=value]").fill("(unclosed")
    await page.click("#save-segment")
    assert await wait_until(
        lambda: page.locator("#segment-error").inner_text(), until=lambda t: "conditions[0].value" in t
    )

    await page.click("#segment-list a.apply")
    await page.wait_for_load_state("networkidle")
    assert "segment=" in page.url
    expected_visits = sql_visits(collector, "c = 'DE'")[1]
    everyone = sql_visits(collector)[1]
    assert 0 < expected_visits < everyone
    assert await wait_until(
        lambda: page.locator("#figures").inner_text(),
        until=lambda t: "VISITS" in t.upper() and figure(t, "Visits") == str(expected_visits),
    )
    countries = page.locator('[data-panel="countries"] tbody')
    assert await wait_until(lambda: countries.inner_text(), until=lambda t: "Germany" in t)
    assert "France" not in await countries.inner_text(), "the segment applies to the breakdowns"
    assert await page.locator("#segment-select").input_value() != ""

    # two segments side by side: the saved one against all visits
    compare = page.locator("#compare tbody")
    await page.select_option("#compare-b", "")
    assert await wait_until(lambda: compare.inner_text(), until=lambda t: "Visits" in t)
    cells = page.locator('#compare tr[data-metric="visits"] td')
    assert await wait_until(
        lambda: cells.all_inner_texts(), until=lambda t: t[1:] == [str(expected_visits), str(everyone)]
    )
    await screenshot(page, "segments-traffic-compare", full_page=True)
    assert errors == []


async def test_annotation_on_the_chart_with_the_previous_period(collector_factory: Any, new_page: Any) -> None:  # noqa: F811
    collector = await collector_factory(generated_site(), matomo_token_auth=TOKEN)
    await generate_visits(collector)
    page, errors = await logged_in(collector, new_page, f"/dashboard/traffic?site={GEN_SITE}&period=7d")
    assert await wait_until(lambda: page.locator("#chart canvas").count())
    today = datetime.now(timezone.utc).date().isoformat()
    await page.fill("#annotation-form input[name=day]", today)
    await page.fill("#annotation-form input[name=note]", "Release 2.0")
    await page.click("#save-annotation")
    notes = page.locator("#annotation-list")
    assert await wait_until(lambda: notes.inner_text(), until=lambda t: "Release 2.0" in t)
    marker = page.locator("#chart .annotation-marker")
    assert await wait_until(lambda: marker.count(), until=lambda n: n == 1)
    assert today in (await marker.get_attribute("title") or "")
    stored = (await api(page, "annotations", period="7d"))["rows"]
    assert [(r["day"], r["note"]) for r in stored] == [(today, "Release 2.0")]
    legend = await page.locator("#chart").inner_text()
    assert "previous period" in legend
    series = (await api(page, "timeseries", period="7d"))["rows"]
    assert await page.locator("#chart").get_attribute("data-previous") == str(
        sum(r["previous_visitors"] or 0 for r in series)
    )
    await screenshot(page, "annotation-on-chart", element=page.locator(".chart-card"))

    await page.locator("#annotation-list button", has_text="Edit").click()
    await page.fill("#annotation-form input[name=note]", "Release 2.0.1")
    await page.click("#save-annotation")
    assert await wait_until(lambda: notes.inner_text(), until=lambda t: "Release 2.0.1" in t)
    await page.locator("#annotation-list button", has_text="Delete").click()
    assert await wait_until(lambda: marker.count(), until=lambda n: n == 0)
    assert (await api(page, "annotations", period="7d"))["rows"] == []
    assert errors == []


async def test_visitor_log_timeline_and_profile(collector_factory: Any, new_page: Any) -> None:  # noqa: F811
    collector = await collector_factory(generated_site(), matomo_token_auth=TOKEN)
    data = await generate_visits(collector)
    page, errors = await logged_in(collector, new_page, f"/dashboard/visitors?site={GEN_SITE}&period=7d")
    visits = page.locator("article.visit")
    assert await wait_until(lambda: visits.count(), until=lambda n: n == 25)
    await page.click("#more")
    assert await wait_until(lambda: visits.count(), until=lambda n: n == data.visits)
    newest = (await api(page, "visitor_log", period="7d", limit="1"))["rows"][0]
    first = visits.first
    assert await first.get_attribute("data-visit") == newest["visit"]
    assert newest["country_name"] in await first.inner_text()
    await first.locator("button.show-timeline").click()
    assert await wait_until(lambda: first.locator(".timeline li").count(), until=lambda n: n >= newest["pageviews"])
    await screenshot(page, "visitor-log", full_page=True)

    returning = "{:016x}".format(
        collector.rows(
            "SELECT visitor_hash FROM {db}.pageviews WHERE site = 'shop' GROUP BY visitor_hash "
            "HAVING uniqExact(session_hash) = 2 LIMIT 1"
        )[0][0]
    )
    await page.goto(collector.url + f"/dashboard/visitor?site={GEN_SITE}&period=7d&visitor={returning}")
    assert await wait_until(lambda: page.locator("#summary").inner_text(), until=lambda t: "Visits" in t)
    assert await wait_until(lambda: page.locator("article.visit").count(), until=lambda n: n == 2)
    await screenshot(page, "visitor-profile", full_page=True)
    assert errors == []
