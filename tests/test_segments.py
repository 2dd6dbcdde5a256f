"""Saved segments: stored through the API, applied to every panel, and the figures equal to counts
computed directly in ClickHouse over generated visits (sent through the real Matomo tracking path).

The generator picks each visit's device, country, channel, pages, events and goals at random (fixed
seed); the expected figures never come from the generator or the query layer but from plain SQL over
`pageviews` and `events`, written here for each segment's meaning.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import orjson
import pytest

from dashboards.dataframe import frame_from_storage
from tests.support.collector import make_site
from tests.support.dashboard import PASSWORD, SITE, Analyst, accounts, dashboard_site, log_in, seed
from tests.support.segments import (
    GEN_SITE,
    TOKEN,
    create_segment,
    delete,
    generated,
    generated_site,
    put,
    sql_visits,
)

pytestmark = pytest.mark.asyncio


def figures(document: dict[str, Any]) -> dict[str, float]:
    return {row["metric"]: row["value"] for row in document["rows"]}


async def overview(analyst: Analyst, **params: Any) -> tuple[int, int, int]:
    f = figures(await analyst.api("overview", site=GEN_SITE, period="7d", **params))
    return int(f["visitors"]), int(f["visits"]), int(f["pageviews"])


SESSIONS_WITH_PAGE = "SELECT session_hash FROM {db}.pageviews WHERE site = 'shop' AND "
SESSIONS_WITH_EVENT = "SELECT session_hash FROM {db}.events WHERE site = 'shop' AND "


async def test_segment_figures_equal_counts_in_clickhouse(collector_factory: Any) -> None:
    collector, analyst, data = await generated(collector_factory)
    try:
        total = sql_visits(collector)
        assert total[1] == data.visits, "every generated visit is stored as one visit"
        assert await overview(analyst) == total

        german_mobile = await create_segment(
            analyst,
            "German mobile",
            {
                "match": "all",
                "conditions": [
                    {"field": "country", "op": "is", "value": "DE"},
                    {"field": "device", "op": "is", "value": "mobile"},
                ],
            },
        )
        expected = sql_visits(collector, "c = 'DE' AND d = 'mobile'")
        assert expected[1] > 0, "the seed gives some German mobile visits"
        assert await overview(analyst, segment=german_mobile) == expected

        blog_or_video = await create_segment(
            analyst,
            "Blog or video",
            {
                "match": "any",
                "conditions": [
                    {"field": "page", "op": "prefix", "value": "/blog/"},
                    {"field": "event", "op": "is", "value": "Video"},
                ],
            },
        )
        expected = sql_visits(
            collector,
            f"s IN ({SESSIONS_WITH_PAGE} startsWith(path(url), '/blog/')) "
            f"OR s IN ({SESSIONS_WITH_EVENT} type = 1001 AND key = 'Video')",
        )
        assert 0 < expected[1] < data.visits
        assert await overview(analyst, segment=blog_or_video) == expected

        nested = await create_segment(
            analyst,
            "Engaged search",
            {
                "match": "all",
                "conditions": [
                    {"field": "channel", "op": "is_not", "value": "direct"},
                    {
                        "match": "any",
                        "conditions": [
                            {"field": "pageviews", "op": "gte", "value": 3},
                            {"field": "goal", "op": "is", "value": "1"},
                        ],
                    },
                ],
            },
        )
        expected = sql_visits(
            collector, f"ch != 'direct' AND (n >= 3 OR s IN ({SESSIONS_WITH_EVENT} type = 1005 AND key = '1'))"
        )
        assert 0 < expected[1]
        assert await overview(analyst, segment=nested) == expected

        not_pricing = await create_segment(
            analyst,
            "Docs or blog, no pricing",
            {
                "match": "all",
                "conditions": [
                    {"field": "page", "op": "is_not", "value": "/pricing"},
                    {"field": "entry_page", "op": "matches", "value": "^/(docs|blog)/"},
                ],
            },
        )
        expected = sql_visits(
            collector, f"s NOT IN ({SESSIONS_WITH_PAGE} path(url) = '/pricing') AND match(entry, '^/(docs|blog)/')"
        )
        assert 0 < expected[1]
        assert await overview(analyst, segment=not_pricing) == expected

        # the segment applies to page, event, goal and breakdown panels alike, and beside the filters
        sessions = (
            "SELECT session_hash FROM {db}.pageviews WHERE site = 'shop' GROUP BY session_hash "
            "HAVING argMin(country, started_at) = 'DE' AND argMin(device, started_at) = 'mobile'"
        )
        pages = dict(
            collector.rows(
                "SELECT p, count() FROM (SELECT pageview_id, path(max(url)) AS p FROM {db}.pageviews "
                "WHERE site = 'shop' "
                f"AND session_hash IN ({sessions}) GROUP BY pageview_id) GROUP BY p"
            )
        )
        top = (await analyst.api("top_pages", site=GEN_SITE, period="7d", limit=100, segment=german_mobile))["rows"]
        assert {r["page"]: r["pageviews"] for r in top} == pages
        goals = collector.rows(
            f"SELECT count() FROM {{db}}.events WHERE site = 'shop' AND type IN (1005, 1006) "
            f"AND session_hash IN ({sessions})"
        )[0][0]
        goal_rows = (await analyst.api("goals", site=GEN_SITE, period="7d", segment=german_mobile))["rows"]
        assert sum(r["conversions"] for r in goal_rows) == goals
        countries = (await analyst.api("countries", site=GEN_SITE, period="7d", segment=german_mobile))["rows"]
        assert [(r["country"], r["visits"]) for r in countries] == [
            ("DE", sql_visits(collector, "c = 'DE' AND d = 'mobile'")[1])
        ]
        both = sql_visits(collector, "c = 'DE' AND d = 'mobile' AND ch = 'search'")
        assert await overview(analyst, segment=german_mobile, channel="search") == both

        # the figures of the segment are the same through pandas (the query layer run in-process)
        df = frame_from_storage(
            collector.storage, "overview", "UTC", {"site": GEN_SITE, "period": "7d", "segment": german_mobile}
        )
        assert (
            int(df.set_index("metric").loc["visits", "value"]) == sql_visits(collector, "c = 'DE' AND d = 'mobile'")[1]
        )
        document = await analyst.api("overview", site=GEN_SITE, period="7d", segment=german_mobile)
        assert document["filters"] == {"segment": german_mobile}
    finally:
        await analyst.close()


async def test_segment_applies_to_recordings_and_heatmaps(collector_factory: Any) -> None:
    collector = await collector_factory(dashboard_site())
    await seed(collector)
    analyst = await log_in(collector)
    try:
        page = "/page.html"
        segment = await create_segment(
            analyst,
            "Two pages or more",
            {"match": "all", "conditions": [{"field": "pageviews", "op": "gte", "value": 2}]},
            site=SITE,
        )
        chosen = (
            "SELECT session_hash FROM {db}.pageviews WHERE site = {site:String} GROUP BY session_hash "
            "HAVING uniqExact(pageview_id) >= 2"
        )
        recorded = {
            f"{h:016x}"
            for (h,) in collector.rows(
                f"SELECT DISTINCT session_hash FROM {{db}}.playback WHERE site = {{site:String}} "
                f"AND session_hash IN ({chosen})",
                site=SITE,
            )
        }
        everything = {
            f"{h:016x}"
            for (h,) in collector.rows(
                "SELECT DISTINCT session_hash FROM {db}.playback WHERE site = {site:String}", site=SITE
            )
        }
        assert recorded and recorded != everything, "the fixtures hold one-page recordings too"
        listed = (await analyst.api("recordings", site=SITE, period="7d", segment=segment))["rows"]
        assert {r["recording"].zfill(16) for r in listed} == recorded
        clicks = collector.rows(
            "SELECT count() FROM {db}.events WHERE site = {site:String} AND type = 9 AND path(url) = {page:String} "
            f"AND doc_width > 0 AND x >= 0 AND y >= 0 AND session_hash IN ({chosen})",
            site=SITE,
            page=page,
        )[0][0]
        all_clicks = collector.rows(
            "SELECT count() FROM {db}.events WHERE site = {site:String} AND type = 9 AND path(url) = {page:String} "
            "AND doc_width > 0 AND x >= 0 AND y >= 0",
            site=SITE,
            page=page,
        )[0][0]
        cells = (await analyst.api("heatmap_clicks", site=SITE, period="7d", page=page, segment=segment))["rows"]
        assert sum(r["clicks"] for r in cells) == clicks < all_clicks
        # the visitor log links each recorded visit of the segment to its recording
        log = (await analyst.api("visitor_log", site=SITE, period="7d", limit=100, segment=segment))["rows"]
        assert {r["recording"].zfill(16) for r in log if r["recording"]} == recorded
        assert all(r["recording"] in ("", r["visit"]) for r in log)
    finally:
        await analyst.close()


async def test_segment_crud_and_refusals(collector_factory: Any) -> None:
    collector = await collector_factory(generated_site(), matomo_token_auth=TOKEN)
    analyst = await log_in(collector)
    try:
        path = "/dashboard/api/v1/segments"
        definition = {"match": "all", "conditions": [{"field": "country", "op": "is", "value": "DE"}]}
        ident = await create_segment(analyst, "Germany", definition)
        status, body, _ = await analyst.get(f"{path}/{ident}", site=GEN_SITE)
        assert status == 200 and orjson.loads(body)["definition"] == definition
        assert orjson.loads(body)["author"] == "analyst"

        changed = {
            "match": "any",
            "conditions": [
                {"field": "country", "op": "is", "value": "FR"},
                {"field": "page_title", "op": "contains", "value": "pricing"},
            ],
        }
        status, body = await put(
            analyst, f"{path}/{ident}", {"name": "France or pricing", "definition": changed}, site=GEN_SITE
        )
        assert status == 200 and orjson.loads(body)["name"] == "France or pricing"
        listed = (await analyst.api("segments", site=GEN_SITE))["rows"]
        assert [(r["id"], r["name"], orjson.loads(r["definition"])) for r in listed] == [
            (ident, "France or pricing", changed)
        ]
        status, body, _ = await analyst.get(f"{path}.csv", site=GEN_SITE)
        assert status == 200 and list(csv.DictReader(io.StringIO(body.decode())))[0]["name"] == "France or pricing"

        refusals = {
            "definition.conditions[0].field": {"match": "all", "conditions": [{"field": "shoe", "value": "x"}]},
            "definition.conditions[0].value": {
                "match": "all",
                "conditions": [{"field": "page", "op": "matches", "value": "(unclosed"}],
            },
            "definition.conditions[1].conditions[0].value": {
                "match": "all",
                "conditions": [
                    {"field": "page", "value": "/"},
                    {"match": "any", "conditions": [{"field": "page", "op": "matches", "value": "(?=ahead)"}]},
                ],
            },
            "definition.conditions[0].op": {
                "match": "all",
                "conditions": [{"field": "pageviews", "op": "contains", "value": "3"}],
            },
            "definition.match": {"match": "some", "conditions": [{"field": "page", "value": "/"}]},
            "definition.conditions": {"match": "all", "conditions": []},
        }
        for field, bad in refusals.items():
            status, body = await put(analyst, f"{path}/{ident}", {"name": "broken", "definition": bad}, site=GEN_SITE)
            assert status == 400, (field, body)
            assert orjson.loads(body)["error"].startswith(field + ":") or field in orjson.loads(body)["error"], body
        status, body = await put(analyst, f"{path}/{ident}", {"name": "", "definition": definition}, site=GEN_SITE)
        assert status == 400 and b"name" in body
        status, body, _ = await analyst.get(f"{path}/{ident}", site=GEN_SITE)
        assert orjson.loads(body)["name"] == "France or pricing", "a refused change leaves the segment as it was"

        status, body = await analyst.post_json(path, {"name": "x", "definition": definition}, site=GEN_SITE)
        assert status == 403, "a change with the session cookie needs the CSRF token"
        status, body = await analyst.post_json(
            path, {"name": "x", "definition": definition}, csrf=analyst.csrf, site="nosuchsite"
        )
        assert status == 404 and orjson.loads(body)["error"]
        for missing in ("0000deadbeef", "not-an-id"):
            status, body, _ = await analyst.get(f"{path}/{missing}", site=GEN_SITE)
            assert status == 404 and "no segment" in orjson.loads(body)["error"]
            status, body = await put(
                analyst, f"{path}/{missing}", {"name": "x", "definition": definition}, site=GEN_SITE
            )
            assert status == 404
        status, body, _ = await analyst.get("/dashboard/api/v1/overview", site=GEN_SITE, segment="0000deadbeef")
        assert status == 404 and orjson.loads(body)["error"]
        status, body, _ = await analyst.get("/dashboard/api/v1/overview", site=GEN_SITE, segment="x' OR 1=1")
        assert status == 400 and b"segment" in body
        status, body, _ = await analyst.get("/dashboard/api/v1/overview", site="nosuchsite")
        assert status == 404

        status, body = await delete(analyst, f"{path}/{ident}", site=GEN_SITE)
        assert status == 200 and orjson.loads(body) == {"deleted": ident}
        assert (await analyst.api("segments", site=GEN_SITE))["rows"] == []
        status, _, _ = await analyst.get("/dashboard/api/v1/top_pages", site=GEN_SITE, segment=ident)
        assert status == 404, "a deleted segment is unknown"
        status, _ = await delete(analyst, f"{path}/{ident}", site=GEN_SITE)
        assert status == 404
    finally:
        await analyst.close()


async def test_segments_are_shared_per_site(collector_factory: Any) -> None:
    collector = await collector_factory(
        generated_site(), make_site(id="other", origins=["http://other.example"]), matomo_token_auth=TOKEN
    )
    first = await log_in(collector)
    await collector.storage.run(accounts(collector).save_analyst, "second", PASSWORD)
    second = await log_in(collector, "second")
    try:
        ident = await create_segment(
            first, "Mobile", {"match": "all", "conditions": [{"field": "device", "op": "is", "value": "mobile"}]}
        )
        assert [r["id"] for r in (await second.api("segments", site=GEN_SITE))["rows"]] == [ident]
        assert (await second.api("segments", site="other"))["rows"] == []
        status, _, _ = await second.get("/dashboard/api/v1/overview", site="other", segment=ident)
        assert status == 404, "a segment belongs to its site"
    finally:
        await first.close()
        await second.close()
