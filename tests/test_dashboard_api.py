"""The dashboards' JSON/CSV API and pandas entry point against the real engine.

Data goes in through the real ingest paths (the captured clarity-js uploads and the captured
matomo.js visit, over a socket); the figures the API serves are then compared with counts computed
directly in ClickHouse, and CSV and pandas with the JSON.
"""

from __future__ import annotations

import asyncio
import csv
import io
from typing import Any

import aiohttp
import orjson
import pytest

from collector.core.keys import SETTINGS
from dashboards.dataframe import frame, frame_from_storage
from dashboards.export import CSV_FORMULA_PREFIX, as_document
from dashboards.queries import PANELS, parse_query, run_panel
from tests.support.collector import CollectorFactory, RunningCollector
from tests.support.dashboard import SITE, Analyst, accounts, dashboard_site, log_in, seed, with_token

pytestmark = pytest.mark.asyncio

#: panels that need a page, and the page the fixtures hold
PAGE = "/page.html"


def params_for(panel: str, **extra: Any) -> dict[str, Any]:
    params = {"site": SITE, "period": "7d", "limit": 100, **extra}
    if PANELS[panel].needs_page:
        params.setdefault("page", PAGE)
    for option in PANELS[panel].required:
        params.setdefault(option, "0")
    return params


def figures(document: dict[str, Any]) -> dict[str, float]:
    return {row["metric"]: row["value"] for row in document["rows"]}


async def seeded(collector_factory: CollectorFactory) -> tuple[Any, Analyst]:
    collector = await collector_factory(dashboard_site())
    await seed(collector)
    return collector, await log_in(collector)


async def test_api_figures_equal_counts_in_clickhouse(collector_factory: CollectorFactory) -> None:
    collector, analyst = await seeded(collector_factory)
    try:
        visitors, visits, pageviews = collector.rows(
            "SELECT uniqExact(visitor_hash), uniqExact(session_hash), uniqExact(pageview_id) FROM {db}.pageviews "
            "WHERE site = {site:String}",
            site=SITE,
        )[0]
        bounces = collector.rows(
            "SELECT countIf(n = 1) FROM (SELECT session_hash, uniqExact(pageview_id) AS n FROM {db}.pageviews "
            "WHERE site = {site:String} GROUP BY session_hash)",
            site=SITE,
        )[0][0]
        assert visits >= 8 and pageviews > visits, "the fixtures hold several visits, one of two pages"

        overview = figures(await analyst.api("overview", **params_for("overview")))
        assert overview["visitors"] == visitors
        assert overview["visits"] == visits
        assert overview["pageviews"] == pageviews
        assert overview["bounce_rate"] == round(bounces * 100 / visits, 1)
        assert overview["views_per_visit"] == round(pageviews / visits, 2)
        assert overview["visit_duration"] > 0

        series = (await analyst.api("timeseries", **params_for("timeseries")))["rows"]
        assert len(series) == 7, "one bucket per day of the period, empty days as zeros"
        assert sum(r["visits"] for r in series) == visits
        assert sum(r["pageviews"] for r in series) == pageviews

        expected_pages = dict(
            collector.rows(
                "SELECT p, count() FROM (SELECT pageview_id, path(max(url)) AS p FROM {db}.pageviews "
                "WHERE site = {site:String} GROUP BY pageview_id) GROUP BY p",
                site=SITE,
            )
        )
        top = (await analyst.api("top_pages", **params_for("top_pages")))["rows"]
        assert {r["page"]: r["pageviews"] for r in top} == expected_pages

        entry = dict(
            collector.rows(
                "SELECT p, count() FROM (SELECT session_hash, argMin(path(url), started_at) AS p FROM {db}.pageviews "
                "WHERE site = {site:String} GROUP BY session_hash) GROUP BY p",
                site=SITE,
            )
        )
        entry_rows = (await analyst.api("entry_pages", **params_for("entry_pages")))["rows"]
        assert {r["page"]: r["visits"] for r in entry_rows} == entry

        for breakdown in ("sources", "channels", "campaigns", "countries", "devices", "browsers", "os", "exit_pages"):
            rows = (await analyst.api(breakdown, **params_for(breakdown)))["rows"]
            assert sum(r["visits"] for r in rows) == visits, breakdown
            assert sum(r["pageviews"] for r in rows) == pageviews, breakdown
        channel_rows = (await analyst.api("channels", **params_for("channels")))["rows"]
        channels = {r["channel"]: r["visits"] for r in channel_rows}
        assert channels.get("campaign") == 1, "the matomo.js visit came from a campaign link"

        events = (await analyst.api("events", **params_for("events")))["rows"]
        stored_events = collector.rows(
            "SELECT count() FROM {db}.events WHERE site = {site:String} AND type IN (24, 1001, 1002, 1003, 1004, 1008)",
            site=SITE,
        )[0][0]
        assert sum(r["events"] for r in events) == stored_events > 0
        goals = (await analyst.api("goals", **params_for("goals")))["rows"]
        assert (
            sum(r["conversions"] for r in goals)
            == collector.rows(
                "SELECT count() FROM {db}.events WHERE site = {site:String} AND type IN (1005, 1006)", site=SITE
            )[0][0]
        )

        clicks = (await analyst.api("heatmap_clicks", **params_for("heatmap_clicks")))["rows"]
        stored_clicks = collector.rows(
            "SELECT count() FROM {db}.events WHERE site = {site:String} AND type = 9 AND path(url) = {page:String} "
            "AND doc_width > 0 AND x >= 0 AND y >= 0",
            site=SITE,
            page=PAGE,
        )[0][0]
        assert sum(r["clicks"] for r in clicks) == stored_clicks > 0
        assert all(0 <= r["x"] <= 1 and r["y"] >= 0 for r in clicks), "page-relative coordinates"

        scroll = (await analyst.api("heatmap_scroll", **params_for("heatmap_scroll")))["rows"]
        assert [r["depth"] for r in scroll] == list(range(0, 101, 5))
        assert scroll[0]["share"] == 100 and scroll[0]["pageviews"] == expected_pages[PAGE]
        pairs = zip(scroll, scroll[1:], strict=False)
        assert all(a["pageviews"] >= b["pageviews"] for a, b in pairs), "reach only decreases"

        recorded = {
            f"{h:016x}"
            for (h,) in collector.rows(
                "SELECT DISTINCT session_hash FROM {db}.playback WHERE site = {site:String}", site=SITE
            )
        }
        listed = (await analyst.api("recordings", **params_for("recordings")))["rows"]
        assert {r["recording"].zfill(16) for r in listed} == recorded
        assert all(r["duration"] >= 0 and r["pageviews"] >= 1 for r in listed)

        realtime = (await analyst.api("realtime", site=SITE))["rows"][0]
        assert realtime["visits"] == visits, "every fixture visit happened just now"
    finally:
        await analyst.close()


async def test_api_filters_apply_to_every_panel(collector_factory: CollectorFactory) -> None:
    collector, analyst = await seeded(collector_factory)
    try:
        other = "/default.html"
        sessions = collector.rows(
            "SELECT uniqExact(session_hash), uniqExact(pageview_id) FROM {db}.pageviews WHERE site = {site:String} "
            "AND session_hash IN (SELECT session_hash FROM {db}.pageviews WHERE path(url) = {page:String})",
            site=SITE,
            page=other,
        )[0]
        overview = figures(await analyst.api("overview", **params_for("overview", page=other)))
        assert (overview["visits"], overview["pageviews"]) == sessions
        top = (await analyst.api("top_pages", **params_for("top_pages", page=other)))["rows"]
        assert [r["page"] for r in top] == [other]

        campaign = figures(await analyst.api("overview", **params_for("overview", channel="campaign")))
        assert campaign["visits"] == 1
        devices = (await analyst.api("devices", **params_for("devices", channel="campaign")))["rows"]
        assert sum(r["visits"] for r in devices) == 1

        nobody = figures(await analyst.api("overview", **params_for("overview", country="ZZ")))
        assert nobody["visits"] == 0 and nobody["pageviews"] == 0
        assert (await analyst.api("top_pages", **params_for("top_pages", country="ZZ")))["rows"] == []
        assert (await analyst.api("recordings", **params_for("recordings", country="ZZ")))["rows"] == []
        hostile = "x' OR 1=1 --"
        assert figures(await analyst.api("overview", **params_for("overview", source=hostile)))["visits"] == 0
    finally:
        await analyst.close()


async def test_api_previous_period_and_custom_range(collector_factory: CollectorFactory) -> None:
    collector, analyst = await seeded(collector_factory)
    try:
        document = await analyst.api("overview", **params_for("overview", period="today"))
        rows = {r["metric"]: r for r in document["rows"]}
        assert rows["visits"]["previous"] == 0 and rows["visits"]["change"] is None
        assert document["previous"]["to"] < document["period"]["from"]
        today = document["period"]["from"]
        custom = await analyst.api("overview", site=SITE, period="custom", **{"from": today, "to": today})
        assert figures(custom) == figures(document)
        before = await analyst.api("overview", site=SITE, period="custom", **{"from": "2026-01-01", "to": "2026-01-31"})
        assert figures(before)["visits"] == 0
    finally:
        await analyst.close()


async def test_api_materialized_view_and_raw_tables_agree(collector_factory: CollectorFactory) -> None:
    """visit_stats (the materialized view) and the raw pageviews fallback give the same rows for every panel."""
    collector, analyst = await seeded(collector_factory)
    await analyst.close()
    storage = collector.storage
    for filters in ({}, {"channel": "campaign"}, {"device": "desktop", "browser": "Chrome"}, {"country": "ZZ"}):
        for name, panel in PANELS.items():
            query = parse_query(panel, {k: str(v) for k, v in params_for(name, **filters).items()})
            with_view = await storage.run(run_panel, storage, panel, query, True)
            without = await storage.run(run_panel, storage, panel, query, False)
            assert with_view.rows == without.rows, (name, filters)


async def test_export_csv_and_pandas_agree_with_json(collector_factory: CollectorFactory) -> None:
    collector, analyst = await seeded(collector_factory)
    script = await with_token(collector)
    token = script.extra_headers["Authorization"].removeprefix("Bearer ")
    try:
        for name in ("overview", "timeseries", "top_pages", "sources", "events", "heatmap_clicks", "recordings"):
            document = await analyst.api(name, **params_for(name))
            status, body, headers = await analyst.get(f"/dashboard/api/v1/{name}.csv", **params_for(name))
            assert status == 200 and headers["Content-Type"].startswith("text/csv")
            table = list(csv.DictReader(io.StringIO(body.decode())))
            if table:
                assert list(table[0].keys()) == [c["name"] for c in document["columns"]]
            assert len(table) == len(document["rows"]), name
            for from_csv, from_json in zip(table, document["rows"], strict=True):
                for column, value in from_json.items():
                    text = from_csv[column]
                    if value is None:
                        assert text == "", (name, column)
                    elif isinstance(value, bool):
                        assert text == ("true" if value else "false")
                    elif isinstance(value, (int, float)):
                        assert float(text) == pytest.approx(value), (name, column)
                    elif isinstance(value, list):
                        assert orjson.loads(text) == value
                    else:
                        assert text.removeprefix(CSV_FORMULA_PREFIX) == value, (name, column)

            df = await asyncio.to_thread(frame, name, url=collector.url, token=token, **params_for(name))
            assert list(df.columns) == [c["name"] for c in document["columns"]]
            assert len(df) == len(document["rows"]), name
            for column in df.columns:
                kind = next(c["type"] for c in document["columns"] if c["name"] == column)
                json_values = [r[column] for r in document["rows"]]
                if kind == "datetime":
                    assert [v.isoformat(timespec="milliseconds") for v in df[column]] == json_values
                elif kind in ("integer", "number"):
                    assert [None if v != v else v for v in df[column].tolist()] == pytest.approx(json_values)
                else:
                    assert df[column].tolist() == json_values, (name, column)

            # the direct path (a ClickHouse the caller may open itself) gives the same frame
            direct = await collector.storage.run(
                frame_from_storage, collector.storage, name, "UTC", {k: str(v) for k, v in params_for(name).items()}
            )
            assert direct.equals(df), name
    finally:
        await analyst.close()
        await script.close()


async def test_export_csv_neutralises_spreadsheet_formulas(collector_factory: CollectorFactory) -> None:
    """A visitor-controlled value such as a referrer or page path must not run as a formula in a spreadsheet."""
    from dashboards.export import as_csv
    from dashboards.model import Result

    text = as_csv(Result("top_pages", ["page", "pageviews"], [('=HYPERLINK("http://x")', 3), ("/ok", -1)]))
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1][0] == CSV_FORMULA_PREFIX + '=HYPERLINK("http://x")'
    assert rows[2] == ["/ok", "-1"], "numbers stay numbers"


async def test_api_requires_auth(collector_factory: CollectorFactory) -> None:
    collector, analyst = await seeded(collector_factory)
    try:
        http = collector.http
        for path in (
            "/dashboard/api/v1/overview",
            "/dashboard/api/v1/top_pages.csv",
            "/dashboard/api/v1/recording",
            "/dashboard/api/v1/snapshot",
            "/dashboard/api/openapi.json",
            "/dashboard/api/v1/sites",
        ):
            async with http.get(collector.url + path, params={"site": SITE, "page": PAGE}) as response:
                body = await response.read()
                assert response.status == 401, path
                assert b"visitors" not in body and b"/page.html" not in body
        for path in ("/dashboard/traffic", "/dashboard/heatmaps", "/dashboard/recordings", "/dashboard/replay"):
            async with http.get(collector.url + path, allow_redirects=False) as response:
                assert response.status == 302 and response.headers["Location"].startswith("/dashboard/login")
        async with http.get(
            collector.url + "/dashboard/api/v1/overview",
            params={"site": SITE},
            headers={"Authorization": "Bearer wat_0000_nope"},
        ) as response:
            assert response.status == 401

        # a token works until it is revoked (here through the admin endpoint, as the CLI does)
        script = await with_token(collector)
        await script.api("overview", site=SITE)
        token = script.extra_headers["Authorization"].removeprefix("Bearer ")
        admin = {"Authorization": f"Bearer {collector.app[SETTINGS].admin_token}"}
        async with http.post(
            collector.url + "/dashboard/admin/accounts",
            headers=admin,
            data=orjson.dumps({"action": "revoke-token", "name": token}),
        ) as response:
            assert response.status == 200
        assert (await script.get("/dashboard/api/v1/overview", site=SITE))[0] == 401
        await script.close()
        async with http.post(
            collector.url + "/dashboard/admin/accounts",
            headers={"Authorization": "Bearer x"},
            data=orjson.dumps({"action": "create-token", "name": "analyst"}),
        ) as response:
            assert response.status == 401 and b"wat_" not in await response.read()

        # a session cookie is not enough for a state-changing request: the CSRF token is needed
        recording = collector.rows("SELECT lower(hex(any(session_hash))) FROM {db}.playback")[0][0]
        status, body = await analyst.post_json(
            "/dashboard/api/v1/recording/marks", {"favourite": True}, site=SITE, recording=recording
        )
        assert status == 403 and b"CSRF" in body
        status, _ = await analyst.post_json(
            "/dashboard/api/v1/recording/marks", {"favourite": True}, csrf="0" * 64, site=SITE, recording=recording
        )
        assert status == 403

        # log out ends the session on the server, not only in the browser
        cookie = next(c for c in analyst.http.cookie_jar if c.key == "wa_dashboard").value
        async with analyst.http.post(
            collector.url + "/dashboard/logout", headers={"X-CSRF-Token": analyst.csrf}, allow_redirects=False
        ) as response:
            assert response.status == 302
        async with http.get(
            collector.url + "/dashboard/api/v1/overview", params={"site": SITE}, cookies={"wa_dashboard": cookie}
        ) as response:
            assert response.status == 401
    finally:
        await analyst.close()


async def test_dashboard_login_form_is_hardened(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site())
    analyst = await log_in(collector)
    await analyst.close()
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    try:
        await login_checks(collector, http)
    finally:
        await http.close()


async def login_checks(collector: RunningCollector, http: aiohttp.ClientSession) -> None:
    async with http.get(collector.url + "/dashboard/login") as response:
        assert response.headers["X-Frame-Options"] == "SAMEORIGIN"
        assert "frame-ancestors 'self'" in response.headers["Content-Security-Policy"]
        token = response.cookies["wa_login_csrf"].value
        assert response.cookies["wa_login_csrf"]["httponly"]
    form = {"name": "analyst", "password": "wrong password!!", "csrf_token": token}
    async with http.post(collector.url + "/dashboard/login", data=form, allow_redirects=False) as response:
        assert response.status == 401 and "wa_dashboard" not in response.cookies
    async with http.post(
        collector.url + "/dashboard/login", data={**form, "csrf_token": "forged"}, allow_redirects=False
    ) as response:
        assert response.status == 403
    # no open redirect after log-in
    good = {**form, "password": "correct horse battery staple", "next": "//evil.example/x"}
    async with http.post(collector.url + "/dashboard/login", data=good, allow_redirects=False) as response:
        assert response.status == 302 and response.headers["Location"] == "/dashboard/traffic"
        cookie = response.cookies["wa_dashboard"]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/dashboard"
    # five wrong passwords lock the name for a while, even for the right one
    async with http.get(collector.url + "/dashboard/login") as response:
        token = response.cookies["wa_login_csrf"].value
    form, good = {**form, "csrf_token": token}, {**good, "csrf_token": token}
    for _ in range(5):
        async with http.post(collector.url + "/dashboard/login", data=form, allow_redirects=False) as response:
            assert response.status == 401
    async with http.post(collector.url + "/dashboard/login", data=good, allow_redirects=False) as response:
        assert response.status == 429
    stored = collector.rows("SELECT password_hash FROM {db}.analysts")
    assert stored and all(h.startswith("scrypt$") and "correct horse" not in h for (h,) in stored)


async def test_api_recording_marks_keep_playback_13_months(collector_factory: CollectorFactory) -> None:
    collector, analyst = await seeded(collector_factory)
    try:
        recording = (await analyst.api("recordings", **params_for("recordings")))["rows"][0]["recording"]
        session = int(recording, 16)

        def kept() -> set[int]:
            return {
                k
                for (k,) in collector.rows(
                    "SELECT DISTINCT keep FROM {db}.playback WHERE session_hash = {s:UInt64}", s=session
                )
            }

        assert kept() == {0}
        status, body = await analyst.post_json(
            "/dashboard/api/v1/recording/marks",
            {"favourite": True, "labels": ["checkout bug"]},
            csrf=analyst.csrf,
            site=SITE,
            recording=recording,
        )
        assert status == 200, body
        assert orjson.loads(body) == {"favourite": True, "labels": ["checkout bug"], "kept": True}
        assert kept() == {1}
        others = collector.rows(
            "SELECT countIf(keep = 1) FROM {db}.playback WHERE session_hash != {s:UInt64}", s=session
        )[0][0]
        assert others == 0, "only the marked recording is kept"
        favourites = (await analyst.api("recordings", **params_for("recordings", favourite=1)))["rows"]
        assert [r["recording"] for r in favourites] == [recording]
        assert favourites[0]["labels"] == ["checkout bug"] and favourites[0]["favourite"] is True
        labelled = (await analyst.api("recordings", **params_for("recordings", label="checkout bug")))["rows"]
        assert [r["recording"] for r in labelled] == [recording]

        status, _ = await analyst.post_json(
            "/dashboard/api/v1/recording/marks",
            {"favourite": False, "labels": []},
            csrf=analyst.csrf,
            site=SITE,
            recording=recording,
        )
        assert status == 200 and kept() == {0}, "unmarked: back to the 30-day rule"

        for bad in ({"favourite": "yes"}, {"labels": ["<script>"]}, {"labels": "x"}, [1, 2]):
            status, _ = await analyst.post_json(
                "/dashboard/api/v1/recording/marks", bad, csrf=analyst.csrf, site=SITE, recording=recording
            )
            assert status == 400, bad
        status, _ = await analyst.post_json(
            "/dashboard/api/v1/recording/marks",
            {"favourite": True},
            csrf=analyst.csrf,
            site=SITE,
            recording="ffffffffffffffff",
        )
        assert status == 404
    finally:
        await analyst.close()


async def test_api_replay_payloads_are_the_stored_masked_playback(collector_factory: CollectorFactory) -> None:
    collector, analyst = await seeded(collector_factory)
    try:
        recording = collector.rows(
            "SELECT lower(hex(session_hash)) FROM {db}.playback GROUP BY session_hash "
            "ORDER BY uniqExact(pageview_id) DESC, session_hash LIMIT 1"
        )[0][0]
        document = await analyst.api("recording", site=SITE, recording=recording)
        stored = collector.rows(
            "SELECT count(), uniqExact(pageview_id) FROM (SELECT DISTINCT pageview_id, sequence FROM {db}.playback "
            "WHERE session_hash = {s:UInt64})",
            s=int(recording, 16),
        )[0]
        assert sum(len(p["payloads"]) for p in document["pages"]) == stored[0]
        assert len(document["pages"]) == stored[1]
        for page in document["pages"]:
            envelopes = [orjson.loads(p)["e"] for p in page["payloads"]]
            assert [e[1] for e in envelopes] == sorted(e[1] for e in envelopes), "payloads in sequence order"
        snapshot = await analyst.api("snapshot", site=SITE, page=PAGE, period="7d")
        assert snapshot["payloads"] and orjson.loads(snapshot["payloads"][0])["e"][1] == 1
        for bad in ("zz", "", "1" * 17):
            status, _, _ = await analyst.get("/dashboard/api/v1/recording", site=SITE, recording=bad)
            assert status == 400
    finally:
        await analyst.close()


async def test_api_refuses_bad_queries_with_4xx(collector_factory: CollectorFactory) -> None:
    collector, analyst = await seeded(collector_factory)
    try:
        cases = [
            ("nope", {"site": SITE}),
            ("overview", {}),
            ("overview", {"site": SITE, "period": "forever"}),
            ("overview", {"site": SITE, "limit": "0"}),
            ("overview", {"site": SITE, "limit": "1e9"}),
            ("overview", {"site": SITE, "bogus": "1"}),
            ("overview", {"site": SITE, "period": "custom", "from": "2026-02-30", "to": "2026-03-01"}),
            ("overview", {"site": SITE, "period": "custom", "from": "2026-03-02", "to": "2026-03-01"}),
            ("overview", {"site": SITE, "period": "custom", "from": "0364-03-17", "to": "0364-03-18"}),
            ("overview", {"site": SITE, "page": "x" * 501}),
            ("heatmap_clicks", {"site": SITE}),
            ("overview", {"site": SITE, "format": "xml"}),
            ("recordings", {"site": SITE, "min_duration": "-1"}),
        ]
        status, body, _ = await analyst.get("/dashboard/api/v1/overview", site="other")
        assert status == 404 and orjson.loads(body)["error"] == "unknown site"
        for panel, params in cases:
            status, body, headers = await analyst.get(f"/dashboard/api/v1/{panel}", **params)
            assert status == 400, (panel, params, body)
            assert headers["Content-Type"].startswith("application/json") and orjson.loads(body)["error"]
    finally:
        await analyst.close()


async def test_api_openapi_document_lists_every_panel(collector_factory: CollectorFactory) -> None:
    collector, analyst = await seeded(collector_factory)
    try:
        status, body, _ = await analyst.get("/dashboard/api/openapi.json")
        assert status == 200
        document = orjson.loads(body)
        assert document["openapi"].startswith("3.")
        for name, panel in PANELS.items():
            operation = document["paths"][f"/dashboard/api/v1/{name}"]["get"]
            schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
            described = orjson.dumps(schema).decode()
            assert all(column in described for column in panel.column_names), name
            required = {p["name"] for p in operation["parameters"] if p["required"]}
            assert required == ({"site", "page"} if panel.needs_page else {"site"}) | set(panel.required), name
        # and every documented panel answers as documented
        for name in PANELS:
            document = await analyst.api(name, **params_for(name))
            assert [c["name"] for c in document["columns"]] == PANELS[name].column_names
    finally:
        await analyst.close()


async def test_dashboard_accounts_cli_goes_through_a_running_collector(
    collector_factory: CollectorFactory, monkeypatch: pytest.MonkeyPatch, tmp_path: Any
) -> None:
    from dashboards.__main__ import main

    collector = await collector_factory(dashboard_site())
    admin_token = collector.app[SETTINGS].admin_token
    monkeypatch.setenv("COLLECTOR_DATA_DIR", str(tmp_path / "cli"))
    monkeypatch.setenv("COLLECTOR_ADMIN_TOKEN", admin_token)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough password\n"))
    code = await asyncio.to_thread(main, ["create-user", "carol", "--password-stdin", "--collector", collector.url])
    assert code == 0
    assert await collector.storage.run(accounts(collector).check_login, "carol", "a long enough password")

    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert (
        await asyncio.to_thread(main, ["set-password", "carol", "--password-stdin", "--collector", collector.url]) == 2
    )
    monkeypatch.setenv("COLLECTOR_ADMIN_TOKEN", "wrong")
    assert await asyncio.to_thread(main, ["create-token", "carol", "--collector", collector.url]) == 2


async def test_export_frame_direct_rows_equal_json_rows(collector_factory: CollectorFactory) -> None:
    """`as_document` is the one conversion behind the JSON, the CSV and both pandas paths."""
    collector, analyst = await seeded(collector_factory)
    try:
        panel = PANELS["top_pages"]
        query = parse_query(panel, {k: str(v) for k, v in params_for("top_pages").items()})
        result = await collector.storage.run(run_panel, collector.storage, panel, query, True)
        served = await analyst.api("top_pages", **params_for("top_pages"))
        assert as_document(panel, query, result)["rows"] == served["rows"]
    finally:
        await analyst.close()
