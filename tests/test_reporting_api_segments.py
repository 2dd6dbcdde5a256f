"""The Reporting API's `actions`, `visitorType`, `referrerKeyword` and `userId` segments, against the real
engine over a real socket.

Visits go in through the real Matomo tracking API: the generated visits of tests/support/segments.py
plus hand-made ones with user ids (`uid`), visitors coming back (a second visit hours later, with the
`_idvc`/`_viewts` matomo.js sends), a returning customer (an order in the first visit), campaign
keywords (`mtm_kwd`, `pk_kwd`), a search-engine referrer with a query and differing action counts.
Each segment's VisitsSummary.get and Live.getLastVisitsDetails are compared with the visits selected by
plain Python over rows read straight from ClickHouse, with Matomo's definitions of the four segments;
the published `matomopy` client and raw requests both drive it. Bad operators and values get Matomo's
error JSON, never a 5xx.
"""

from __future__ import annotations

import asyncio
from typing import Any, Callable
from urllib.parse import urlencode

import orjson
import pytest
import requests
from matomopy import MatomoClient

from collector.core.keys import SETTINGS
from ingest_schema.hashing import Hasher, matomo_visitor_hash, user_id_hash
from tests.support.collector import CollectorFactory, RunningCollector
from tests.support.dashboard import PASSWORD, Analyst, accounts, log_in
from tests.support.segments import GEN_ORIGIN, GEN_SITE, TOKEN, create_segment, generate_visits, generated_site

pytestmark = pytest.mark.asyncio

IDSITE = 7
COMMON = {"idSite": IDSITE, "period": "range", "date": "last7"}
DESKTOP = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
A, B, C, D, E, F = (f"{letter}{n:015x}" for n, letter in enumerate("abcdef", start=1))


def hand_made(now: int) -> list[dict[str, Any]]:
    """Tracking hits (in order) whose visits each new segment must tell apart."""
    hours = 3600
    return [
        # A: a direct visit three hours ago, then a second visit (a returning visitor) logged in as "xyz"
        # from its second hit on, with three page views and an event: 4 actions
        {"_id": A, "url": f"{GEN_ORIGIN}/", "action_name": "Home", "cdt": now - 3 * hours},
        {"_id": A, "url": f"{GEN_ORIGIN}/pricing", "cdt": now - 1200, "_idvc": 2, "_viewts": now - 3 * hours},
        {"_id": A, "url": f"{GEN_ORIGIN}/docs/install", "cdt": now - 1150, "_idvc": 2, "uid": "xyz"},
        {"_id": A, "url": f"{GEN_ORIGIN}/docs/install", "e_c": "Video", "e_a": "Play", "cdt": now - 1140, "uid": "xyz"},
        {"_id": A, "url": f"{GEN_ORIGIN}/blog/howto", "cdt": now - 1100, "uid": "xyz"},
        # B: orders in its first visit (new), comes back (a returning customer)
        {"_id": B, "url": f"{GEN_ORIGIN}/checkout", "cdt": now - 5 * hours},
        {
            "_id": B,
            "url": f"{GEN_ORIGIN}/checkout",
            "idgoal": 0,
            "ec_id": f"order-{now}",
            "revenue": 30,
            "cdt": now - 5 * hours + 30,
        },
        {"_id": B, "url": f"{GEN_ORIGIN}/", "cdt": now - 2400, "_idvc": 2, "_viewts": now - 5 * hours},
        # C: a campaign with a keyword (stored lowercased, as Matomo stores it), two page views
        {"_id": C, "url": f"{GEN_ORIGIN}/?mtm_campaign=Spring&mtm_kwd=Brand", "cdt": now - 3000},
        {"_id": C, "url": f"{GEN_ORIGIN}/pricing", "cdt": now - 2990},
        # D: a campaign keyword through pk_kwd, a page view and a download: 2 actions
        {"_id": D, "url": f"{GEN_ORIGIN}/blog/launch?pk_campaign=Fall&pk_kwd=shoes+sale", "cdt": now - 3300},
        {"_id": D, "url": f"{GEN_ORIGIN}/blog/launch", "download": f"{GEN_ORIGIN}/f.pdf", "cdt": now - 3290},
        # E: from a search engine whose URL carries the query (never kept), user "abc", a site search
        {
            "_id": E,
            "url": f"{GEN_ORIGIN}/",
            "urlref": "https://www.bing.com/search?q=brand",
            "uid": "abc",
            "cdt": now - 3600,
        },
        {"_id": E, "url": f"{GEN_ORIGIN}/pricing", "uid": "abc", "cdt": now - 3590},
        {"_id": E, "url": f"{GEN_ORIGIN}/search", "search": "boots", "uid": "abc", "cdt": now - 3580},
        # F: the same user "abc" on another device (another visitor id)
        {"_id": F, "url": f"{GEN_ORIGIN}/docs/install", "uid": "abc", "cdt": now - 4200},
    ]


async def seeded(collector_factory: CollectorFactory) -> tuple[RunningCollector, str, int]:
    collector = await collector_factory(generated_site(), matomo_token_auth=TOKEN)
    data = await generate_visits(collector)
    for params in hand_made(data.now):
        query = urlencode({"idsite": IDSITE, "rec": 1, "send_image": 0, "token_auth": TOKEN, **params})
        async with collector.http.get(f"{collector.url}/matomo.php?{query}", headers={"User-Agent": DESKTOP}) as r:
            assert r.status == 204, await r.text()
    await collector.flush()
    store = accounts(collector)
    await collector.storage.run(store.save_analyst, "script", PASSWORD)
    token = str(await collector.storage.run(store.create_token, "script", "reporting api"))
    return collector, token, data.now


# --- what Matomo's definitions select, from the stored rows -----------------------------------------

VISITS_SQL = (
    "SELECT session_hash, lower(hex(session_hash)), max(visitor_hash), min(started_at), uniqExact(pageview_id), "
    "argMin(campaign_keyword, started_at), groupUniqArray(user_hash) "
    "FROM {db}.pageviews WHERE site = {site:String} GROUP BY session_hash"
)


def stored_visits(collector: RunningCollector) -> list[dict[str, Any]]:
    """Every visit of the site with Matomo's visit columns, worked out in Python from ClickHouse rows:
    `actions` (visit_total_actions: page views, events, site searches, outlinks, downloads),
    `keyword` (referer_keyword), `users` (user ids' hashes) and `type` (visitor_returning)."""
    actions = dict(
        collector.rows(
            "SELECT session_hash, count() FROM {db}.events WHERE site = {site:String} "
            "AND type IN (1001, 1002, 1003, 1004) GROUP BY session_hash",
            site=GEN_SITE,
        )
    )
    orders: dict[int, Any] = {}
    for visitor, at in collector.rows(
        "SELECT visitor_hash, ts FROM {db}.events WHERE site = {site:String} AND type = 1006", site=GEN_SITE
    ):
        orders[visitor] = min(at, orders.get(visitor, at))
    names = ("s", "id", "visitor", "start", "views", "keyword", "users")
    visits = [dict(zip(names, row, strict=True)) for row in collector.rows(VISITS_SQL, site=GEN_SITE)]
    first: dict[int, Any] = {}
    for v in visits:
        first[v["visitor"]] = min(v["start"], first.get(v["visitor"], v["start"]))
    for v in visits:
        v["actions"] = v["views"] + actions.get(v["s"], 0)
        v["users"] = {u for u in v["users"] if u}
        if v["visitor"] in orders and orders[v["visitor"]] <= v["start"]:
            v["type"] = "returningCustomer"
        else:
            v["type"] = "returning" if first[v["visitor"]] < v["start"] else "new"
    return visits


def figures(visits: list[dict[str, Any]]) -> tuple[int, int, int, set[str]]:
    """What VisitsSummary.get and Live report for these visits: visits, visitors, actions, visit ids."""
    return (
        len(visits),
        len({v["visitor"] for v in visits}),
        sum(v["actions"] for v in visits),
        {v["id"] for v in visits},
    )


def cases(collector: RunningCollector) -> list[tuple[str, Callable[[dict[str, Any]], bool]]]:
    """(segment as a client writes it, which visits Matomo's definition keeps): every operator of each."""
    hasher = Hasher(collector.app[SETTINGS].secret_key)
    abc = user_id_hash(hasher, GEN_SITE, "abc")
    return [
        ("actions==4", lambda v: v["actions"] == 4),
        ("actions!=1", lambda v: v["actions"] != 1),
        ("actions>=3", lambda v: v["actions"] >= 3),
        ("actions>2", lambda v: v["actions"] > 2),
        ("actions<=2", lambda v: v["actions"] <= 2),
        ("actions<2", lambda v: v["actions"] < 2),
        ("visitorType==new", lambda v: v["type"] == "new"),
        ("visitorType==returning", lambda v: v["type"] == "returning"),
        ("visitorType==returningCustomer", lambda v: v["type"] == "returningCustomer"),
        ("visitorType!=new", lambda v: v["type"] != "new"),
        ("visitorType==1", lambda v: v["type"] == "returning"),
        ("visitorType==returning,visitorType==returningCustomer", lambda v: v["type"] != "new"),
        ("referrerKeyword==brand", lambda v: v["keyword"] == "brand"),
        ("referrerKeyword==Brand", lambda v: v["keyword"] == "brand"),
        ("referrerKeyword!=brand", lambda v: v["keyword"] != "brand"),
        ("referrerKeyword=@SALE", lambda v: "sale" in v["keyword"]),
        ("referrerKeyword!@sale", lambda v: "sale" not in v["keyword"]),
        ("referrerKeyword=^shoes", lambda v: v["keyword"].startswith("shoes")),
        ("referrerKeyword=$and", lambda v: v["keyword"].endswith("and")),
        ("referrerKeyword==", lambda v: v["keyword"] == ""),
        ("referrerKeyword!=", lambda v: v["keyword"] != ""),
        ("userId==abc", lambda v: abc in v["users"]),
        ("userId!=abc", lambda v: abc not in v["users"]),
        ("userId==", lambda v: not v["users"]),
        ("userId!=", lambda v: bool(v["users"])),
        ("userId==xyz;actions>=4", lambda v: user_id_hash(hasher, GEN_SITE, "xyz") in v["users"] and v["actions"] >= 4),
        ("visitorType==returning;referrerKeyword==", lambda v: v["type"] == "returning" and v["keyword"] == ""),
    ]


async def api_json(collector: RunningCollector, **params: Any) -> Any:
    async with collector.http.post(
        collector.url + "/index.php", data={"module": "API", "format": "JSON", **params}
    ) as r:
        assert r.status == 200, (r.status, (await r.read())[:300])
        return orjson.loads(await r.read())


async def test_new_segments_equal_matomo_definitions_over_clickhouse(collector_factory: CollectorFactory) -> None:
    collector, token, _ = await seeded(collector_factory)
    visits = stored_visits(collector)
    vid = {v["s"]: v for v in visits}

    # the data make each definition matter: the hand-made visitors are what they were sent as
    def of(visitor: str) -> list[dict[str, Any]]:
        wanted = matomo_visitor_hash(Hasher(collector.app[SETTINGS].secret_key), GEN_SITE, visitor)
        return sorted((v for v in visits if v["visitor"] == wanted), key=lambda v: v["start"])

    assert [v["type"] for v in of(A)] == ["new", "returning"] and of(A)[1]["actions"] == 4
    assert [v["type"] for v in of(B)] == ["new", "returningCustomer"]
    assert [(v["keyword"], v["actions"]) for v in of(C) + of(D)] == [("brand", 2), ("shoes sale", 2)]
    assert of(E)[0]["keyword"] == "" and of(E)[0]["actions"] == 3, "a search engine's query is never kept"
    assert of(E)[0]["users"] == of(F)[0]["users"] != set()
    assert len(vid) == len(visits) > 40

    all_cases = cases(collector)
    segments = [segment for segment, _ in all_cases]
    urls = {
        f"urls[{i}]": urlencode({"method": "VisitsSummary.get", **COMMON, "segment": s}) for i, s in enumerate(segments)
    }
    summaries = await api_json(collector, method="API.getBulkRequest", token_auth=token, **urls)
    client = MatomoClient(collector.url, token_auth=token, default_id_site=IDSITE)

    def live(segment: str) -> Any:
        return client.Live.getLastVisitsDetails(period="range", date="last7", segment=segment, filter_limit=-1)

    lives = [await asyncio.to_thread(live, s) for s in segments]
    for (segment, keep), summary, details in zip(all_cases, summaries, lives, strict=True):
        visits_, visitors, actions, ids = figures([v for v in visits if keep(v)])
        got = (summary["nb_visits"], summary["nb_uniq_visitors"], summary["nb_actions"])
        assert got == (visits_, visitors, actions), segment
        assert {d["idVisit"] for d in details} == ids, segment
        assert sum(int(d["actions"]) for d in details) == actions, segment
    sizes = [sum(1 for v in visits if keep(v)) for _, keep in all_cases]
    assert all(0 < n < len(visits) for n in sizes), list(zip(segments, sizes, strict=True))

    # the published client with a segment as a script would write it
    scripted = await asyncio.to_thread(
        client.VisitsSummary.get, period="range", date="last7", segment="visitorType==returning;actions>=2"
    )
    assert scripted["nb_visits"] == sum(1 for v in visits if v["type"] == "returning" and v["actions"] >= 2) > 0


async def test_saved_segment_with_the_new_fields_counts_the_same_visits(collector_factory: CollectorFactory) -> None:
    collector, token, _ = await seeded(collector_factory)
    analyst: Analyst = await log_in(collector)
    try:
        definition = {
            "match": "all",
            "conditions": [
                {"field": "visitor_type", "op": "is_not", "value": "new"},
                {"field": "actions", "op": "gte", "value": "2"},
                {"field": "keyword", "op": "is", "value": ""},
            ],
        }
        ident = await create_segment(analyst, "came back, did something", definition)
        overview = {
            r["metric"]: r["value"]
            for r in (await analyst.api("overview", site=GEN_SITE, period="7d", segment=ident))["rows"]
        }
        segment = "visitorType!=new;actions>=2;referrerKeyword=="
        summary = await api_json(collector, method="VisitsSummary.get", token_auth=token, segment=segment, **COMMON)
        expected = [
            v for v in stored_visits(collector) if v["type"] != "new" and v["actions"] >= 2 and not v["keyword"]
        ]
        assert (summary["nb_visits"], summary["nb_uniq_visitors"]) == (overview["visits"], overview["visitors"])
        assert summary["nb_visits"] == len(expected) > 0

        # the dashboards refuse what they cannot answer with a 400 naming the field
        bad = {"match": "all", "conditions": [{"field": "user", "op": "contains", "value": "ab"}]}
        status, body = await analyst.post_json(
            "/dashboard/api/v1/segments", {"name": "x", "definition": bad}, csrf=analyst.csrf, site=GEN_SITE
        )
        assert status == 400 and b"definition.conditions[0].op" in body, body
        bad = {"match": "all", "conditions": [{"field": "visitor_type", "op": "is", "value": "old"}]}
        status, body = await analyst.post_json(
            "/dashboard/api/v1/segments", {"name": "x", "definition": bad}, csrf=analyst.csrf, site=GEN_SITE
        )
        assert status == 400 and b"new, returning, returningCustomer" in body, body
    finally:
        await analyst.close()


async def test_bad_operators_and_values_get_matomo_errors(collector_factory: CollectorFactory) -> None:
    collector, token, _ = await seeded(collector_factory)
    errors = {
        "userId=@ab": "user ids are stored only as keyed hashes, so only == and != can be matched",
        "userId=^a": "only == and != can be matched",
        "userId=$c": "only == and != can be matched",
        "userId!@b": "only == and != can be matched",
        "userId>a": "only == and != can be matched",
        "visitorType==old": "use new, returning or returningCustomer",
        "visitorType==": "use new, returning or returningCustomer",
        "visitorType=@new": "not supported for 'visitorType'",
        "actions==many": "must be a number",
        "actions=@3": "not supported for 'actions'",
        "referrerKeyword>b": "not supported for 'referrerKeyword'",
        "referrerKeyword=@": "has no value specified",
    }
    params = {"module": "API", "method": "VisitsSummary.get", "token_auth": token, **COMMON}

    def ask(segment: str, fmt: str) -> requests.Response:
        return requests.post(
            collector.url + "/index.php", data={**params, "format": fmt, "segment": segment}, timeout=60
        )

    for segment, text in errors.items():
        json_answer, xml_answer = (
            await asyncio.to_thread(ask, segment, "json"),
            await asyncio.to_thread(ask, segment, "xml"),
        )
        assert json_answer.status_code == xml_answer.status_code == 200, (segment, json_answer.text[:200])
        error = json_answer.json()
        assert error["result"] == "error" and text in error["message"], (segment, error)
        assert b"<error message=" in xml_answer.content, xml_answer.text[:200]
