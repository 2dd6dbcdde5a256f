"""The accounts page in headless Chromium (Debian's): an admin invites an analyst (the generated password
is shown once and logs in), disables them (their session stops), revokes a token from the list (the
token then gets 401), and the invited view-only analyst sees neither the accounts page nor other sites.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import pytest

from tests.support.browser import wait_until
from tests.support.collector import CollectorFactory, RunningCollector
from tests.support.dashboard import PASSWORD, SITE, accounts, dashboard_site
from tests.support.dashboard_browser import logged_in_page

pytestmark = [pytest.mark.asyncio, pytest.mark.browser]
OTHER = "other"


async def bearer_status(collector: RunningCollector, token: str) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.get(
            f"{collector.url}/dashboard/api/v1/overview",
            params={"site": SITE},
            headers={"Authorization": f"Bearer {token}"},
        ) as response:
            return response.status


async def log_in_as(new_page: Any, collector: RunningCollector, name: str, password: str) -> Any:  # noqa: F811
    page = await new_page()
    await page.goto(f"{collector.url}/dashboard/traffic")
    await page.fill("input[name=name]", name)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")
    return page


async def test_accounts_page_invites_disables_and_revokes(collector_factory: CollectorFactory, new_page: Any) -> None:  # noqa: F811
    collector = await collector_factory(dashboard_site(), dashboard_site(id=OTHER, matomo_idsite=2))
    page, _, errors = await logged_in_page(collector, new_page, "/dashboard/accounts")
    store = accounts(collector)
    await collector.storage.run(store.save_analyst, "robot", PASSWORD)
    token = await collector.storage.run(store.create_token, "robot", "nightly export")
    assert await bearer_status(collector, token) == 200
    await page.reload()

    # invite a view-only analyst of one site
    await page.fill("#invite input[name=name]", "vera")
    await page.select_option("#invite select[name=role]", "view")
    await page.check(f"#invite input[name=sites][value={SITE}]")
    await page.click("#invite button[type=submit]")
    await page.wait_for_load_state("networkidle")
    password = (await page.locator("#invited-password").inner_text()).strip()
    assert len(password) >= 12
    row = page.locator("#analysts tr[data-analyst=vera]")
    assert f"{SITE}: view" in await row.inner_text()
    await page.reload()
    assert await page.locator("#invited-password").count() == 0, "the password is shown once"

    # the invited analyst logs in with it, sees only their site and not the accounts page
    vera = await log_in_as(new_page, collector, "vera", password)
    assert vera.url.endswith("/dashboard/traffic"), vera.url
    options = await vera.locator("select[name=site] option").all_inner_texts()
    assert options == [SITE]
    assert await vera.locator("header nav a[href^='/dashboard/accounts']").count() == 0
    response = await vera.goto(f"{collector.url}/dashboard/accounts")
    assert response.status == 403

    # disable her: her open session stops at once
    await row.get_by_role("button", name="Disable").click()
    await page.wait_for_load_state("networkidle")
    assert await page.locator("#analysts tr[data-analyst=vera] td.state").inner_text() == "disabled"
    response = await vera.goto(f"{collector.url}/dashboard/traffic")
    assert "/dashboard/login" in vera.url

    # revoke the robot's token from the list: the token then gets 401
    token_id = token.split("_")[1]
    token_row = page.locator(f"#tokens tr[data-token='{token_id}']")
    assert "nightly export" in await token_row.inner_text()
    await token_row.get_by_role("button", name="Revoke").click()
    await page.wait_for_load_state("networkidle")
    assert await wait_until(
        lambda: page.locator(f"#tokens tr[data-token='{token_id}']").count(), until=lambda n: n == 0
    )
    assert await bearer_status(collector, token) == 401

    # delete (after the confirmation dialog)
    page.once("dialog", lambda dialog: dialog.accept())
    await page.locator("#analysts tr[data-analyst=robot]").get_by_role("button", name="Delete").click()
    await page.wait_for_load_state("networkidle")
    assert await page.locator("#analysts tr[data-analyst=robot]").count() == 0
    assert errors == []
