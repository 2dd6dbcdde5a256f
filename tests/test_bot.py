"""Bots are dropped and counted (crawlerdetect on the user agent), never stored."""

from __future__ import annotations

import pytest

from tests.support.collector import CollectorFactory
from tests.support.matomo import SITE_ORIGIN, captured, hit, matomo_site, metric, replay

BOT_AGENTS = {
    "headless_chrome": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "HeadlessChrome/156.0.0.0 Safari/537.36",
    "googlebot": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    "curl": "curl/8.5.0",
    "python_requests": "python-requests/2.32.3",
    "bingbot": "Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; compatible; bingbot/2.0; "
    "+http://www.bing.com/bingbot.htm) Chrome/116.0.1938.76 Safari/537.36",
}


async def test_bot_captured_headless_chrome_hits_are_dropped_and_counted(collector_factory: CollectorFactory) -> None:
    """The captures as recorded, with HeadlessChrome's own user agent: answered, counted, not stored."""
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    records = captured("cap_default")
    for record in records:
        status, _, _ = await replay(collector, record, user_agent=record["headers"]["User-Agent"])
        assert status == 204
    await collector.flush()
    assert collector.count("pageviews") == collector.count("events") == collector.count("visits") == 0
    assert await metric(collector, 'collector_dropped_total{reason="bot"') == len(records) + 1


@pytest.mark.parametrize("agent", sorted(BOT_AGENTS))
async def test_bot_user_agents_in_header_or_ua_parameter_are_dropped(
    collector_factory: CollectorFactory, agent: str
) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    params = {"url": SITE_ORIGIN + "/", "_id": "00000000000000b1", "send_image": 0}
    assert (await hit(collector, params, headers={"User-Agent": BOT_AGENTS[agent]}))[0] == 204
    assert (await hit(collector, {**params, "ua": BOT_AGENTS[agent]}))[0] == 204
    await collector.flush()
    assert collector.count("pageviews") == 0 and collector.count("visits") == 0
    assert await metric(collector, 'collector_dropped_total{reason="bot"') == 2


async def test_bot_filter_keeps_people_and_server_side_trackers(collector_factory: CollectorFactory) -> None:
    """A desktop browser is stored; so is a server-side tracker that sends no user agent at all."""
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    params: dict[str, str | int] = {"url": SITE_ORIGIN + "/", "send_image": 0}
    assert (await hit(collector, {**params, "_id": "00000000000000b2"}))[0] == 204
    async with collector.http.get(
        collector.url + "/matomo.php",
        params={**params, "idsite": 1, "rec": 1, "_id": "00000000000000b3"},
        skip_auto_headers=["User-Agent"],
    ) as response:
        assert response.status == 204
    await collector.flush()
    assert collector.count("visits") == 2
    assert await metric(collector, 'collector_dropped_total{reason="bot"') == 0


async def test_bot_prefetch_requests_are_excluded(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    params = {"url": SITE_ORIGIN + "/", "_id": "00000000000000b4", "send_image": 0}
    assert (await hit(collector, params, headers={"Sec-Purpose": "prefetch"}))[0] == 204
    assert (await hit(collector, params, headers={"X-Moz": "prefetch"}))[0] == 204
    await collector.flush()
    assert collector.count("pageviews") == 0
    assert await metric(collector, 'collector_dropped_total{reason="excluded"') == 2
