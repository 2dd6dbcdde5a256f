"""Matomo trackers in Debian's Chromium: the standard snippet, the tracked website (`SiteServer`, also
serving Matomo's own matomo.js), a `chromium` fixture and the requests a page sent (`Tracked`)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from tests.support.collector import RunningCollector, free_port
from tests.support.matomo import metric

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


@pytest.fixture
def chromium(browser: Any) -> Any:
    """The Matomo tests' name for the shared Chromium of tests/support/browser.py (one launch code)."""
    return browser


#: Matomo's own tracker, vendored unchanged (tests/fixtures/README.md)
VENDORED_MATOMO_JS = Path(__file__).resolve().parents[1] / "fixtures" / "matomo_js" / "matomo.js"


class SiteServer:
    """A tracked website on its own origin (the tracker is cross-origin, as in production): pages that
    `render(name, tracker)` returns (None: 404) at /NAME.html, and Matomo's own matomo.js at
    /vendor/matomo.js. `tracker` is the collector's host:port, set once the collector runs."""

    def __init__(self, render: Callable[[str, str], str | None]) -> None:
        self.port = free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.tracker = ""
        self._render = render
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def page(request: web.Request) -> web.Response:
            html = self._render(request.match_info["name"], self.tracker)
            return web.Response(status=404) if html is None else web.Response(text=html, content_type="text/html")

        async def script(request: web.Request) -> web.StreamResponse:
            return web.FileResponse(VENDORED_MATOMO_JS, headers={"Content-Type": "application/javascript"})

        app = web.Application()
        app.router.add_get("/{name}.html", page)
        app.router.add_get("/vendor/matomo.js", script)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


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
            self.collector.requests_sent["matomo"] += 1

    @property
    def sent_by_all(self) -> int:
        """Tracker requests sent by every context on this collector: its request counter is per collector, so
        a context has settled only when the counter covers them all."""
        return self.collector.requests_sent["matomo"]

    async def handled(self) -> float:
        return await metric(self.collector, 'collector_requests_total{route="matomo"')

    async def settle(self, expected: int, seconds: float = 60.0) -> None:
        """Wait (bounded) until `expected` tracker requests were sent and the collector answered every request
        of every context on it."""
        deadline = asyncio.get_running_loop().time() + seconds
        while asyncio.get_running_loop().time() < deadline:
            if len(self.sent) >= expected and await self.handled() >= self.sent_by_all:
                break
            await asyncio.sleep(0.1)
        assert len(self.sent) >= expected, self.sent
        assert await self.handled() >= self.sent_by_all

    async def tracker_ready(self, page: Any, vendored: bool = False) -> None:
        """Run a function through _paq: once it ran, the tracker has applied every queued call."""
        await page.wait_for_function(
            "window.Matomo && window.Matomo.initialized"
            if vendored
            else "window.Matomo && window.Matomo.collectorTracker"
        )
        await page.evaluate("new Promise(done => window._paq.push([done]))")
