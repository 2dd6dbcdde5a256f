"""Visitor log, visit timeline and visitor profile over generated visits (the real Matomo tracking path),
held to counts computed directly in ClickHouse; readable labels in JSON and CSV; the previous period on
the time series; annotations; bad input.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from tests.support.segments import GEN_SITE, create_segment, delete, generated, put

pytestmark = pytest.mark.asyncio


def per_visit(collector: Any) -> dict[str, dict[str, Any]]:
    """Each stored visit of the generated site as plain SQL sees it, by visit id (hex)."""
    visits = collector.rows(
        "SELECT session_hash, any(visitor_hash), min(started_at), uniqExact(pageview_id), "
        "argMin(country, started_at), argMin(device, started_at) FROM {db}.pageviews WHERE site = 'shop' "
        "GROUP BY session_hash"
    )
    pages = dict(
        collector.rows(
            "SELECT s, groupArray(p) FROM (SELECT session_hash AS s, pageview_id, min(started_at) AS t, "
            "path(any(url)) AS p FROM {db}.pageviews WHERE site = 'shop' GROUP BY s, pageview_id ORDER BY t) GROUP BY s"
        )
    )
    events = {
        h: (int(g), float(r), int(e))
        for h, g, r, e in collector.rows(
            "SELECT session_hash, countIf(type = 1005), sumIf(num, type IN (1005, 1006)), "
            "countIf(type = 1001) FROM {db}.events WHERE site = 'shop' GROUP BY session_hash"
        )
    }
    return {
        f"{h:016x}": {
            "visitor": f"{v:016x}",
            "start": s,
            "pageviews": int(n),
            "country": c,
            "device": d,
            "pages": pages[h],
            "goals": events.get(h, (0, 0.0, 0))[0],
            "revenue": events.get(h, (0, 0.0, 0))[1],
            "events": events.get(h, (0, 0.0, 0))[2],
        }
        for h, v, s, n, c, d in visits
    }


async def test_visitor_log_pages_and_figures_equal_clickhouse(collector_factory: Any) -> None:
    collector, analyst, data = await generated(collector_factory)
    try:
        expected = per_visit(collector)
        rows: list[dict[str, Any]] = []
        for offset in range(0, 60, 7):
            page = (await analyst.api("visitor_log", site=GEN_SITE, period="7d", limit=7, offset=offset))["rows"]
            rows += page
            if len(page) < 7:
                break
        assert len(rows) == len({r["visit"] for r in rows}) == len(expected) == data.visits, "paging sees each once"
        starts = [r["started_at"] for r in rows]
        assert starts == sorted(starts, reverse=True), "newest first"
        for row in rows:
            visit = expected[row["visit"].zfill(16)]
            assert row["visitor"].zfill(16) == visit["visitor"]
            assert row["pageviews"] == visit["pageviews"] and row["pages"] == visit["pages"]
            assert (row["goals"], row["revenue"], row["events"]) == (visit["goals"], visit["revenue"], visit["events"])
            assert row["country"] == visit["country"] and row["device"] == visit["device"]
            assert row["entry_page"] == visit["pages"][0] and row["exit_page"] == visit["pages"][-1]
            assert row["recording"] == "", "Matomo visits have no recording"
        names = {"DE": "Germany", "FR": "France", "US": "United States", "GB": "United Kingdom"}
        assert all(r["country_name"] == names[r["country"]] for r in rows)
        assert {r["flag"] for r in rows if r["country"] == "DE"} == {"\U0001f1e9\U0001f1ea"}
        assert {r["device_label"] for r in rows} <= {"Desktop", "Smartphone"}
        assert all(r["duration_label"].endswith((" s", " min")) for r in rows)

        german = [
            r for r in (await analyst.api("visitor_log", site=GEN_SITE, period="7d", limit=100, country="DE"))["rows"]
        ]
        assert {r["visit"].zfill(16) for r in german} == {h for h, v in expected.items() if v["country"] == "DE"}
        mobile = await create_segment(
            analyst, "Mobile", {"match": "all", "conditions": [{"field": "device", "op": "is", "value": "mobile"}]}
        )
        segmented = (await analyst.api("visitor_log", site=GEN_SITE, period="7d", limit=100, segment=mobile))["rows"]
        assert {r["visit"].zfill(16) for r in segmented} == {h for h, v in expected.items() if v["device"] == "mobile"}

        status, body, _ = await analyst.get(
            "/dashboard/api/v1/visitor_log.csv", site=GEN_SITE, period="7d", limit=100, country="DE"
        )
        table = list(csv.DictReader(io.StringIO(body.decode())))
        assert status == 200 and len(table) == len(german) and {r["country_name"] for r in table} == {"Germany"}
    finally:
        await analyst.close()


async def test_visitor_profile_and_timeline(collector_factory: Any) -> None:
    collector, analyst, data = await generated(collector_factory)
    try:
        expected = per_visit(collector)
        returning = [
            f"{v:016x}"
            for (v,) in collector.rows(
                "SELECT visitor_hash FROM {db}.pageviews WHERE site = 'shop' GROUP BY visitor_hash "
                "HAVING uniqExact(session_hash) = 2 ORDER BY visitor_hash"
            )
        ]
        assert len(returning) == len(data.returning), "the generator sent two visits of a few visitors"
        visitor = returning[0]
        theirs = {h: v for h, v in expected.items() if v["visitor"] == visitor}
        profile = (await analyst.api("visitor_profile", site=GEN_SITE, period="7d", visitor=visitor))["rows"]
        assert len(profile) == 1
        summary = profile[0]
        assert summary["visits"] == 2
        assert summary["pageviews"] == sum(v["pageviews"] for v in theirs.values())
        assert summary["goals"] == sum(v["goals"] for v in theirs.values())
        assert summary["revenue"] == sum(v["revenue"] for v in theirs.values())
        listed = (await analyst.api("visitor_log", site=GEN_SITE, period="7d", visitor=visitor))["rows"]
        assert {r["visit"].zfill(16) for r in listed} == set(theirs)
        assert (await analyst.api("visitor_profile", site=GEN_SITE, period="7d", visitor="ab"))["rows"] == []

        visit = max(expected, key=lambda h: expected[h]["pageviews"] + expected[h]["events"] + expected[h]["goals"])
        timeline = (await analyst.api("visit_timeline", site=GEN_SITE, period="7d", visit=visit, limit=200))["rows"]
        session = int(visit, 16)
        stored = collector.rows(
            "SELECT (SELECT uniqExact(pageview_id) FROM {db}.pageviews WHERE session_hash = {s:UInt64}), "
            "(SELECT count() FROM {db}.events WHERE session_hash = {s:UInt64} AND type IN (1001, 1005))",
            s=session,
        )[0]
        assert sum(r["kind"] == "pageview" for r in timeline) == stored[0]
        assert sum(r["kind"] in ("event", "goal") for r in timeline) == stored[1]
        assert [r["page"] for r in timeline if r["kind"] == "pageview"] == expected[visit]["pages"]
        assert [r["at"] for r in timeline] == sorted(r["at"] for r in timeline)

        for params, word in (({"visit": "xyz"}, "visit"), ({}, "visit")):
            status, body, _ = await analyst.get("/dashboard/api/v1/visit_timeline", site=GEN_SITE, **params)
            assert status == 400 and word in orjson.loads(body)["error"]
        status, body, _ = await analyst.get("/dashboard/api/v1/visitor_log", site=GEN_SITE, offset="100001")
        assert status == 400 and "offset" in orjson.loads(body)["error"]
        status, body, _ = await analyst.get("/dashboard/api/v1/visitor_profile", site=GEN_SITE)
        assert status == 400 and "visitor" in orjson.loads(body)["error"]
    finally:
        await analyst.close()


async def test_previous_period_line_and_readable_breakdowns(collector_factory: Any) -> None:
    collector, analyst, _ = await generated(collector_factory)
    try:
        today = datetime.now(timezone.utc).date()
        first, last = today - timedelta(days=2), today
        series = (
            await analyst.api(
                "timeseries", site=GEN_SITE, period="custom", **{"from": first.isoformat(), "to": last.isoformat()}
            )
        )["rows"]
        assert [r["bucket"][:10] for r in series] == [(first + timedelta(days=i)).isoformat() for i in range(3)]
        assert [r["previous_bucket"][:10] for r in series] == [
            (first - timedelta(days=3 - i)).isoformat() for i in range(3)
        ]
        by_day = dict(
            collector.rows(
                "SELECT toDate(s), count() FROM (SELECT min(started_at) AS s FROM {db}.pageviews WHERE site = 'shop' "
                "GROUP BY session_hash) GROUP BY toDate(s)"
            )
        )
        assert [r["visits"] for r in series] == [by_day.get(first + timedelta(days=i), 0) for i in range(3)]
        assert [r["previous_visits"] for r in series] == [
            by_day.get(first - timedelta(days=3 - i), 0) for i in range(3)
        ]
        assert sum(r["previous_visits"] for r in series) > 0, "the generated visits span both periods"

        overview = {r["metric"]: r for r in (await analyst.api("overview", site=GEN_SITE, period="7d"))["rows"]}
        seconds = overview["visit_duration"]["value"]
        whole = int(round(seconds))
        assert overview["visit_duration"]["display"] == (
            f"{whole // 60} min {whole % 60:02d} s" if whole >= 60 else f"{whole} s"
        )
        assert overview["bounce_rate"]["display"].endswith(" %")
        channels = (await analyst.api("channels", site=GEN_SITE, period="7d"))["rows"]
        labels = {
            "direct": "Direct entry",
            "search": "Search engines",
            "social": "Social networks",
            "website": "Websites",
            "campaign": "Campaigns",
        }
        assert {r["channel"]: r["channel_label"] for r in channels} == {
            r["channel"]: labels[r["channel"]] for r in channels
        }
        status, body, _ = await analyst.get("/dashboard/api/v1/countries.csv", site=GEN_SITE, period="7d")
        table = list(csv.DictReader(io.StringIO(body.decode())))
        assert {(r["country"], r["country_name"]) for r in table} <= {
            ("DE", "Germany"),
            ("FR", "France"),
            ("US", "United States"),
            ("GB", "United Kingdom"),
        }
        assert len(table) == 4
    finally:
        await analyst.close()


async def test_annotations_crud_on_the_chart_and_refusals(collector_factory: Any) -> None:
    collector, analyst, _ = await generated(collector_factory)
    try:
        path = "/dashboard/api/v1/annotations"
        today = datetime.now(timezone.utc).date()
        status, body = await analyst.post_json(
            path, {"day": today.isoformat(), "note": "Release 2.0"}, csrf=analyst.csrf, site=GEN_SITE
        )
        assert status == 201, body
        ident = orjson.loads(body)["id"]
        status, body = await analyst.post_json(
            path,
            {"day": (today - timedelta(days=40)).isoformat(), "note": "Old campaign"},
            csrf=analyst.csrf,
            site=GEN_SITE,
        )
        assert status == 201
        listed = (await analyst.api("annotations", site=GEN_SITE, period="7d"))["rows"]
        assert [(r["id"], r["day"], r["note"]) for r in listed] == [(ident, today.isoformat(), "Release 2.0")]
        status, body = await put(
            analyst, f"{path}/{ident}", {"day": today.isoformat(), "note": "Release 2.0.1"}, site=GEN_SITE
        )
        assert status == 200 and orjson.loads(body)["note"] == "Release 2.0.1"
        for bad, word in (
            ({"day": "yesterday", "note": "x"}, "day"),
            ({"day": today.isoformat(), "note": ""}, "note"),
            ([], "body"),
        ):
            status, body = await put(analyst, f"{path}/{ident}", bad, site=GEN_SITE)
            assert status == 400 and word in orjson.loads(body)["error"]
        listed = (await analyst.api("annotations", site=GEN_SITE, period="7d"))["rows"]
        assert [r["note"] for r in listed] == ["Release 2.0.1"], "a refused change leaves it as it was"
        status, body = await put(
            analyst, f"{path}/0123456789ab", {"day": today.isoformat(), "note": "x"}, site=GEN_SITE
        )
        assert status == 404 and "no annotation" in orjson.loads(body)["error"]
        status, _ = await delete(analyst, f"{path}/{ident}", site="nosuchsite")
        assert status == 404
        status, _ = await delete(analyst, f"{path}/{ident}", site=GEN_SITE)
        assert status == 200
        assert (await analyst.api("annotations", site=GEN_SITE, period="7d"))["rows"] == []
        status, _ = await delete(analyst, f"{path}/{ident}", site=GEN_SITE)
        assert status == 404
    finally:
        await analyst.close()
