"""One visitor model and one element identity across our beacon and clarity-js (docs/beacon.md), with the
real clients in Debian's Chromium against the real collector, read back through the dashboards' API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.support.browser import UploadLog, collector_serving_pages, wait_until
from tests.support.collector import RunningCollector
from tests.support.dashboard import log_in

pytestmark = pytest.mark.browser

SITE = "proj123"
#: which clients each person's pages load (the demo page's options), and whether the person also makes a
#: single-page-app route change (one more page view)
PEOPLE = (
    ({"beacon": "1"}, False),
    ({"clarity": "1", "track": "0"}, False),
    ({"clarity": "1", "track": "0", "beacon": "1"}, True),
    ({"clarity": "1", "track": "0", "beacon": "1"}, False),
)


def at_least(count: int) -> Callable[[Any], bool]:
    return lambda n: bool(n >= count)


def _demo(collector: RunningCollector, path: str = "/demo", **options: str) -> str:
    query = {"site": SITE, "banner": "1", **options}
    return str(collector.url) + path + "?" + "&".join(f"{k}={v}" for k, v in query.items())


async def _started(page: Any, options: dict[str, str]) -> None:
    """Wait until the page's clients run (clarity-js loaded, our beacon reporting)."""
    if options.get("clarity") == "1":
        await page.wait_for_function("window.clarity && window.clarity.v", timeout=30_000)
    if options.get("beacon") == "1":
        await page.wait_for_function("window.wa && window.wa.started", timeout=30_000)


async def _visit(new_page: Any, collector: Any, options: dict[str, str], route_change: bool) -> UploadLog:
    """One person: accept in the banner, click, (a route change,) the next page, click, leave."""
    page = await new_page()
    log = UploadLog().attach(page.context)
    await page.goto(_demo(collector, **options))
    await _started(page, options)
    await page.get_by_role("button", name="Accept all").click()
    await _started(page, options)  # the banner restarts clarity-js on a grant
    await page.click("#buy")
    await page.click("#signup")
    if route_change:
        # clarity-js starts a new page view on its own; the beacon follows it
        await page.wait_for_timeout(1500)
        await page.evaluate(f"history.pushState({{}}, '', '/demo/virtual?site={SITE}')")
        await page.wait_for_timeout(1500)
        await page.click("#buy")
    await page.wait_for_timeout(1500)
    await page.click("#next")
    await page.wait_for_url("**/demo/second?**")
    await _started(page, options)
    await page.click("#buy")
    await page.wait_for_timeout(1500)
    await page.goto("about:blank")
    return log


async def test_each_person_is_one_visitor_whatever_clients_report_their_pages(
    collector_factory: Any, new_page: Any
) -> None:
    collector = await collector_serving_pages(collector_factory)

    async def views() -> int:
        await collector.flush()
        return int(collector.rows("SELECT uniqExact(pageview_id) FROM {db}.pageviews")[0][0])

    expected_views = 0
    for options, route_change in PEOPLE:
        await _visit(new_page, collector, options, route_change)
        expected_views += 3 if route_change else 2
        assert await wait_until(views, seconds=40, until=at_least(expected_views)), options
    await collector.flush()
    # ground truth: the people and page loads of this script
    people, visits = len(PEOPLE), len(PEOPLE)
    assert collector.rows(
        "SELECT uniqExact(visitor_hash), uniqExact(session_hash), uniqExact(pageview_id) FROM {db}.pageviews"
    ) == [(people, visits, expected_views)]

    # both clients on a page: one page view holding both clients' events, clicks only from clarity-js
    shared = collector.rows(
        "SELECT pageview_id, groupUniqArray(source) AS sources, countIf(type = 9 AND source = 'beacon'), "
        "countIf(type = 9 AND source = 'clarity') FROM {db}.events GROUP BY pageview_id HAVING has(sources, 'beacon') "
        "AND has(sources, 'clarity')"
    )
    both_views = sum(3 if route else 2 for options, route in PEOPLE if options.get("beacon") and options.get("clarity"))
    assert len(shared) == both_views, "every page view of a person with both clients is one page view"
    assert all(beacon == 0 and clarity >= 1 for _, _, beacon, clarity in shared), "clicks counted once"

    analyst = await log_in(collector)
    try:
        overview = await analyst.api("overview", site=SITE, period="7d")
        figures = {row["metric"]: row["value"] for row in overview["rows"]}
        assert (figures["visitors"], figures["visits"], figures["pageviews"]) == (people, visits, expected_views)
        top = await analyst.api("top_pages", site=SITE, period="7d", limit=100)
        assert sum(row["pageviews"] for row in top["rows"]) == expected_views
    finally:
        await analyst.close()


#: elements of many kinds (classes kept and skipped, ids kept and skipped, same-tag siblings, svg, nesting)
IDENTITY_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Identity</title>{head}</head>
<body><h1 class="title">Elements</h1>
<div class="card shop-item"><button class="btn primary">Add</button> <button class="btn active">Remove</button></div>
<div class="card shop-item"><button class="btn primary" type="button">Add</button></div>
<ul class="menu list2"><li>One</li><li class="item">Two</li><li class="item">Three <b>bold</b></li></ul>
<div id="panel-42"><p><span class="note">inside an id with digits</span></p></div>
<section id="main"><p>para <a class="more" href="#more">more</a></p>
<svg width="60" height="60"><g><circle class="dot" cx="30" cy="30" r="25"/></g></svg>
<div><div><div class="  spaced   out  fixed-top "><em>deep</em></div></div></div></section>
{tail}</body></html>"""
#: what the test clicks, in order (Playwright clicks the middle of each: the element there is the target)
TARGETS = (
    "h1",
    "div.card >> nth=0 >> button >> nth=0",
    "div.card >> nth=0 >> button >> nth=1",
    "div.card >> nth=1 >> button",
    "li >> nth=0",
    "li >> nth=1",
    "li >> nth=2 >> b",
    "span.note",
    "a.more",
    "circle",
    "em",
)
CLARITY_SNIPPET = """<script>
(function(c,l,a,r,i,t,y){c[a]=c[a]||function(){(c[a].q=c[a].q||[]).push(arguments)};
t=l.createElement(r);t.async=1;t.src="/clarity.js";y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);
})(window,document,"clarity","script");
clarity("start", {projectId: "proj123", upload: "/collect", track: true});
clarity("consentv2", {ad_Storage: "denied", analytics_Storage: "granted"});
</script>"""
BEACON_SNIPPET = """<script>window.wa = function () { (wa.q = wa.q || []).push(arguments); };
wa("consent", {analytics: true, marketing: false});</script>
<script defer src="/beacon.js" data-site="proj123"></script>"""


async def _click_targets(new_page: Any, collector: Any, head: str, tail: str, ready: str) -> None:
    page = await new_page()
    html = IDENTITY_PAGE.format(head=head, tail=tail)
    await page.context.route(
        collector.url + "/identity", lambda route: route.fulfill(status=200, content_type="text/html", body=html)
    )
    await page.goto(collector.url + "/identity")
    await page.wait_for_function(ready, timeout=30_000)
    await page.evaluate("document.querySelector('a.more').addEventListener('click', e => e.preventDefault())")
    for target in TARGETS:
        await page.locator(target).click()
        await page.wait_for_timeout(150)
    await page.wait_for_timeout(1500)
    await page.goto("about:blank")


async def test_one_element_has_one_identity_whichever_client_clicked_it(collector_factory: Any, new_page: Any) -> None:
    collector = await collector_serving_pages(collector_factory)
    await _click_targets(new_page, collector, "", BEACON_SNIPPET, "window.wa && window.wa.started")
    await _click_targets(new_page, collector, CLARITY_SNIPPET, "", "window.clarity && window.clarity.v")

    def clicks(source: str) -> list[tuple[Any, ...]]:
        return collector.rows(
            "SELECT target_hash, target_tag FROM {db}.events WHERE type = 9 AND source = {source:String} ORDER BY ts",
            source=source,
        )

    async def both_clicked() -> bool:
        await collector.flush()
        return len(clicks("beacon")) == len(TARGETS) and len(clicks("clarity")) == len(TARGETS)

    assert await wait_until(both_clicked, seconds=120)
    beacon, clarity = clicks("beacon"), clicks("clarity")
    assert [tag for _, tag in beacon] == [tag for _, tag in clarity], "the same elements, in the same order"
    assert beacon == clarity, "each element has the same stored identity from both clients"
    assert len({h for h, _ in beacon}) == len(TARGETS), "and different elements different ones"
