"""Helpers of tests/test_dashboard_browser.py that other test modules use too."""

from __future__ import annotations

from typing import Any

from tests.support.collector import RunningCollector
from tests.support.dashboard import PASSWORD, accounts


async def logged_in_page(collector: RunningCollector, new_page: Any, target: str) -> tuple[Any, list[str], list[str]]:
    """A browser page logged in through the real form, landing on `target`; it logs requests and errors."""
    await collector.storage.run(accounts(collector).save_analyst, "analyst", PASSWORD)
    page = await new_page()
    requests: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(collector.url + target)
    assert "/dashboard/login" in page.url, "not logged in: the log-in form first"
    await page.fill("input[name=name]", "analyst")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")
    assert page.url.endswith(target), page.url
    return page, requests, errors
