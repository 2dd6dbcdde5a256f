"""Matomo trackers in Debian's Chromium: the standard snippet, a `chromium` fixture and the requests a
page sent (`Tracked`)."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.support.collector import RunningCollector
from tests.support.matomo import metric

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage"]


#: The snippet Matomo shows in its UI, unchanged but for the tracker URL (and the site id).
SNIPPET = """<script>
  var _paq = window._paq = window._paq || [];
  /* tracker methods like "setCustomDimension" should be called before "trackPageView" */
  {calls}
  _paq.push(['trackPageView']);
  _paq.push(['enableLinkTracking']);
  (function() {{
    var u="//{tracker}/";
    _paq.push(['setTrackerUrl', u+'matomo.php']);
    _paq.push(['setSiteId', '{idsite}']);
    var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];
    g.async=true; g.src={script}; s.parentNode.insertBefore(g,s);
  }})();
</script>"""


@pytest_asyncio.fixture
async def chromium() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run ./test, which installs it")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


class Tracked:
    """A browser context on the site, recording every request its pages send to the tracker."""

    def __init__(self, context: Any, collector: RunningCollector) -> None:
        self.context = context
        self.collector = collector
        self.sent: list[str] = []
        context.on("request", self._record)

    def _record(self, request: Any) -> None:
        if "/matomo.php" in request.url:
            self.sent.append(request.url + " " + (request.post_data or ""))

    async def handled(self) -> float:
        return await metric(self.collector, 'collector_requests_total{route="matomo"')

    async def settle(self, expected: int, seconds: float = 20.0) -> None:
        """Wait (bounded) until `expected` tracker requests were sent and the collector answered them all."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            if len(self.sent) >= expected and await self.handled() >= len(self.sent):
                break
            await asyncio.sleep(0.1)
        assert len(self.sent) >= expected, self.sent
        assert await self.handled() >= len(self.sent)

    async def tracker_ready(self, page: Any, vendored: bool = False) -> None:
        """Run a function through _paq: once it ran, the tracker has applied every queued call."""
        await page.wait_for_function("window.Matomo && window.Matomo.initialized" if vendored
                                     else "window.Matomo && window.Matomo.collectorTracker")
        await page.evaluate("new Promise(done => window._paq.push([done]))")

