"""Counting as Matomo counts, over raw HTTP: one order per `ec_id`, goals once per visit, lowercased
campaigns, the visit's own channel beside the conversion's credit, one performance row per page view,
product views. Rows are read back from chdb and the figures through the dashboards' query layer.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from ingest_schema.storage import Storage
from tests.support.collector import DESKTOP_UA, CollectorFactory
from tests.support.matomo import SITE_ORIGIN, events_by_type, hit, matomo_site, visits
from tests.support.matomo_semantics import panel_rows
from tests.support.process import port_of, process_env, start_process, stop_process

VISITOR = "00000000000000a1"


def order(ec_id: str, revenue: float = 25, visitor: str = VISITOR, **extra: Any) -> dict[str, Any]:
    return {
        "idgoal": 0,
        "ec_id": ec_id,
        "revenue": revenue,
        "ec_items": '[["SKU1","Shoe","Footwear",25,1]]',
        "url": SITE_ORIGIN + "/thanks",
        "_id": visitor,
        "send_image": 0,
        **extra,
    }


async def test_repeated_order_id_is_refused_like_matomo(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(
        matomo_site(matomo_consent="tracker_requires_consent"), matomo_site(id="other", matomo_idsite=2)
    )
    await hit(collector, {"url": SITE_ORIGIN + "/cart", "_id": VISITOR, "send_image": 0})
    assert (await hit(collector, order("A-1")))[0] == 204
    status, body = await hit(collector, order("A-1"))
    assert status == 400 and b"non-unique idsite/idorder" in body, "Matomo's answer to a reloaded order page"
    await collector.flush()
    [visit] = visits(collector)
    assert (visit["goals"], visit["revenue"]) == (1, 25)
    [goals] = await panel_rows(collector, "goals")
    assert (goals["goal"], goals["conversions"], goals["revenue"]) == ("ecommerce order", 1, 25)


async def test_racing_uploads_of_one_order_store_it_once(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    statuses = await asyncio.gather(*(hit(collector, order("RACE-1", visitor=f"{n:016x}")) for n in range(8)))
    assert sorted(s for s, _ in statuses) == [204] + [400] * 7
    await collector.flush()
    assert events_by_type(collector) == {1006: 1}
    assert collector.count("matomo_orders") == 1, "losers of the in-process race never insert a claim"


async def test_same_order_id_on_another_site_is_its_own_order(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(
        matomo_site(matomo_consent="tracker_requires_consent"),
        matomo_site(id="other", matomo_idsite=2, matomo_consent="tracker_requires_consent"),
    )
    assert (await hit(collector, order("A-1")))[0] == 204
    assert (await hit(collector, {**order("A-1"), "idsite": 2}))[0] == 204
    await collector.flush()
    assert events_by_type(collector) == {1006: 2}


def _track(port: int, params: dict[str, Any]) -> tuple[int, bytes]:
    """One hit to a collector process, as a browser on the site would send it."""
    query = urlencode({"idsite": 1, "rec": 1, **params})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/matomo.php?{query}", headers={"User-Agent": DESKTOP_UA, "Origin": SITE_ORIGIN}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return int(response.status), response.read()
    except urllib.error.HTTPError as error:
        return int(error.code), error.read()


def test_order_is_refused_after_a_collector_restart(tmp_path: Path) -> None:
    """A real collector process stores an order, stops, starts again on the same data: the reloaded
    order page is still refused (the claim is in ClickHouse, not only in memory)."""
    sites = (
        f'[[site]]\nid = "shop"\norigins = ["{SITE_ORIGIN}"]\nmatomo_idsite = 1\n'
        'matomo_consent = "tracker_requires_consent"\n'
    )
    env = process_env(tmp_path, sites)
    for expected in (204, 400):
        process = start_process(env)
        try:
            status, body = _track(port_of(env), order("RESTART-1"))
            assert status == expected, body
        finally:
            assert stop_process(process) == 0
    storage = Storage(f"chdb://{tmp_path / 'data' / 'clickhouse'}", "analytics")
    try:
        assert storage.query_rows("SELECT count() FROM analytics.events WHERE type = 1006") == [(1,)]
    finally:
        storage.close()


async def test_goal_converts_once_per_visit_unless_it_allows_several(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(
        matomo_site(matomo_consent="tracker_requires_consent", matomo_goals_allow_multiple=[2])
    )
    base = {"url": SITE_ORIGIN + "/", "_id": VISITOR, "send_image": 0}
    await hit(collector, {**base, "pv_id": "p1"})
    for goal in (1, 1, 2, 2):
        assert (await hit(collector, {**base, "idgoal": goal, "revenue": 5}))[0] == 204
    await collector.flush()
    [visit] = visits(collector)
    assert (visit["goals"], visit["revenue"]) == (3, 15)
    goals = {row["goal"]: row["conversions"] for row in await panel_rows(collector, "goals")}
    assert goals == {"goal 1": 1, "goal 2": 2}


async def test_campaign_names_and_keywords_are_lowercased(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    for visitor, name in (("00000000000000b1", "Spring"), ("00000000000000b2", "spring")):
        await hit(
            collector, {"url": f"{SITE_ORIGIN}/?mtm_campaign={name}&mtm_kwd=Shoes", "_id": visitor, "send_image": 0}
        )
    await collector.flush()
    assert {(v["campaign_name"], v["campaign_keyword"]) for v in visits(collector)} == {("spring", "shoes")}
    [row] = await panel_rows(collector, "campaigns")
    assert (row["campaign"], row["visits"]) == ("spring", 2)


async def test_remembered_campaign_credits_the_conversion_not_the_visit(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    remembered = {"_id": VISITOR, "send_image": 0, "_rcn": "Spring", "_rck": "Promo", "_ref": "https://www.google.com/"}
    await hit(collector, {**remembered, "url": SITE_ORIGIN + "/", "pv_id": "p1"})
    await hit(collector, {**remembered, "url": SITE_ORIGIN + "/", "idgoal": 1, "revenue": 3})
    await hit(collector, {**remembered, **order("C-1")})
    await collector.flush()
    [visit] = visits(collector)
    assert (visit["channel"], visit["campaign_name"]) == ("direct", "")
    credits = [
        json.loads(data)["attribution"]
        for (data,) in collector.rows("SELECT data FROM {db}.events WHERE type IN (1005, 1006)")
    ]
    assert (
        credits
        == [{"channel": "campaign", "referrer_name": "", "campaign_name": "spring", "campaign_keyword": "promo"}] * 2
    )
    [channel] = await panel_rows(collector, "channels")
    assert (channel["channel"], channel["visits"]) == ("direct", 1)


async def test_remembered_referrer_credits_the_conversion_without_a_campaign(
    collector_factory: CollectorFactory,
) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    base = {"_id": VISITOR, "send_image": 0, "_ref": "https://www.bing.com/search?q=x", "url": SITE_ORIGIN + "/"}
    await hit(collector, {**base, "idgoal": 1})
    await collector.flush()
    [(data,)] = collector.rows("SELECT data FROM {db}.events WHERE type = 1005")
    assert json.loads(data)["attribution"]["channel"] == "search"
    assert json.loads(data)["attribution"]["referrer_name"] == "Bing"
    assert visits(collector)[0]["channel"] == "direct"


async def test_one_performance_row_per_page_view(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    base = {"_id": VISITOR, "send_image": 0, "url": SITE_ORIGIN + "/a"}
    partial = {"pf_net": 1, "pf_srv": 20, "pf_tfr": 3, "pf_dm1": 40}
    await hit(collector, {**base, "pv_id": "p1", **partial})
    await hit(collector, {**base, "pv_id": "p1", "ping": 1, **partial, "pf_dm2": 50, "pf_onl": 2})
    await hit(collector, {**base, "pv_id": "p1", "e_c": "c", "e_a": "a", **partial, "pf_dm2": 50, "pf_onl": 2})
    # a page left before it loaded keeps its partial timings once the next page view starts
    await hit(collector, {**base, "url": SITE_ORIGIN + "/b", "pv_id": "p2", **partial})
    await hit(collector, {**base, "url": SITE_ORIGIN + "/c", "pv_id": "p3", **partial, "pf_dm2": 5, "pf_onl": 1})
    await collector.flush()
    rows = collector.rows("SELECT url, num, data FROM {db}.events WHERE type = 1010 ORDER BY url")
    assert [(url.rsplit("/", 1)[1], num) for url, num, _ in rows] == [("a", 116), ("b", 64), ("c", 70)]
    assert json.loads(rows[0][2]) == {"net": 1, "srv": 20, "tfr": 3, "dm1": 40, "dm2": 50, "onl": 2}


async def test_product_views_are_stored_masked_and_reported(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    base = {"_id": VISITOR, "send_image": 0, "url": SITE_ORIGIN + "/p/shoe"}
    product = {"_pks": "SKU-9", "_pkn": "Shoe for jane.doe@example.com", "_pkc": '["Shoes","Sale"]', "_pkp": "49.5"}
    await hit(collector, {**base, "pv_id": "p1", **product})
    await hit(collector, {**base, "pv_id": "p2", **product})
    await hit(collector, {**base, "pv_id": "p3", "url": SITE_ORIGIN + "/c/shoes", "_pkc": "Shoes"})
    await collector.flush()
    rows = collector.rows("SELECT key, value, text, num FROM {db}.events WHERE type = 1011 ORDER BY key DESC")
    assert rows[0][0] == "SKU-9" and rows[0][2:] == ("Shoes, Sale", 49.5)
    assert "jane.doe" not in rows[0][1] and rows[0][1].startswith("Shoe for ")
    panel = {row["sku"]: row for row in await panel_rows(collector, "product_views")}
    assert (panel["SKU-9"]["views"], panel["SKU-9"]["visitors"], panel["SKU-9"]["price"]) == (2, 1, 49.5)
    assert (panel[""]["category"], panel[""]["views"]) == ("Shoes", 1), "a category page has no SKU"
