"""Headless Chromium from Debian, driven by Playwright for Python (never a downloaded browser).

Its fixtures (`browser`, `new_page`, `page_server`) are registered for every test module by
tests/conftest.py; pages get a desktop user agent because the collector drops HeadlessChrome as a bot on
purpose. Also: a log of the uploads a page makes, a collector that serves the /demo pages on its
own origin, a one-route page server for cross-origin pages, and a screenshot that must not be blank.
"""

from __future__ import annotations

import asyncio
import gzip
import inspect
import shutil
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
import pytest_asyncio
from aiohttp import web
from PIL import Image, ImageStat

from tests.support.collector import DESKTOP_UA, OUTPUT_DIR, CollectorFactory, RunningCollector, free_port, make_site

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    # the flag, not only the context option: sendBeacon requests ignore Playwright's UA override
    f"--user-agent={DESKTOP_UA}",
]
DATA_TABLES = ("pageviews", "events", "playback")


@pytest_asyncio.fixture
async def browser() -> AsyncIterator[Any]:
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Debian's chromium is not installed: run ./test, which installs it")
    async with async_playwright() as playwright:
        instance = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        await instance.close()


@pytest_asyncio.fixture
async def new_page(browser: Any) -> AsyncIterator[Callable[..., Any]]:
    """Open a page in a fresh context (own cookies and storage) with a desktop user agent."""
    contexts = []

    async def open_page(**context_options: Any) -> Any:
        context = await browser.new_context(
            user_agent=DESKTOP_UA, viewport={"width": 1000, "height": 700}, **context_options
        )
        contexts.append(context)
        return await context.new_page()

    yield open_page
    for context in contexts:
        await context.close()


async def wait_until(
    probe: Callable[[], Any], seconds: float = 20.0, interval: float = 0.2, until: Callable[[Any], bool] = bool
) -> bool:
    """Poll a condition with a bound (browser uploads are timer-driven). `probe` may be a coroutine
    function; `until` judges what it returns."""

    async def check() -> bool:
        value = probe()
        return until(await value if inspect.isawaitable(value) else value)

    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if await check():
            return True
        await asyncio.sleep(interval)
    return await check()


async def screenshot(page: Any, name: str, element: Any = None, **options: Any) -> Path:
    """Save a screenshot (of the page, or of one element) in test-output/ and check it is not blank."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    path = OUTPUT_DIR / f"{name}.png"
    await (element or page).screenshot(path=str(path), **options)
    image = Image.open(path).convert("RGB")
    stats = ImageStat.Stat(image.convert("L"))
    assert stats.stddev[0] > 5, f"{path} looks blank"
    assert len(image.getcolors(maxcolors=1 << 16) or range(1 << 16)) > 8, f"{path} has almost no colours"
    return path


@dataclass
class Upload:
    """One request to /collect as the browser sent it, and the collector's answer once it is known
    (a beacon sent while a page unloads may never report one to Playwright)."""

    kind: str  # "xhr", "fetch", "ping" (sendBeacon)
    content_type: str
    body: bytes
    status: int | None = None
    reply: bytes = b""

    @property
    def gzipped(self) -> bool:
        return self.body[:2] == b"\x1f\x8b"

    @property
    def document(self) -> dict[str, Any]:
        raw = gzip.decompress(self.body) if self.gzipped else self.body
        document: dict[str, Any] = orjson.loads(raw)
        return document


@dataclass
class UploadLog:
    """Every /collect request of a browser context, in the order the browser issued them."""

    uploads: list[Upload] = field(default_factory=list)
    _by_request: dict[Any, Upload] = field(default_factory=dict)

    def attach(self, context: Any) -> "UploadLog":
        context.on("request", self._on_request)
        context.on("requestfinished", self._on_finished)
        return self

    @property
    def requested(self) -> int:
        return len(self.uploads)

    def _on_request(self, request: Any) -> None:
        if request.method == "POST" and request.url.split("?")[0].endswith("/collect"):
            content_type = request.headers.get("content-type", "")
            upload = Upload(request.resource_type, content_type, request.post_data_buffer or b"")
            self.uploads.append(upload)
            self._by_request[request] = upload

    async def _on_finished(self, request: Any) -> None:
        upload = self._by_request.pop(request, None)
        if upload is None:
            return
        response = await request.response()
        if response is not None:
            upload.status = response.status
            upload.reply = await _body(response)

    def consent_events(self) -> list[list[Any]]:
        return [e for u in self.uploads for e in u.document.get("a", []) if e[1] == 47]


async def _body(response: Any) -> bytes:
    try:
        return bytes(await response.body())
    except Exception:  # the browser does not keep every response body (beacons, unloaded pages)
        return b""


async def collector_serving_pages(collector_factory: CollectorFactory, **site_options: Any) -> RunningCollector:
    """A collector whose own origin is the site's origin: it serves the /demo pages, so clarity-js
    can use the root-relative upload path the spec recommends."""
    port = free_port()
    return await collector_factory(make_site(origins=[f"http://127.0.0.1:{port}"], **site_options), port=port)


@pytest_asyncio.fixture
async def page_server() -> AsyncIterator[Callable[[Callable[[], str]], Awaitable[str]]]:
    """Serve one HTML page from another origin (a website whose collector is elsewhere): returns its URL."""
    runners: list[web.AppRunner] = []

    async def serve(render: Callable[[], str]) -> str:
        async def page(request: web.Request) -> web.Response:
            return web.Response(text=render(), content_type="text/html")

        app = web.Application()
        app.router.add_get("/", page)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        runners.append(runner)
        return f"http://127.0.0.1:{port}/"

    yield serve
    for runner in runners:
        await runner.cleanup()


def all_stored_text(collector: RunningCollector) -> str:
    """Every String, Array/Map/Tuple of String and JSON column of every table of the collector's
    database (found in system.columns, never listed by hand), as one text."""
    database = collector.storage.database
    parts = []
    for table, column in collector.rows(
        "SELECT table, name FROM system.columns WHERE database = '{db}' AND "
        "(type LIKE '%String%' OR type LIKE '%JSON%' OR type LIKE '%Object%')"
    ):
        rows = collector.storage.query_rows(f"SELECT toString(`{column}`) FROM `{database}`.`{table}`")
        parts += [str(row[0]) for row in rows]
    return "\n".join(parts)


def stored_rows(collector: RunningCollector) -> int:
    return sum(collector.count(table) for table in DATA_TABLES)


async def metric(collector: RunningCollector, name: str, **labels: str) -> float:
    """A Prometheus sample of the running collector (0 when it has not been counted yet)."""
    async with collector.http.get(collector.url + "/metrics") as response:
        text = await response.text()
    wanted = ",".join(f'{k}="{v}"' for k, v in labels.items())
    prefix = f"{name}{{{wanted}}} " if wanted else f"{name} "
    return next((float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix)), 0.0)
