"""The start page (`/`): links to the dashboards and the demo pages, every link answers, and it is styled
with the dashboards' own stylesheet (checked in Chromium against the dashboards' log-in page)."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

import pytest

from collector.core.sites import demo_site
from collector.server.handlers.site import DEMO_PAGES
from tests.support.browser import screenshot
from tests.support.collector import CollectorFactory, RunningCollector, free_port, make_site


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []
        self.stylesheets: list[str] = []
        self.inline_styles = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if "style" in values or tag == "style":
            self.inline_styles += 1
        if tag == "a" and values.get("href"):
            self.hrefs.append(str(values["href"]))
        if tag == "link" and values.get("rel") == "stylesheet":
            self.stylesheets.append(str(values["href"]))


async def demo_collector(collector_factory: CollectorFactory) -> Any:
    """A collector with the demo site `./run` configures: its origin is the collector's own URL."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    return await collector_factory(demo_site(url), port=port, public_url=url)


async def start_page(collector: RunningCollector) -> tuple[int, str, Any]:
    async with collector.http.get(collector.url + "/") as response:
        return response.status, await response.text(), response.headers


async def test_first_minutes_start_page_links_dashboards_and_demo_and_every_link_answers(
    collector_factory: CollectorFactory,
) -> None:
    collector = await demo_collector(collector_factory)
    status, body, headers = await start_page(collector)
    assert status == 200
    links = Links()
    links.feed(body)
    assert "/dashboard/" in links.hrefs
    assert {path for path, _ in DEMO_PAGES} <= set(links.hrefs)
    assert links.stylesheets == ["/dashboard/static/dashboard.css"] and links.inline_styles == 0
    assert "style-src 'self'" in headers["Content-Security-Policy"]
    for href in {*links.hrefs, *links.stylesheets}:
        async with collector.http.get(collector.url + href) as response:  # no session: as a first visitor
            assert response.status == 200, href
            if href.endswith(".css"):
                assert response.content_type == "text/css"
    assert "data-site=&#34;demo&#34;" in body or "data-site=&quot;demo&quot;" in body  # snippets, escaped


async def test_first_minutes_start_page_without_the_demo_site_has_no_demo_links(
    collector_factory: CollectorFactory,
) -> None:
    collector = await collector_factory(make_site())
    _, body, _ = await start_page(collector)
    links = Links()
    links.feed(body)
    assert "/dashboard/" in links.hrefs and not any(href.startswith("/demo") for href in links.hrefs)
    assert "proj123" in body


@pytest.mark.browser
async def test_first_minutes_start_page_looks_like_the_dashboards_in_chromium(
    collector_factory: CollectorFactory, new_page: Any
) -> None:
    collector = await demo_collector(collector_factory)
    page = await new_page()
    refused: list[str] = []  # policy violations, and anything the pages load that fails (but the favicon)
    page.on(
        "console", lambda message: refused.append(message.text) if "Content Security Policy" in message.text else None
    )
    page.on(
        "response",
        lambda response: (
            refused.append(response.url)
            if response.status >= 400 and not response.url.endswith("/favicon.ico")
            else None
        ),
    )

    async def look(url: str) -> dict[str, str]:
        await page.goto(url)
        return dict(
            await page.evaluate(
                """() => { const body = getComputedStyle(document.body);
                       const header = document.querySelector('header.top');
                       return {font: body.fontFamily, colour: body.color, background: body.backgroundColor,
                               header: header ? getComputedStyle(header).backgroundColor : 'none'}; }"""
            )
        )

    dashboards = await look(collector.url + "/dashboard/login")
    start = await look(collector.url + "/")
    unstyled = {"font": "", "colour": "rgb(0, 0, 0)", "background": "rgba(0, 0, 0, 0)"}
    assert start["background"] != unstyled["background"] and start["colour"] != unstyled["colour"]
    assert {k: start[k] for k in ("font", "colour", "background")} == {
        k: dashboards[k] for k in ("font", "colour", "background")
    }
    assert refused == [], "the page's policy blocked something"
    await screenshot(page, "start-page")
    await page.click("#dashboards a[href='/dashboard/']")
    await page.wait_for_url("**/dashboard/login**", timeout=30000)
    await page.goto(collector.url + "/")
    await page.click("#demo a[href='/demo?beacon=1&banner=1']")
    await page.wait_for_selector("#title", timeout=30000)
