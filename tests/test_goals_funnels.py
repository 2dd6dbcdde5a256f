"""Goals and funnels defined through the API, counted over generated Matomo visits with known answers.

The visits go in through the real tracking API (tests/support/goals_funnels_data.py); the expected figures come
from the plan of those visits, computed in plain Python, and a few are also counted straight in
ClickHouse; the API's JSON, CSV and pandas frame must all agree with them.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from typing import Any

import orjson
import pytest

from dashboards.dataframe import frame_from_storage
from dashboards.queries import PANELS, parse_query, run_panel
from tests.support.dashboard import Analyst, accounts, log_in
from tests.support.goals_funnels import DEFS, create, started, visit_count
from tests.support.goals_funnels_data import (
    SITE,
    StepRef,
    Test,
    Visit,
    converted,
    event,
    funnel_reference,
    matomo_goal,
    page,
)

pytestmark = pytest.mark.asyncio

#: each goal as the API takes it, and the test that says whether a generated visit converts
GOALS: list[tuple[dict[str, Any], Test]] = [
    (
        {"name": "Checkout seen", "kind": "page", "match": "exact", "value": "/checkout", "revenue": 5},
        page("exact", "/checkout"),
    ),
    ({"name": "Any product", "kind": "page", "match": "prefix", "value": "/product/"}, page("prefix", "/product/")),
    (
        {"name": "Thanks page", "kind": "page", "match": "pattern", "value": r"^/thanks\?order=\d+$"},
        page("pattern", r"^/thanks\?order=\d+$"),
    ),
    ({"name": "Added to cart", "kind": "event", "event_category": "Cart", "event_action": "Add"}, event("Cart", "Add")),
    ({"name": "Order (Matomo goal 1)", "kind": "matomo_goal", "value": "1"}, matomo_goal),
]


async def test_goals_count_conversions_rate_and_revenue_of_the_past(collector_factory: Any) -> None:
    collector, analyst, visits = await started(collector_factory)
    try:
        # defined after the visits happened: goals count the stored past
        ids = [(await create(analyst, "goals", body))["id"] for body, _ in GOALS]
        ids.append((await create(analyst, "goals", {"name": "Engaged", "kind": "duration", "value": 120}))["id"])
        ids.append((await create(analyst, "goals", {"name": "Three pages", "kind": "pages", "value": "3"}))["id"])
        rows = {r["goal"]: r for r in (await analyst.api("goal_conversions", site=SITE, period="7d"))["rows"]}
        assert list(rows) == ids, "every goal, in the order they were created"
        expected = [visit_count(visits, test) for _, test in GOALS]
        expected.append(sum(1 for v in visits if v.duration >= 120))
        expected.append(sum(1 for v in visits if len(v.pages) >= 3))
        assert all(0 < n < len(visits) for n in expected), f"the plan must exercise every goal: {expected}"
        for goal_id, count in zip(ids, expected, strict=True):
            row = rows[goal_id]
            assert row["conversions"] == count, row
            assert row["conversion_rate"] == round(count * 100 / len(visits), 2), row
        checkout = rows[ids[0]]
        assert checkout["revenue"] == 5 * expected[0], "a fixed revenue per conversion"
        assert checkout["visitors"] == len({v.visitor for v in visits if converted(v, GOALS[0][1])})
        tracked = sum(a.revenue for v in visits for a in v.acts if a.kind == "goal")
        assert rows[ids[4]]["revenue"] == round(tracked, 2), "a Matomo goal's revenue is what its hits carried"
        assert rows[ids[4]]["rule"] == "matomo goal 1" and rows[ids[3]]["rule"] == "event Cart / Add / *"

        # the same figure straight from ClickHouse: visits with a stored /checkout page view
        direct = collector.rows(
            "SELECT uniqExact(session_hash) FROM {db}.pageviews WHERE site = {site:String} AND path(url) = '/checkout'",
            site=SITE,
        )[0][0]
        assert direct == expected[0]

        # filters apply (and so segments do): mobile visits only
        mobile = [v for v in visits if v.device == "mobile"]
        filtered = {
            r["goal"]: r
            for r in (await analyst.api("goal_conversions", site=SITE, period="7d", device="mobile"))["rows"]
        }
        assert filtered[ids[3]]["conversions"] == visit_count(mobile, GOALS[3][1])
        assert filtered[ids[3]]["conversion_rate"] == round(visit_count(mobile, GOALS[3][1]) * 100 / len(mobile), 2)
        # an earlier period holds nothing
        before = await analyst.api(
            "goal_conversions", site=SITE, period="custom", **{"from": "2026-01-01", "to": "2026-01-02"}
        )
        assert [r["conversions"] for r in before["rows"]] == [0] * len(ids)
    finally:
        await analyst.close()


async def test_goal_breakdown_by_channel_country_device_and_page(collector_factory: Any) -> None:
    collector, analyst, visits = await started(collector_factory)
    try:
        body, test = GOALS[3]
        goal = (await create(analyst, "goals", {**body, "revenue": 2.5}))["id"]
        keys: tuple[tuple[str, Callable[[Visit], str]], ...] = (
            ("channel", lambda v: v.channel),
            ("country", lambda v: v.country),
            ("device", lambda v: v.device),
            ("entry_page", lambda v: v.landing),
        )
        for by, key in keys:
            rows = (await analyst.api("goal_breakdown", site=SITE, period="7d", goal=goal, by=by, limit=50))["rows"]
            got = {r["value"]: (r["visits"], r["conversions"], r["revenue"]) for r in rows}
            want_visits = Counter(key(v) for v in visits)
            want_conv = Counter(key(v) for v in visits if converted(v, test))
            assert got == {k: (n, want_conv[k], round(want_conv[k] * 2.5, 2)) for k, n in want_visits.items()}, by
        # without a goal: any of the site's goals (a second one: the checkout page)
        await create(analyst, "goals", GOALS[0][0])
        rows = (await analyst.api("goal_breakdown", site=SITE, period="7d", by="device"))["rows"]
        either = [v for v in visits if converted(v, test) or converted(v, GOALS[0][1])]
        assert {r["value"]: r["conversions"] for r in rows} == dict(Counter(v.device for v in either))
        assert sum(r["revenue"] for r in rows) == 2.5 * visit_count(visits, test) + 5 * visit_count(visits, GOALS[0][1])
        rows = (await analyst.api("goal_breakdown", site=SITE, period="7d", goal=goal, by="page", limit=50))["rows"]
        pages = {r["value"]: (r["visits"], r["conversions"]) for r in rows}
        paths = {p.url.split("?")[0] for v in visits for p in v.pages}
        for path in paths:
            viewed = [v for v in visits if any(p.url.split("?")[0] == path for p in v.pages)]
            assert pages[path] == (len(viewed), sum(1 for v in viewed if converted(v, test))), path
        assert rows[0]["conversions"] == max(c for _, c in pages.values()), "most conversions first"
    finally:
        await analyst.close()


FUNNEL: dict[str, Any] = {
    "name": "Checkout",
    "steps": [
        {"kind": "page", "match": "prefix", "value": "/product/", "label": "Product"},
        {"kind": "event", "event_category": "Cart", "event_action": "Add", "optional": True},
        {"kind": "page", "match": "exact", "value": "/checkout", "label": "Checkout"},
        {"kind": "matomo_goal", "value": "1", "label": "Order"},
    ],
}
FUNNEL_REF = [
    StepRef(page("prefix", "/product/")),
    StepRef(event("Cart", "Add"), optional=True),
    StepRef(page("exact", "/checkout")),
    StepRef(matomo_goal),
]


def check_funnel(rows: list[dict[str, Any]], reference: list[dict[str, Any]]) -> None:
    assert [r["step"] for r in rows] == list(range(1, len(reference) + 1))
    first = reference[0]["visits"]
    for i, (row, want) in enumerate(zip(rows, reference, strict=True)):
        assert row["visits"] == want["visits"], (i, row, want)
        assert row["dropped"] == want["dropped"], (i, row, want)
        assert row["median_seconds"] == want["median"], (i, row, want)
        assert row["conversion_rate"] == round(want["visits"] * 100 / first, 2)


async def test_funnel_steps_drop_off_and_median_times_equal_the_plan(collector_factory: Any) -> None:
    collector, analyst, visits = await started(collector_factory)
    try:
        funnel = await create(analyst, "funnels", FUNNEL)
        rows = (await analyst.api("funnel", site=SITE, period="7d", funnel=funnel["id"]))["rows"]
        reference = funnel_reference(visits, FUNNEL_REF)
        assert reference[0]["visits"] > reference[2]["visits"] > reference[3]["visits"] > 0, reference
        assert reference[1]["visits"] > 0 and reference[0]["dropped"] > 0
        check_funnel(rows, reference)
        assert rows[1]["optional"] is True and rows[1]["label"] == "event Cart / Add / *"
        assert rows[2]["from_previous"] == round(reference[2]["visits"] * 100 / reference[0]["visits"], 2), (
            "an optional step is skipped when counting from the previous step"
        )
        assert rows[3]["dropped"] is None and rows[3]["drop_off_rate"] is None

        # out-of-order visits (checkout before a product) never reach the checkout step: straight SQL
        ordered = collector.rows(
            "SELECT countIf(c > 0 AND p > 0 AND c > p) FROM (SELECT session_hash, "
            "minIf(started_at, startsWith(path(url), '/product/')) AS p, "
            "maxIf(started_at, path(url) = '/checkout') AS c FROM {db}.pageviews WHERE site = {site:String} "
            "GROUP BY session_hash)",
            site=SITE,
        )[0][0]
        assert rows[2]["visits"] == ordered

        # a window of 60 s from the first step: fewer visits get through
        windowed = await create(analyst, "funnels", {**FUNNEL, "name": "Fast checkout", "window_seconds": 60})
        rows = (await analyst.api("funnel", site=SITE, period="7d", funnel=windowed["id"]))["rows"]
        reference_60 = funnel_reference(visits, FUNNEL_REF, window=60)
        assert reference_60[3]["visits"] < reference[3]["visits"]
        check_funnel(rows, reference_60)

        # filters apply to funnels as to every panel
        desktop = [v for v in visits if v.device == "desktop"]
        rows = (await analyst.api("funnel", site=SITE, period="7d", funnel=funnel["id"], device="desktop"))["rows"]
        check_funnel(rows, funnel_reference(desktop, FUNNEL_REF))
    finally:
        await analyst.close()


async def test_funnel_step_filter_selects_the_visits_that_dropped_off(collector_factory: Any) -> None:
    collector, analyst, visits = await started(collector_factory)
    try:
        funnel = (await create(analyst, "funnels", FUNNEL))["id"]
        reference = funnel_reference(visits, FUNNEL_REF)
        for step, want in enumerate(reference[:3], start=1):
            left = await analyst.api("overview", site=SITE, period="7d", funnel=funnel, step=step, dropped=1)
            figures = {r["metric"]: r["value"] for r in left["rows"]}
            assert figures["visits"] == want["dropped"], step
            reached = await analyst.api("overview", site=SITE, period="7d", funnel=funnel, step=step)
            assert {r["metric"]: r["value"] for r in reached["rows"]}["visits"] == want["visits"], step
        # the drop-off after the product step, by landing page: a breakdown panel with the same filter
        entry = (await analyst.api("entry_pages", site=SITE, period="7d", funnel=funnel, step=1, dropped=1, limit=50))[
            "rows"
        ]
        product = FUNNEL_REF[0].test
        checkout = FUNNEL_REF[2].test
        left = [v for v in visits if converted(v, product) and not funnel_reference([v], FUNNEL_REF)[2]["visits"]]
        assert len(left) == reference[0]["dropped"] and not any(converted(v, checkout) and False for v in left)
        assert {r["page"]: r["visits"] for r in entry} == dict(Counter(v.landing for v in left))
        # the recordings list takes the filter too (these Matomo visits have no recording: none listed)
        assert (await analyst.api("recordings", site=SITE, period="7d", funnel=funnel, step=1, dropped=1))["rows"] == []
    finally:
        await analyst.close()


async def test_definitions_crud_and_bad_input(collector_factory: Any) -> None:
    collector, analyst, visits = await started(collector_factory)
    try:
        goal = await create(analyst, "goals", GOALS[0][0])
        status, body, _ = await analyst.get(f"{DEFS}/goals/{goal['id']}", site=SITE)
        assert status == 200 and orjson.loads(body)["value"] == "/checkout"
        changed = {**GOALS[1][0], "name": "Products"}
        status, body = await put(analyst, f"{DEFS}/goals/{goal['id']}", changed)
        assert status == 200 and orjson.loads(body)["name"] == "Products"
        rows = (await analyst.api("goal_conversions", site=SITE, period="7d"))["rows"]
        assert [(r["name"], r["conversions"]) for r in rows] == [("Products", visit_count(visits, GOALS[1][1]))]

        bad_bodies = [
            ({"name": "", "kind": "page", "value": "/x"}, "name"),
            ({"name": "x", "kind": "nope"}, "kind"),
            ({"name": "x", "kind": "page", "match": "pattern", "value": "(unclosed"}, "value"),
            ({"name": "x", "kind": "page", "match": "glob", "value": "/x"}, "match"),
            ({"name": "x", "kind": "page", "value": "no-slash"}, "value"),
            ({"name": "x", "kind": "event"}, "event_category"),
            ({"name": "x", "kind": "matomo_goal", "value": "abc"}, "value"),
            ({"name": "x", "kind": "duration", "value": -3}, "value"),
            ({"name": "x", "kind": "page", "value": "/x", "revenue": "lots"}, "revenue"),
            ([1, 2], "body"),
        ]
        for bad, field in bad_bodies:
            status, answer = await analyst.post_json(f"{DEFS}/goals", bad, csrf=analyst.csrf, site=SITE)
            assert status == 400, (bad, answer)
            assert orjson.loads(answer)["error"].startswith(field), (bad, answer)
        bad_funnels = [
            ({"name": "f", "steps": [FUNNEL["steps"][0]]}, "steps"),
            ({"name": "f", "steps": [FUNNEL["steps"][0], {**FUNNEL["steps"][2], "match": "regex"}]}, "steps[1].match"),
            (
                {"name": "f", "steps": [{**FUNNEL["steps"][0], "optional": True}, FUNNEL["steps"][2]]},
                "steps[0].optional",
            ),
            ({**FUNNEL, "window_seconds": -1}, "window_seconds"),
            (
                {"name": "f", "steps": [FUNNEL["steps"][0], {"kind": "page", "match": "pattern", "value": "[a-"}]},
                "steps[1].value",
            ),
        ]
        for bad, field in bad_funnels:
            status, answer = await analyst.post_json(f"{DEFS}/funnels", bad, csrf=analyst.csrf, site=SITE)
            assert status == 400 and orjson.loads(answer)["error"].startswith(field), (bad, answer)
        # nothing half-saved: the refused bodies left no definition behind
        assert collector.rows("SELECT count() FROM {db}.goal_definitions")[0][0] == 2
        assert collector.rows("SELECT count() FROM {db}.funnel_definitions")[0][0] == 0

        # unknown site, goal or funnel: 404 with a JSON error, for definitions and panels alike
        for path, params in (
            (f"{DEFS}/goals/0123456789ab", {"site": SITE}),
            (f"{DEFS}/goals", {"site": "nope"}),
            (f"{DEFS}/funnels/zzz", {"site": SITE}),
            ("/dashboard/api/v1/goal_breakdown", {"site": SITE, "goal": "0123456789ab"}),
            ("/dashboard/api/v1/funnel", {"site": SITE, "funnel": "0123456789ab"}),
            ("/dashboard/api/v1/overview", {"site": SITE, "funnel": "0123456789ab", "step": "1"}),
        ):
            status, body, headers = await analyst.get(path, **params)
            assert status == 404 and headers["Content-Type"].startswith("application/json"), (path, body)
            assert orjson.loads(body)["error"]
        status, body, _ = await analyst.get("/dashboard/api/v1/goal_breakdown", site=SITE, goal=goal["id"], by="planet")
        assert status == 400 and orjson.loads(body)["error"].startswith("by"), body
        funnel = (await create(analyst, "funnels", FUNNEL))["id"]
        for params in ({"funnel": funnel, "step": "9"}, {"funnel": funnel, "step": "1", "dropped": "x"}, {"step": "1"}):
            status, body, _ = await analyst.get("/dashboard/api/v1/overview", site=SITE, **params)
            assert status == 400, (params, body)

        # changing needs the session's CSRF token
        status, _ = await analyst.post_json(f"{DEFS}/goals", GOALS[0][0], site=SITE)
        assert status == 403
        # deleted: gone from the list and the panel, then 404
        status, _ = await delete(analyst, f"{DEFS}/goals/{goal['id']}")
        assert status == 200
        assert (await analyst.api("goal_conversions", site=SITE, period="7d"))["rows"] == []
        status, _ = await delete(analyst, f"{DEFS}/goals/{goal['id']}")
        assert status == 404
        listed = orjson.loads((await analyst.get(f"{DEFS}/funnels", site=SITE))[1])
        assert [f["id"] for f in listed["funnels"]] == [funnel] and listed["funnels"][0]["steps"][1]["optional"]
    finally:
        await analyst.close()


async def put(analyst: Analyst, path: str, body: Any) -> tuple[int, bytes]:
    async with analyst.http.put(
        analyst.base + path, params={"site": SITE}, data=orjson.dumps(body), headers={"X-CSRF-Token": analyst.csrf}
    ) as response:
        return response.status, await response.read()


async def delete(analyst: Analyst, path: str) -> tuple[int, bytes]:
    async with analyst.http.delete(
        analyst.base + path, params={"site": SITE}, headers={"X-CSRF-Token": analyst.csrf}
    ) as response:
        return response.status, await response.read()


async def test_goal_and_funnel_panels_as_csv_frame_and_openapi(collector_factory: Any) -> None:
    collector, analyst, visits = await started(collector_factory)
    try:
        goal = (await create(analyst, "goals", GOALS[4][0]))["id"]
        funnel = (await create(analyst, "funnels", FUNNEL))["id"]
        for panel, params in (
            ("goal_conversions", {}),
            ("goal_breakdown", {"goal": goal, "by": "country"}),
            ("funnel", {"funnel": funnel}),
        ):
            document = await analyst.api(panel, site=SITE, period="7d", **params)
            status, body, _ = await analyst.get(f"/dashboard/api/v1/{panel}.csv", site=SITE, period="7d", **params)
            table = list(csv.DictReader(io.StringIO(body.decode())))
            assert status == 200 and len(table) == len(document["rows"]) > 0, panel
            for from_csv, from_json in zip(table, document["rows"], strict=True):
                for column, value in from_json.items():
                    text = from_csv[column]
                    if value is None:
                        assert text == ""
                    elif isinstance(value, bool):
                        assert text == ("true" if value else "false")
                    elif isinstance(value, (int, float)):
                        assert float(text) == value, (panel, column)
                    else:
                        assert text == value
            raw = {"site": SITE, "period": "7d", **params}
            df = await collector.storage.run(frame_from_storage, collector.storage, panel, "UTC", raw)
            assert list(df.columns) == [c["name"] for c in document["columns"]]
            assert len(df) == len(document["rows"])
            # visit_stats (the materialized view) and the raw pageviews fallback agree
            query = parse_query(PANELS[panel], {k: str(v) for k, v in raw.items()})
            storage = collector.storage
            with_view = await storage.run(run_panel, storage, PANELS[panel], query, True)
            assert with_view.rows == (await storage.run(run_panel, storage, PANELS[panel], query, False)).rows, panel
        document = orjson.loads((await analyst.get("/dashboard/api/openapi.json"))[1])
        for path in (
            "/dashboard/api/v1/goal_conversions",
            "/dashboard/api/v1/funnel.csv",
            "/dashboard/api/v1/definitions/goals",
            "/dashboard/api/v1/definitions/funnels/{id}",
        ):
            assert path in document["paths"], path
        names = {p["name"] for p in document["paths"]["/dashboard/api/v1/recordings"]["get"]["parameters"]}
        assert {"funnel", "step", "dropped"} <= names
    finally:
        await analyst.close()


async def test_a_view_only_analyst_cannot_change_goals_or_funnels(collector_factory: Any) -> None:
    """Roles (dashboards/roles.py): `view` on a site reads its goals and funnels, changes none (403), and
    nothing is saved by a refused request."""
    collector, admin, _ = await started(collector_factory)
    await collector.storage.run(accounts(collector).create_analyst, "viewer", "viewer password 1", {SITE: "view"})
    viewer = await log_in(collector, "viewer", "viewer password 1")
    try:
        goal = await create(admin, "goals", GOALS[0][0])
        status, _ = await viewer.post_json(f"{DEFS}/goals", GOALS[1][0], csrf=viewer.csrf, site=SITE)
        assert status == 403
        status, _ = await put(viewer, f"{DEFS}/goals/{goal['id']}", {**GOALS[1][0], "name": "renamed"})
        assert status == 403
        status, _ = await viewer.post_json(f"{DEFS}/funnels", FUNNEL, csrf=viewer.csrf, site=SITE)
        assert status == 403
        status, body, _ = await viewer.get(f"{DEFS}/goals", site=SITE)
        assert status == 200 and [g["name"] for g in orjson.loads(body)["goals"]] == [GOALS[0][0]["name"]]
    finally:
        await viewer.close()
        await admin.close()
