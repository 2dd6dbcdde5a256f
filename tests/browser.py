"""Headless Chromium from Debian, driven by Playwright for Python (never a downloaded browser).

Pages get a desktop user agent: the collector drops HeadlessChrome as a bot on purpose.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from PIL import Image, ImageStat

from .conftest import DESKTOP_UA, OUTPUT_DIR

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
    # the flag, not only the context option: sendBeacon requests ignore Playwright's UA override
    f"--user-agent={DESKTOP_UA}",
]


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
        context = await browser.new_context(user_agent=DESKTOP_UA, viewport={"width": 1000, "height": 700},
                                            **context_options)
        contexts.append(context)
        return await context.new_page()

    yield open_page
    for context in contexts:
        await context.close()


async def wait_until(predicate: Callable[[], Any], seconds: float = 20.0, interval: float = 0.2) -> bool:
    """Poll a condition with a bound (browser uploads are timer-driven)."""
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(interval)
    return bool(predicate())


async def screenshot(page: Any, name: str, **options: Any) -> Path:
    """Save a screenshot in test-output/ and check it is not blank."""
    OUTPUT_DIR.mkdir(exist_ok=True)
    path = OUTPUT_DIR / f"{name}.png"
    await page.screenshot(path=str(path), **options)
    stats = ImageStat.Stat(Image.open(path).convert("L"))
    assert stats.stddev[0] > 5, f"{path} looks blank"
    return path
