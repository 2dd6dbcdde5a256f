"""The events panel (issue 14): events grouped by kind and name with occurrences and unique visitors, their values
summarised (distinct values, the most frequent one, sum and average of the numeric ones; the beacon's running
`engagement` total counted once per page view, at its largest) and, on the page, long names cut to one line with
the whole name on hover.

Events go through the real collector: clarity-js custom events in hand-made uploads (the same `[t, 24, key,
value]` our beacon sends) and Matomo events over the tracking API. The expected figures are computed here from
the rows stored in `events` (straight SQL, aggregated in Python) and from the values the test sent.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from typing import Any

import pytest

from tests.support.clarity_uploads import clarity_upload, post_upload
from tests.support.collector import CollectorFactory, RunningCollector
from tests.support.dashboard import SITE, dashboard_site, log_in
from tests.support.dashboard_browser import logged_in_page
from tests.support.matomo import SITE_ORIGIN, hit

LONG = "newsletter_subscription_from_the_footer_of_the_pricing_page_variant_b_with_a_very_long_event_name"
#: (visitor, page views: [[custom events (key, value)]]) sent as clarity-js uploads
CUSTOM = (
    ("v1", [[("signup", "started"), ("price", "10"), ("engagement", "1000"), ("engagement", "2500")]]),
    ("v1", [[("signup", "started"), ("engagement", "4000"), (LONG, "yes")]]),
    ("v2", [[("signup", "done"), ("price", "20.5"), ("engagement", "1500"), (LONG, "yes")]]),
    ("v3", [[("signup", "started"), ("price", "10"), ("price", "not a number")]]),
)
#: Matomo events: (visitor id, category, action, name, value)
MATOMO = (
    ("a1b2c3d4e5f60718", "Video", "Play", "intro", "12.5"),
    ("a1b2c3d4e5f60718", "Video", "Pause", "intro", "3"),
    ("0f1e2d3c4b5a6978", "Video", "Play", "outro", ""),
)


async def seed(collector: RunningCollector) -> None:
    for number, (visitor, pages) in enumerate(CUSTOM):
        for page_num, events in enumerate(pages, 1):
            custom = [[500 + 100 * i, 24, key, value] for i, (key, value) in enumerate(events)]
            await post_upload(collector, clarity_upload(visitor, f"{visitor}-s{number}", page_num, "/shop", custom))
    for visitor in sorted({m[0] for m in MATOMO}):  # a page view first: events count for the visits of the period
        params = {"_id": visitor, "url": f"{SITE_ORIGIN}/docs", "action_name": "Docs"}
        assert (await hit(collector, params, headers={"Origin": SITE_ORIGIN}))[0] in (200, 204)
    for visitor, category, action, name, value in MATOMO:
        params = {"_id": visitor, "url": f"{SITE_ORIGIN}/docs", "e_c": category, "e_a": action, "e_n": name}
        if value:
            params["e_v"] = value
        status, _ = await hit(collector, params, headers={"Origin": SITE_ORIGIN})
        assert status in (200, 204)
    await collector.flush()


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def ground_truth(collector: RunningCollector) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, event) → the panel's figures, from the stored rows."""
    rows = collector.rows(
        "SELECT name, type, key, value, num, visitor_hash, pageview_id FROM {db}.events WHERE type IN (24, 1001) "
        "AND session_hash IN (SELECT session_hash FROM {db}.pageviews)"
    )
    groups: dict[tuple[str, str], list[tuple[str, float | None, int]]] = defaultdict(list)
    engaged: dict[int, tuple[float, int]] = {}
    for kind, kind_code, key, value, num, visitor, pageview in rows:
        if kind_code == 24 and key == "engagement":
            running = _number(value) or 0.0
            engaged[pageview] = max(engaged.get(pageview, (running, int(visitor))), (running, int(visitor)))
            continue
        amount = _number(value) if kind_code == 24 else (float(num) if num != 0 else None)
        groups[(kind, key)].append((value, amount, visitor))
    for amount, visitor in engaged.values():
        groups[("custom", "engagement")].append(("", amount, visitor))
    out = {}
    for name, items in groups.items():
        amounts = [a for _, a, _ in items if a is not None]
        values = Counter(v for v, _, _ in items if v)
        out[name] = {
            "events": len(items),
            "visitors": len({v for _, _, v in items}),
            "values": len(values),
            "top_value": values.most_common(1)[0][0] if values else "",
            "total": round(sum(amounts), 2) if amounts else None,
            "average": round(sum(amounts) / len(amounts), 2) if amounts else None,
        }
    return out


async def test_events_panel_equals_the_stored_events_summarised(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site())
    await seed(collector)
    expected = ground_truth(collector)
    # what was sent, as a check on the ground truth itself
    assert expected[("custom", "price")]["total"] == 40.5 and expected[("custom", "price")]["events"] == 4
    assert expected[("custom", "engagement")] == {
        "events": 3,  # three page views; their largest running totals 2500, 4000 and 1500
        "visitors": 2,
        "values": 0,
        "top_value": "",
        "total": 8000.0,
        "average": round(8000 / 3, 2),
    }
    assert expected[("event", "Video")]["total"] == 15.5 and expected[("event", "Video")]["events"] == 3
    analyst = await log_in(collector)
    try:
        rows = (await analyst.api("events", site=SITE, period="today", limit=100))["rows"]
    finally:
        await analyst.close()
    got = {(r["kind"], r["event"]): {k: r[k] for k in expected[("custom", "price")]} for r in rows}
    assert got == expected
    counts = [r["events"] for r in rows]
    assert counts == sorted(counts, reverse=True), "most frequent first"


@pytest.mark.browser
async def test_events_panel_cuts_a_long_name_and_shows_it_whole_on_hover(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await collector_factory(dashboard_site())
    await seed(collector)
    page, _, errors = await logged_in_page(collector, new_page, f"/dashboard/traffic?site={SITE}&period=today")
    cell = page.locator('[data-panel="events"] td', has_text=LONG[:30])
    await cell.wait_for(timeout=60_000)
    assert await cell.get_attribute("title") == LONG
    width, full = await cell.evaluate("td => [td.clientWidth, td.scrollWidth]")
    assert full > width, "the name is cut to the cell's width"
    assert await cell.evaluate("td => getComputedStyle(td).textOverflow") == "ellipsis"
    assert errors == []
