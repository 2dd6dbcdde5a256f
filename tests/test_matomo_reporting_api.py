"""Matomo's Reporting API at /index.php against the real engine, over a real socket.

Visits go in through the real ingest paths (the captured clarity-js uploads, the captured matomo.js
visit and hand-made Matomo tracking hits); each method's figures are compared with counts computed
directly in ClickHouse. The published `matomopy` client drives it as a script would; raw requests
check the shapes Matomo's API reference documents, the formats, the errors and a parameter fuzz.
"""

from __future__ import annotations

import asyncio
import csv
import io
import re
import xml.etree.ElementTree as ET
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

import orjson
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from matomopy import MatomoClient
from matomopy.exceptions import MatomoAPIError, MatomoAuthenticationError, MatomoHTTPError

from tests.support.collector import CollectorFactory, RunningCollector
from tests.support.dashboard import PASSWORD, SITE, accounts, dashboard_site, seed
from tests.support.matomo import hit
from tests.support.segments import GEN_SITE, create_segment, generated

pytestmark = pytest.mark.asyncio

IDSITE = 1
#: Hand-made Matomo visits (one per visitor id) with known pages, referrers, events, goals and links.
VISITS: list[list[dict[str, Any]]] = [
    [  # from a search engine: two pages, an event with a value, goal 1
        {
            "url": "https://shop.example/home",
            "action_name": "Home",
            "urlref": "https://www.google.com/search?q=x",
            "pv_id": "a1",
        },
        {"url": "https://shop.example/pricing", "action_name": "Pricing", "pv_id": "a2"},
        {
            "url": "https://shop.example/pricing",
            "e_c": "Video",
            "e_a": "play",
            "e_n": "intro",
            "e_v": "3",
            "pv_id": "a2",
        },
        {"url": "https://shop.example/pricing", "idgoal": "1", "revenue": "10", "pv_id": "a2"},
    ],
    [  # from a website: one page (a bounce) and an event without value
        {
            "url": "https://shop.example/home",
            "action_name": "Home",
            "urlref": "https://blog.example.net/post",
            "pv_id": "b1",
        },
        {"url": "https://shop.example/home", "e_c": "Video", "e_a": "pause", "pv_id": "b1"},
    ],
    [  # from a campaign: a page, an outlink, a download and a site search
        {"url": "https://shop.example/blog/post?mtm_campaign=Spring", "action_name": "Post", "pv_id": "c1"},
        {"url": "https://shop.example/blog/post", "link": "https://elsewhere.example/x", "pv_id": "c1"},
        {"url": "https://shop.example/blog/post", "download": "https://shop.example/file.pdf", "pv_id": "c1"},
        {"url": "https://shop.example/search", "search": "shoes", "search_cat": "all", "pv_id": "c2"},
    ],
]


async def seed_all(collector: RunningCollector) -> None:
    await seed(collector)
    for number, actions in enumerate(VISITS):
        visitor = f"{number + 1:016x}"
        for action in actions:
            status, _ = await hit(
                collector, {"idsite": IDSITE, "_id": visitor, "cid": visitor, "send_image": 0, **action}
            )
            assert status == 204, action
    await collector.flush()


async def token_for(collector: RunningCollector, name: str = "script") -> str:
    store = accounts(collector)
    await collector.storage.run(store.save_analyst, name, PASSWORD)
    return str(await collector.storage.run(store.create_token, name, "reporting api"))


async def started(collector_factory: CollectorFactory, **settings_overrides: Any) -> tuple[RunningCollector, str]:
    collector = await collector_factory(dashboard_site(), **settings_overrides)
    await seed_all(collector)
    return collector, await token_for(collector)


async def api(collector: RunningCollector, verb: str = "GET", /, **params: Any) -> tuple[int, bytes, Any]:
    """One Reporting API call; `verb` is positional only, so any query parameter name goes to `params`."""
    params.setdefault("module", "API")
    if verb == "GET":
        async with collector.http.get(collector.url + "/index.php", params=params) as response:
            return response.status, await response.read(), response.headers
    async with collector.http.post(collector.url + "/index.php", data=params) as response:
        return response.status, await response.read(), response.headers


async def api_json(collector: RunningCollector, token: str, method: str, **params: Any) -> Any:
    status, body, _ = await api(collector, "POST", method=method, token_auth=token, format="JSON", **params)
    assert status == 200, (status, body[:300])
    data = orjson.loads(body)
    assert not (isinstance(data, dict) and data.get("result") == "error"), data
    return data


# --- expected figures, straight from ClickHouse ---------------------------------------------------

VISIT_SQL = (
    "SELECT session_hash, any(visitor_hash) AS visitor, uniqExact(pageview_id) AS views, "
    "argMin(channel, started_at) AS channel, argMin(country, started_at) AS country, "
    "argMin(device, started_at) AS device, argMin(browser, started_at) AS browser, "
    "toUnixTimestamp64Milli(max(last_at)) - toUnixTimestamp64Milli(min(started_at)) AS ms "
    "FROM {db}.pageviews WHERE site = {site:String} GROUP BY session_hash"
)


def expected_summary(collector: RunningCollector) -> dict[str, Any]:
    visits = collector.rows(VISIT_SQL, site=SITE)
    actions = dict(
        collector.rows(
            "SELECT session_hash, count() FROM {db}.events WHERE site = {site:String} "
            "AND type IN (1001, 1002, 1003, 1004) "
            "GROUP BY session_hash",
            site=SITE,
        )
    )
    converted = {
        s
        for (s,) in collector.rows(
            "SELECT DISTINCT session_hash FROM {db}.events WHERE site = {site:String} AND type IN (1005, 1006)",
            site=SITE,
        )
    }
    per_visit = [v[2] + actions.get(v[0], 0) for v in visits]
    return {
        "nb_uniq_visitors": len({v[1] for v in visits}),
        "nb_visits": len(visits),
        "nb_actions": sum(per_visit),
        "max_actions": max(per_visit),
        "bounce_count": sum(1 for v in visits if v[2] == 1),
        "sum_visit_length": round(sum(v[7] for v in visits) / 1000),
        "nb_visits_converted": len(converted & {v[0] for v in visits}),
    }


def count_by(collector: RunningCollector, column: int) -> dict[str, int]:
    counts: dict[str, int] = {}
    for visit in collector.rows(VISIT_SQL, site=SITE):
        counts[visit[column]] = counts.get(visit[column], 0) + 1
    return counts


# --- figures --------------------------------------------------------------------------------------


async def test_visits_summary_and_reports_equal_clickhouse(collector_factory: CollectorFactory) -> None:
    collector, token = await started(collector_factory)
    common = {"idSite": IDSITE, "period": "day", "date": "today"}
    expected = expected_summary(collector)
    assert expected["nb_visits"] >= 10 and expected["nb_visits_converted"] >= 2

    summary = await api_json(collector, token, "VisitsSummary.get", **common)
    assert {k: summary[k] for k in expected} == expected
    visits = expected["nb_visits"]
    assert summary["bounce_rate"] == f"{round(expected['bounce_count'] * 100 / visits)}%"
    assert summary["nb_actions_per_visit"] == round(expected["nb_actions"] / visits, 1)
    assert summary["avg_time_on_site"] == round(expected["sum_visit_length"] / visits)

    # the dashboards' overview counts the same visits
    async with collector.http.get(
        collector.url + "/dashboard/api/v1/overview",
        params={"site": SITE, "period": "today"},
        headers={"Authorization": f"Bearer {token}"},
    ) as response:
        rows = {r["metric"]: r["value"] for r in (await response.json())["rows"]}
    assert (rows["visits"], rows["visitors"]) == (summary["nb_visits"], summary["nb_uniq_visitors"])

    channels = {
        r["label"]: r["nb_visits"] for r in await api_json(collector, token, "Referrers.getReferrerType", **common)
    }
    names = {
        "direct": "Direct Entry",
        "search": "Search Engines",
        "website": "Websites",
        "campaign": "Campaigns",
        "social": "Social Networks",
    }
    assert channels == {names[k]: v for k, v in count_by(collector, 3).items()}

    countries = await api_json(collector, token, "UserCountry.getCountry", **common)
    assert sum(r["nb_visits"] for r in countries) == visits
    assert {r["code"]: r["nb_visits"] for r in countries} == {
        (k or "xx").lower(): v for k, v in count_by(collector, 4).items()
    }
    browsers = await api_json(collector, token, "DevicesDetection.getBrowsers", **common)
    stored_browsers = {k or "Unknown": v for k, v in count_by(collector, 6).items()}
    assert {r["label"]: r["nb_visits"] for r in browsers} == stored_browsers
    devices = await api_json(collector, token, "DevicesDetection.getType", **common)
    assert sum(r["nb_visits"] for r in devices) == visits

    websites = await api_json(collector, token, "Referrers.getWebsites", **common)
    assert [(r["label"], r["nb_visits"]) for r in websites] == [("blog.example.net", 1)]
    assert websites[0]["segment"] == "referrerName==blog.example.net"
    engines = await api_json(collector, token, "Referrers.getSearchEngines", **common)
    assert sum(r["nb_visits"] for r in engines) == count_by(collector, 3).get("search", 0) >= 1
    campaigns = await api_json(collector, token, "Referrers.getCampaigns", **common)
    stored_campaigns = dict(
        collector.rows(
            "SELECT c, count() FROM (SELECT session_hash, argMin(campaign_name, started_at) AS c FROM {db}.pageviews "
            "WHERE site = {site:String} AND channel = 'campaign' GROUP BY session_hash) GROUP BY c",
            site=SITE,
        )
    )
    assert {r["label"]: r["nb_visits"] for r in campaigns} == stored_campaigns
    assert "spring" in stored_campaigns

    pages = await api_json(collector, token, "Actions.getPageUrls", flat=1, filter_limit=-1, **common)
    stored_pages = collector.rows(
        "SELECT p, count(), uniqExact(s) FROM (SELECT pageview_id, path(max(url)) AS p, any(session_hash) AS s "
        "FROM {db}.pageviews WHERE site = {site:String} GROUP BY pageview_id) GROUP BY p",
        site=SITE,
    )
    assert {r["label"]: (r["nb_hits"], r["nb_visits"]) for r in pages} == {p: (h, v) for p, h, v in stored_pages}
    assert sum(r["entry_nb_visits"] for r in pages) == visits == sum(r["exit_nb_visits"] for r in pages)
    titles = await api_json(collector, token, "Actions.getPageTitles", filter_limit=-1, **common)
    assert sum(r["nb_hits"] for r in titles) == sum(h for _, h, _ in stored_pages)
    assert {"Home", "Pricing", "Post"} <= {r["label"] for r in titles}, titles

    actions = await api_json(collector, token, "Actions.get", **common)
    by_type = dict(
        collector.rows("SELECT type, count() FROM {db}.events WHERE site = {site:String} GROUP BY type", site=SITE)
    )
    assert actions["nb_pageviews"] == sum(h for _, h, _ in stored_pages)
    assert (actions["nb_downloads"], actions["nb_outlinks"], actions["nb_searches"]) == (
        by_type.get(1004, 0),
        by_type.get(1003, 0),
        by_type.get(1002, 0),
    )

    categories = await api_json(collector, token, "Events.getCategory", **common)
    stored_events = dict(
        collector.rows(
            "SELECT key, count() FROM {db}.events WHERE site = {site:String} AND type = 1001 GROUP BY key", site=SITE
        )
    )
    assert {r["label"]: r["nb_events"] for r in categories} == stored_events
    video = next(r for r in categories if r["label"] == "Video")
    stored_video = collector.rows(
        "SELECT count(), uniqExact(session_hash), sum(num), max(num) FROM {db}.events WHERE site = {site:String} "
        "AND type = 1001 AND key = 'Video'",
        site=SITE,
    )[0]
    assert stored_video[0] >= 2, "two hand-made Video events at least"
    assert (video["nb_events"], video["nb_visits"], video["sum_event_value"], video["max_event_value"]) == (
        stored_video[0],
        stored_video[1],
        round(stored_video[2], 2),
        round(stored_video[3], 2),
    )
    assert video["segment"] == "eventCategory==Video"

    goals = await api_json(collector, token, "Goals.get", **common)
    stored_goals = collector.rows(
        "SELECT count(), uniqExact(session_hash), sum(num) FROM {db}.events WHERE site = {site:String} "
        "AND type IN (1005, 1006)",
        site=SITE,
    )[0]
    assert (goals["nb_conversions"], goals["nb_visits_converted"], goals["revenue"]) == (
        stored_goals[0],
        stored_goals[1],
        round(stored_goals[2], 2),
    )
    assert goals["conversion_rate"] == f"{round(stored_goals[1] * 100 / visits, 2):g}%"
    goal_one = await api_json(collector, token, "Goals.get", idGoal=1, **common)
    stored_one = collector.rows(
        "SELECT count(), round(sum(num), 2) FROM {db}.events WHERE site = {site:String} AND type = 1005 AND key = '1'",
        site=SITE,
    )[0]
    assert (goal_one["nb_conversions"], goal_one["revenue"]) == stored_one and stored_one[0] >= 1

    live = await api_json(collector, token, "Live.getLastVisitsDetails", idSite=IDSITE, filter_limit=5)
    assert len(live) == 5
    starts = [v["firstActionTimestamp"] for v in live]
    assert starts == sorted(starts, reverse=True), "newest first"
    assert all(len(v["visitorId"]) <= 16 and v["actions"] >= len(v["actionDetails"]) >= 1 for v in live)
    assert all(set(a) == {"type", "url", "pageTitle", "timestamp"} for v in live for a in v["actionDetails"])


async def test_published_client_periods_segments_and_bulk(collector_factory: CollectorFactory) -> None:
    collector, token = await started(collector_factory)
    expected = expected_summary(collector)
    client = MatomoClient(collector.url, token_auth=token, default_id_site=IDSITE)
    bearer = MatomoClient(collector.url, token_auth=token, default_id_site=IDSITE, auth_method="bearer")

    def with_client() -> dict[str, Any]:
        return {
            "version": client.get_matomo_version(),
            "sites": client.SitesManager.getSitesWithAtLeastViewAccess(),
            "day": client.VisitsSummary.get(period="day", date="today"),
            "bearer": bearer.VisitsSummary.get(period="day", date="today"),
            "week": client.VisitsSummary.get(period="week", date="today"),
            "last3": client.VisitsSummary.get(period="day", date="last3"),
            "previous2": client.VisitsSummary.get(period="day", date="previous2"),
            "range": client.VisitsSummary.get(period="range", date="last7"),
            "search": client.VisitsSummary.get(period="day", date="today", segment="referrerType==search"),
            "page": client.VisitsSummary.get(
                period="day", date="today", segment="pageUrl=^https%3A%2F%2Fshop.example%2Fblog"
            ),
            "bulk": client.bulk_request(
                [
                    {"method": "VisitsSummary.get", "idSite": IDSITE, "period": "day", "date": "today"},
                    "method=Actions.get&idSite=1&period=day&date=today",
                    {"method": "Nope.get", "idSite": IDSITE, "period": "day", "date": "today"},
                ]
            ),
            "csv": client.VisitsSummary.get(period="day", date="today", format="csv", convertToUnicode=0),
        }

    got = await asyncio.to_thread(with_client)
    assert got["version"] == "5.2.0"
    assert [s["idsite"] for s in got["sites"]] == [IDSITE] and got["sites"][0]["timezone"] == "UTC"
    assert got["day"]["nb_visits"] == got["bearer"]["nb_visits"] == expected["nb_visits"]
    assert got["week"]["nb_visits"] == got["range"]["nb_visits"] == expected["nb_visits"]

    today = datetime.now(timezone.utc).date()
    days = [(today - timedelta(days=n)).isoformat() for n in (2, 1, 0)]
    assert list(got["last3"]) == days, "lastN: keyed by day, oldest first, ending today"
    assert got["last3"][days[-1]]["nb_visits"] == expected["nb_visits"]
    assert got["last3"][days[0]]["nb_visits"] == 0
    assert list(got["previous2"]) == days[:2], "previousN ends yesterday"

    search_visits = count_by(collector, 3).get("search", 0)
    assert got["search"]["nb_visits"] == search_visits >= 1
    blog_visits = collector.rows(
        "SELECT uniqExact(session_hash) FROM {db}.pageviews WHERE site = {site:String} "
        "AND startsWith(path(url), '/blog')",
        site=SITE,
    )[0][0]
    assert got["page"]["nb_visits"] == blog_visits >= 1

    first, second, third = got["bulk"]
    assert first["nb_visits"] == expected["nb_visits"]
    assert "nb_pageviews" in second
    assert third["result"] == "error" and "not enabled" in third["message"]

    header, values = got["csv"].splitlines()
    assert dict(zip(header.split(","), values.split(","), strict=True))["nb_visits"] == str(expected["nb_visits"])

    # week labels: Monday to Sunday
    monday = today - timedelta(days=today.weekday())
    weeks = await api_json(collector, token, "VisitsSummary.get", idSite=IDSITE, period="week", date="last2")
    assert list(weeks) == [
        f"{monday - timedelta(days=7)},{monday - timedelta(days=1)}",
        f"{monday},{monday + timedelta(days=6)}",
    ]
    months = await api_json(
        collector,
        token,
        "VisitsSummary.get",
        idSite=IDSITE,
        period="month",
        date=f"{today.replace(day=1) - timedelta(days=1)},{today}",
    )
    assert list(months)[-1] == today.strftime("%Y-%m") and len(months) == 2

    def refused() -> list[type[Exception]]:
        errors: list[type[Exception]] = []
        calls: tuple[Callable[[], object], ...] = (
            lambda: MatomoClient(collector.url, token_auth="wat_nope_nope").VisitsSummary.get(
                id_site=IDSITE, period="day", date="today"
            ),
            lambda: client.VisitsSummary.get(period="fortnight", date="today"),
        )
        for call in calls:
            try:
                call()
            except (MatomoHTTPError, MatomoAuthenticationError, MatomoAPIError) as error:
                errors.append(type(error))
        return errors

    assert await asyncio.to_thread(refused) == [MatomoHTTPError, MatomoAPIError]


# --- shapes, formats and errors -------------------------------------------------------------------

#: Shapes from Matomo's API reference: the keys a row of each report has (that we fill).
REFERENCE_SHAPES = {
    "VisitsSummary.get": {
        "nb_uniq_visitors",
        "nb_visits",
        "nb_actions",
        "nb_visits_converted",
        "bounce_count",
        "sum_visit_length",
        "max_actions",
        "bounce_rate",
        "nb_actions_per_visit",
        "avg_time_on_site",
    },
    "Actions.get": {
        "nb_pageviews",
        "nb_uniq_pageviews",
        "nb_downloads",
        "nb_uniq_downloads",
        "nb_outlinks",
        "nb_uniq_outlinks",
        "nb_searches",
        "nb_keywords",
    },
    "Goals.get": {"nb_conversions", "nb_visits_converted", "revenue", "conversion_rate"},
}
REFERENCE_ROWS = {
    "UserCountry.getCountry": {
        "label",
        "nb_uniq_visitors",
        "nb_visits",
        "nb_actions",
        "max_actions",
        "sum_visit_length",
        "bounce_count",
        "nb_visits_converted",
        "code",
        "logo",
        "segment",
    },
    "Referrers.getReferrerType": {
        "label",
        "nb_uniq_visitors",
        "nb_visits",
        "nb_actions",
        "max_actions",
        "sum_visit_length",
        "bounce_count",
        "nb_visits_converted",
        "segment",
    },
    "Actions.getPageUrls": {
        "label",
        "nb_visits",
        "nb_hits",
        "sum_time_spent",
        "entry_nb_visits",
        "entry_bounce_count",
        "exit_nb_visits",
        "avg_time_on_page",
        "bounce_rate",
        "exit_rate",
        "url",
        "segment",
    },
    "Events.getCategory": {
        "label",
        "nb_uniq_visitors",
        "nb_visits",
        "nb_events",
        "nb_events_with_value",
        "sum_event_value",
        "min_event_value",
        "max_event_value",
        "avg_event_value",
        "segment",
    },
}


async def test_shapes_formats_and_errors(collector_factory: CollectorFactory) -> None:
    collector, token = await started(collector_factory)
    common = {"idSite": IDSITE, "period": "day", "date": "today", "token_auth": token}
    for method, keys in REFERENCE_SHAPES.items():
        data = await api_json(collector, token, method, **{k: v for k, v in common.items() if k != "token_auth"})
        assert isinstance(data, dict) and keys <= set(data), method
    for method, keys in REFERENCE_ROWS.items():
        rows = await api_json(collector, token, method, **{k: v for k, v in common.items() if k != "token_auth"})
        assert isinstance(rows, list) and rows and all(keys <= set(r) for r in rows), method

    # XML is Matomo's default format
    status, body, headers = await api(collector, method="VisitsSummary.get", **common)
    assert status == 200 and headers["Content-Type"].startswith("text/xml")
    root = ET.fromstring(body)
    assert root.tag == "result" and int(root.findtext("nb_visits") or -1) == expected_summary(collector)["nb_visits"]
    status, body, _ = await api(collector, method="UserCountry.getCountry", **common)
    assert all(row.findtext("segment", "").startswith("countryCode==") for row in ET.fromstring(body).iter("row"))
    status, body, _ = await api(collector, method="VisitsSummary.get", **{**common, "date": "last2"})
    results = ET.fromstring(body)
    assert results.tag == "results" and [r.get("date") for r in results] == [
        (date.today() - timedelta(days=n)).isoformat() for n in (1, 0)
    ]

    # CSV (UTF-16 with a BOM by default, as Matomo), TSV, metadata columns, formula cells neutralised
    status, body, headers = await api(collector, method="Actions.getPageTitles", format="CSV", **common)
    assert status == 200 and body.startswith(b"\xff\xfe") and headers["Content-Type"] == "application/vnd.ms-excel"
    table = list(csv.DictReader(io.StringIO(body[2:].decode("utf-16-le"))))
    assert {"label", "nb_hits", "metadata_segment"} <= set(table[0])
    status, body, _ = await api(collector, method="Actions.getPageTitles", format="tsv", convertToUnicode=0, **common)
    assert body.decode().splitlines()[0].split("\t")[:2] == ["label", "nb_visits"]
    await hit(
        collector,
        {
            "idsite": IDSITE,
            "_id": "f" * 16,
            "send_image": 0,
            "url": "https://shop.example/x",
            "pv_id": "f1",
            "action_name": '=HYPERLINK("http://evil.example")',
        },
    )
    await collector.flush()
    status, body, _ = await api(
        collector, method="Actions.getPageTitles", format="csv", convertToUnicode=0, filter_limit=-1, **common
    )
    labels = [row["label"] for row in csv.DictReader(io.StringIO(body.decode()))]
    assert '\'=HYPERLINK("http://evil.example")' in labels and not any(v.startswith("=") for v in labels)

    # errors: bad or missing token 401, unknown method 400, bad parameters 200 with Matomo's error body
    cases = [
        ({"method": "VisitsSummary.get", **common, "token_auth": "wat_0_bad"}, 401, "Unable to authenticate"),
        (
            {"method": "VisitsSummary.get", **{k: v for k, v in common.items() if k != "token_auth"}},
            401,
            "requires 'view' access",
        ),
        ({"method": "VisitsSummary.nope", **common}, 400, "does not exist"),
        ({"method": "Nope.get", **common}, 200, "is not enabled"),
        ({"method": "nomodule", **common}, 200, "Expected 'module.methodName'"),
        ({"method": "VisitsSummary.get", **common, "period": "fortnight"}, 200, "is not supported"),
        ({"method": "VisitsSummary.get", **common, "date": "someday"}, 200, "Date format must be"),
        (
            {"method": "VisitsSummary.get", **common, "period": "range", "date": "2024-01-01"},
            200,
            "not a correct date range",
        ),
        ({"method": "VisitsSummary.get", **common, "idSite": 99}, 200, "unexpected website"),
        ({"method": "VisitsSummary.get", **common, "segment": "deviceType=@mobile"}, 200, "not supported"),
        ({"method": "VisitsSummary.get", **common, "segment": "visitCount==3"}, 200, "not a supported segment"),
        ({"method": "VisitsSummary.get", **common, "date": "last9999"}, 200, "lastN"),
    ]
    for params, status_code, text in cases:
        status, body, _ = await api(collector, "POST", format="json", **params)
        assert status == status_code, (params, body)
        error = orjson.loads(body)
        assert error["result"] == "error" and text in error["message"], (params, error)
    status, body, _ = await api(collector, method="VisitsSummary.get", **{**common, "period": "<b>"})
    assert status == 200 and ET.fromstring(body).find("error") is not None and b"<b>" not in body
    status, body, _ = await api(collector, method="VisitsSummary.get", format="csv", **{**common, "period": "x"})
    assert body.startswith(b"Error: ")

    # no token, no data: not the sites list, not the version
    status, body, _ = await api(collector, method="SitesManager.getSitesWithAtLeastViewAccess", format="json")
    assert (status, orjson.loads(body)) == (200, [])
    status, body, _ = await api(collector, method="API.getMatomoVersion", format="json")
    assert status == 401


async def test_failed_tokens_and_call_budget_are_limited(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site(), rate_limit_exempt="", rate_limit_per_minute=30)
    token = await token_for(collector)
    params = {"method": "VisitsSummary.get", "idSite": IDSITE, "period": "day", "date": "today", "format": "json"}
    statuses = [(await api(collector, **params, token_auth=f"wat_{n:04d}_wrong"))[0] for n in range(7)]
    assert statuses[:5] == [401] * 5 and statuses[5:] == [429, 429], statuses
    status, body, headers = await api(collector, **params, token_auth=token)
    assert status == 429 and int(headers["Retry-After"]) >= 1, "the address stays blocked for a while"


async def test_call_budget(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site(), rate_limit_exempt="", rate_limit_per_minute=4)
    token = await token_for(collector)
    params = {"method": "API.getMatomoVersion", "format": "json", "token_auth": token}
    statuses = [(await api(collector, **params))[0] for _ in range(4)]
    assert statuses == [200] * 4
    status, _, headers = await api(collector, **params)
    assert status == 429 and "Retry-After" in headers
    bulk = {
        "method": "API.getBulkRequest",
        "format": "json",
        "token_auth": token,
        **{f"urls[{i}]": "method=API.getMatomoVersion" for i in range(3)},
    }
    assert (await api(collector, "POST", **bulk))[0] == 429


# --- fuzz -----------------------------------------------------------------------------------------

METHOD_NAMES = [
    "VisitsSummary.get",
    "Actions.getPageUrls",
    "Referrers.getWebsites",
    "Live.getLastVisitsDetails",
    "Goals.get",
    "Events.getCategory",
    "API.getBulkRequest",
    "UserCountry.getCountry",
    "x",
    "",
]
VALUE = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        ["today", "last3", "previous2", "2024-02-30", "-1", "2024-01-01,2024-01-31", "day", "week", "range", "1"]
    ),
)


async def test_fuzzed_parameters_never_give_5xx(collector_factory: CollectorFactory) -> None:
    collector, token = await started(collector_factory)
    seen: set[int] = set()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
    @given(
        method=st.sampled_from(METHOD_NAMES),
        fmt=st.sampled_from(["json", "xml", "csv", "tsv", "JSON", "html", ""]),
        extra=st.dictionaries(
            st.sampled_from(
                [
                    "idSite",
                    "period",
                    "date",
                    "segment",
                    "filter_limit",
                    "filter_offset",
                    "idGoal",
                    "flat",
                    "urls[0]",
                    "token_auth",
                ]
            ),
            VALUE,
            max_size=6,
        ),
        post=st.booleans(),
    )
    def fuzz(method: str, fmt: str, extra: dict[str, str], post: bool) -> None:
        params = {
            "module": "API",
            "method": method,
            "format": fmt,
            "idSite": "1",
            "period": "day",
            "date": "today",
            "token_auth": token,
            **extra,
        }
        if post:
            response = requests.post(collector.url + "/index.php", data=params, timeout=60)
        else:
            response = requests.get(collector.url + "/index.php", params=params, timeout=60)
        seen.add(response.status_code)
        assert response.status_code in (200, 400, 401), (params, response.status_code, response.text[:300])

    await asyncio.to_thread(fuzz)
    assert 200 in seen


# --- segments -------------------------------------------------------------------------------------

#: One row per visit of the generated site, straight from the stored page views and events.
SEGMENT_VISITS_SQL = (
    "SELECT session_hash, any(visitor_hash), argMin(channel, started_at), argMin(country, started_at), "
    "argMin(device, started_at), argMin(browser, started_at), argMin(os, started_at), "
    "argMin(if(referrer_name != '', referrer_name, referrer_host), started_at), argMin(campaign_name, started_at), "
    "(toUnixTimestamp64Milli(max(last_at)) - toUnixTimestamp64Milli(min(started_at))) / 1000, "
    "argMin(path(url), started_at), max((started_at, path(url))).2, groupUniqArray(url), groupUniqArray(title) "
    "FROM {db}.pageviews WHERE site = {site:String} GROUP BY session_hash"
)
SEGMENT_EVENTS_SQL = "SELECT session_hash, type, key, value, text FROM {db}.events WHERE site = {site:String}"


def stored_visits(collector: RunningCollector, site: str) -> list[dict[str, Any]]:
    """Each visit's attributes as Matomo's segments read them, for expectations written in plain Python."""
    events: dict[str, list[tuple[int, str, str, str]]] = {}
    for session, kind, key, value, text in collector.rows(SEGMENT_EVENTS_SQL, site=site):
        events.setdefault(session, []).append((kind, key, value, text))
    names = (
        "s",
        "visitor",
        "channel",
        "country",
        "device",
        "browser",
        "os",
        "referrer",
        "campaign",
        "seconds",
        "entry",
        "exit",
        "urls",
        "titles",
    )
    visits = [dict(zip(names, row, strict=True)) for row in collector.rows(SEGMENT_VISITS_SQL, site=site)]
    for visit in visits:
        visit["events"] = events.get(visit["s"], [])
    return visits


def _bare(url: str) -> str:
    return re.sub(r"^[a-z]+://(www\.)?", "", url)


def _event(visit: dict[str, Any], test: Any, column: int, types: tuple[int, ...] = (24, 1001)) -> bool:
    return any(kind in types and test(e[column]) for e in visit["events"] for kind in [e[0]])


def _referrer_name(visit: dict[str, Any]) -> str:
    return str(visit["campaign"] if visit["channel"] == "campaign" else visit["referrer"])


#: (segment as a client sends it, which visits it keeps): one row per operator and per segment name.
SEGMENT_CASES: list[tuple[str, Any]] = [
    ("referrerType==search", lambda v: v["channel"] == "search"),
    ("referrerType!=search", lambda v: v["channel"] != "search"),
    ("countryCode==de", lambda v: v["country"] == "DE"),
    ("countryCode!=de", lambda v: v["country"] != "DE"),
    ("deviceType==smartphone", lambda v: v["device"] == "mobile"),
    ("deviceType!=desktop", lambda v: v["device"] != "desktop"),
    ("browserName=@safari", lambda v: "safari" in v["browser"].lower()),
    ("browserName!@safari", lambda v: "safari" not in v["browser"].lower()),
    ("browserCode==MF", lambda v: v["browser"] == "Mobile Safari"),
    ("operatingSystemName==GNU%2FLinux", lambda v: v["os"] == "Linux"),
    ("operatingSystemCode==IOS", lambda v: v["os"] == "iOS"),
    ("pageUrl==http%3A%2F%2Fwww.shop.example%2Fpricing", lambda v: "shop.example/pricing" in map(_bare, v["urls"])),
    ("pageUrl!=http%3A%2F%2Fshop.example%2Fpricing", lambda v: "shop.example/pricing" not in map(_bare, v["urls"])),
    (
        "pageUrl=^https%3A%2F%2Fshop.example%2Fblog",
        lambda v: any(_bare(u).startswith("shop.example/blog") for u in v["urls"]),
    ),
    ("pageUrl=@BLOG", lambda v: any("blog" in u.lower() for u in v["urls"])),
    ("pageUrl!@blog", lambda v: not any("blog" in u.lower() for u in v["urls"])),
    ("pageUrl=$%2Fhowto", lambda v: any(urlsplit(u).path.endswith("/howto") for u in v["urls"])),  # a path
    ("pageUrl=$howto", lambda v: any(u.endswith("howto") for u in v["urls"])),
    ("pageUrl=^%2Fdocs", lambda v: any(_bare(u).startswith("shop.example/docs") for u in v["urls"])),
    ("pageTitle==Title%20%2Fpricing", lambda v: "Title /pricing" in v["titles"]),
    ("pageTitle=$ing", lambda v: any(t.endswith("ing") for t in v["titles"])),
    ("entryPageUrl==http%3A%2F%2Fshop.example%2Fdocs%2Finstall", lambda v: v["entry"] == "/docs/install"),
    ("entryPageUrl!=%2F", lambda v: v["entry"] != "/"),
    ("exitPageUrl=^%2Fblog", lambda v: v["exit"].startswith("/blog")),
    ("eventCategory==Video", lambda v: _event(v, lambda x: x == "Video", 1)),
    ("eventAction==Play", lambda v: _event(v, lambda x: x == "Play", 2)),
    ("eventAction!=Play", lambda v: not _event(v, lambda x: x == "Play", 2)),
    ("eventName=@INTR", lambda v: _event(v, lambda x: "intr" in x.lower(), 3, (1001,))),
    ("visitConvertedGoalId==2", lambda v: _event(v, lambda x: x == "2", 1, (1005,))),
    ("visitConvertedGoalId!=2", lambda v: not _event(v, lambda x: x == "2", 1, (1005,))),
    ("campaignName==Spring", lambda v: v["campaign"] == "spring"),
    ("campaignName==", lambda v: v["campaign"] == ""),
    ("campaignName!=", lambda v: v["campaign"] != ""),
    ("referrerName==Spring", lambda v: _referrer_name(v).lower() == "spring"),
    ("referrerName=@google", lambda v: "google" in _referrer_name(v).lower()),
    ("referrerName!@google", lambda v: "google" not in _referrer_name(v).lower()),
]


async def matomo_segment_counts(
    collector: RunningCollector, token: str, segments: list[str], **common: Any
) -> list[Any]:
    """VisitsSummary.get of each segment in one bulk request (each url encodes its segment once more)."""
    urls = {
        f"urls[{i}]": urlencode({"method": "VisitsSummary.get", **common, "segment": s}) for i, s in enumerate(segments)
    }
    answers = await api_json(collector, token, "API.getBulkRequest", **urls)
    assert len(answers) == len(segments)
    return list(answers)


async def test_segment_operators_and_precedence_equal_clickhouse(collector_factory: Any) -> None:
    collector, analyst, _ = await generated(collector_factory)
    try:
        token = await token_for(collector)
        common = {"idSite": 7, "period": "range", "date": "last7"}
        visits = stored_visits(collector, GEN_SITE)
        durations = sorted(v["seconds"] for v in visits)
        middle = durations[len(durations) // 2]
        cases = [
            *SEGMENT_CASES,
            (f"visitDuration>{middle}", lambda v: v["seconds"] > middle),
            (f"visitDuration<={middle}", lambda v: v["seconds"] <= middle),
            (f"visitDuration>={middle}", lambda v: v["seconds"] >= middle),
            (f"visitDuration<{middle}", lambda v: v["seconds"] < middle),
        ]
        answers = await matomo_segment_counts(collector, token, [s for s, _ in cases], **common)
        for (segment, keep), answer in zip(cases, answers, strict=True):
            kept = [v for v in visits if keep(v)]
            assert (answer["nb_visits"], answer["nb_uniq_visitors"]) == (
                len(kept),
                len({v["visitor"] for v in kept}),
            ), segment
        # the data make each case a real test: most keep some visits and drop others
        sizes = [sum(1 for v in visits if keep(v)) for _, keep in cases]
        assert sum(1 for n in sizes if 0 < n < len(visits)) >= len(cases) - 3, list(zip(cases, sizes, strict=True))

        # OR binds tighter than AND, as in Matomo: a;b,c is a AND (b OR c)
        def search(v: dict[str, Any]) -> bool:
            return bool(v["channel"] == "search")

        def social(v: dict[str, Any]) -> bool:
            return bool(v["channel"] == "social")

        def mobile(v: dict[str, Any]) -> bool:
            return bool(v["device"] == "mobile")

        precedence: list[tuple[str, Callable[[dict[str, Any]], bool], Callable[[dict[str, Any]], bool]]] = [
            (
                "referrerType==search,referrerType==social;deviceType==smartphone",
                lambda v: (search(v) or social(v)) and mobile(v),
                lambda v: search(v) or (social(v) and mobile(v)),
            ),
            (
                "deviceType==smartphone;referrerType==search,referrerType==social",
                lambda v: mobile(v) and (search(v) or social(v)),
                lambda v: (mobile(v) and search(v)) or social(v),
            ),
            (
                "countryCode==de,countryCode==fr;pageUrl=@blog;eventCategory!=Video",
                lambda v: (
                    v["country"] in ("DE", "FR")
                    and any("blog" in u for u in v["urls"])
                    and not _event(v, lambda x: x == "Video", 1)
                ),
                lambda v: v["country"] == "DE" or (v["country"] == "FR" and any("blog" in u for u in v["urls"])),
            ),
        ]
        answers = await matomo_segment_counts(collector, token, [s for s, _, _ in precedence], **common)
        for (segment, keep, other_reading), answer in zip(precedence, answers, strict=True):
            expected = sum(1 for v in visits if keep(v))
            assert answer["nb_visits"] == expected, segment
            assert expected != sum(1 for v in visits if other_reading(v)), f"{segment}: the readings differ here"

        # the same visits as the dashboards' overview with the equivalent saved segment
        definition = {
            "match": "all",
            "conditions": [
                {
                    "match": "any",
                    "conditions": [
                        {"field": "channel", "op": "is", "value": "search"},
                        {"field": "channel", "op": "is", "value": "social"},
                    ],
                },
                {"field": "device", "op": "is", "value": "mobile"},
            ],
        }
        ident = await create_segment(analyst, "search or social, on phones", definition)
        overview = {
            r["metric"]: r["value"]
            for r in (await analyst.api("overview", site=GEN_SITE, period="7d", segment=ident))["rows"]
        }
        summary = await api_json(collector, token, "VisitsSummary.get", segment=precedence[0][0], **common)
        assert (summary["nb_visits"], summary["nb_uniq_visitors"]) == (overview["visits"], overview["visitors"])
        assert summary["nb_visits"] == sum(1 for v in visits if precedence[0][1](v)) > 0
    finally:
        await analyst.close()


async def test_segments_apply_to_every_report_and_round_trip(collector_factory: Any) -> None:
    collector, analyst, _ = await generated(collector_factory)
    await analyst.close()
    token = await token_for(collector)
    common = {"idSite": 7, "period": "range", "date": "last7"}
    visits = stored_visits(collector, GEN_SITE)
    phones = {v["s"] for v in visits if v["device"] == "mobile"}

    # a report under a segment counts only the segment's visits
    pages = await api_json(
        collector, token, "Actions.getPageUrls", flat=1, filter_limit=-1, segment="deviceType==smartphone", **common
    )
    stored_hits = collector.rows(
        "SELECT count() FROM (SELECT DISTINCT pageview_id FROM {db}.pageviews WHERE site = {site:String} "
        "AND session_hash IN {phones:Array(UInt64)})",
        site=GEN_SITE,
        phones=list(phones),
    )[0][0]
    assert sum(r["nb_hits"] for r in pages) == stored_hits > 0
    channels = await api_json(collector, token, "Referrers.getReferrerType", segment="deviceType==smartphone", **common)
    assert sum(r["nb_visits"] for r in channels) == len(phones)
    assert await api_json(collector, token, "Referrers.getWebsites", segment="referrerType==search", **common) == []

    # each report row's own segment selects exactly that row's visits
    reports = [
        "Referrers.getReferrerType",
        "Referrers.getWebsites",
        "Referrers.getSearchEngines",
        "Referrers.getSocials",
        "Referrers.getCampaigns",
        "DevicesDetection.getType",
        "DevicesDetection.getBrowsers",
        "DevicesDetection.getOsFamilies",
        "UserCountry.getCountry",
        "Events.getCategory",
        "Events.getAction",
        "Actions.getPageTitles",
    ]
    rows = [
        row for method in reports for row in await api_json(collector, token, method, **common) if row.get("segment")
    ]
    assert len(rows) >= 20
    answers = await matomo_segment_counts(collector, token, [r["segment"] for r in rows], **common)
    assert [a["nb_visits"] for a in answers] == [r["nb_visits"] for r in rows], [r["segment"] for r in rows]

    # the published client passes a segment as a script would
    client = MatomoClient(collector.url, token_auth=token, default_id_site=7)
    segment = "referrerType==search,referrerType==social;deviceType!=smartphone"
    got = await asyncio.to_thread(client.VisitsSummary.get, period="range", date="last7", segment=segment)
    assert (
        got["nb_visits"]
        == sum(1 for v in visits if v["channel"] in ("search", "social") and v["device"] != "mobile")
        > 0
    )


async def test_bad_segments_get_matomo_errors(collector_factory: Any) -> None:
    collector, analyst, _ = await generated(collector_factory)
    await analyst.close()
    token = await token_for(collector)
    common = {"method": "VisitsSummary.get", "idSite": 7, "period": "range", "date": "last7", "token_auth": token}
    cases = {
        "visitCount==2": "Segment 'visitCount' is not a supported segment.",
        "referrerType==search;visitorId>3": "Segment 'visitorId' is not a supported segment.",
        "referrerType": "The segment condition 'referrerType' is not valid.",
        "pageUrl=@": "has no value specified",
        "deviceType=@phone": "not supported for 'deviceType'",
        "referrerName<3": "not supported for 'referrerName'",
        "visitDuration==long": "must be a number",
        ";".join(["pageUrl=@a"] * 31): "at most 30 conditions",
        "pageTitle==" + "x" * 600: "longer than 500",
        "x" * 5000: "too long",
    }
    for segment, text in cases.items():
        for fmt in ("json", "xml"):
            status, body, _ = await api(collector, "POST", format=fmt, segment=segment, **common)
            assert status == 200, (segment, body[:200])
            if fmt == "json":
                error = orjson.loads(body)
                assert error["result"] == "error" and text in error["message"], (segment, error)
            else:
                assert ET.fromstring(body).find("error") is not None, body

    seen: set[int] = set()
    names = st.sampled_from(
        [
            "referrerType",
            "referrerName",
            "pageUrl",
            "pageTitle",
            "visitDuration",
            "deviceType",
            "countryCode",
            "eventAction",
            "visitConvertedGoalId",
            "browserCode",
            "actions",
            "visitorType",
            "referrerKeyword",
            "userId",
            "nope",
        ]
    )
    operators = st.sampled_from(["==", "!=", "<", "<=", ">", ">=", "=@", "!@", "=^", "=$", "=", ""])
    condition = st.builds(lambda n, o, v: n + o + v, names, operators, st.text(max_size=12))
    segments = st.lists(st.tuples(condition, st.sampled_from([";", ","])), min_size=1, max_size=5).map(
        lambda parts: "".join(c + j for c, j in parts)[:-1]
    )

    @settings(max_examples=120, deadline=None, suppress_health_check=list(HealthCheck))
    @given(segment=segments)
    def fuzz(segment: str) -> None:
        response = requests.post(
            collector.url + "/index.php", data={**common, "format": "json", "segment": segment}, timeout=60
        )
        assert response.status_code == 200, (segment, response.text[:300])
        seen.add(200)
        answer = response.json()
        assert "nb_visits" in answer or answer.get("result") == "error", (segment, answer)

    await asyncio.to_thread(fuzz)
    assert seen == {200}
