"""Helpers of the dashboard tests: a site fed through the real ingest paths (the captured clarity-js
uploads and matomo.js requests, over a real socket), analysts logged in over HTTP, API tokens, and
a browser context that records every request it makes (to prove none leaves 127.0.0.1).

Browser fixtures themselves come from tests/browser.py (issue 3's shared helpers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from collector.core.keys import SETTINGS
from dashboards.accounts import Accounts
from tests.support.collector import ORIGIN, RunningCollector, clarity_fixture, clarity_fixture_names, make_site
from tests.support.matomo import SITE_ORIGIN as MATOMO_ORIGIN
from tests.support.matomo import replay_all

SITE = "proj123"
#: Scenarios whose page views carry consent at start (stored in "loader" mode); default, mutation, relaxed,
#: strict and reply are one page view each, twopage and relative_url two page views in one visit.
CONSENTED = ("default", "mutation", "relaxed", "strict", "reply", "twopage", "relative_url")
PASSWORD = "correct horse battery staple"


def dashboard_site(**overrides: Any) -> Any:
    values: dict[str, Any] = {
        "id": SITE,
        "origins": [ORIGIN, MATOMO_ORIGIN],
        "consent": "loader",
        "matomo_idsite": 1,
        "matomo_consent": "tracker_requires_consent",
    }
    values.update(overrides)
    return make_site(**values)


async def send_clarity(collector: RunningCollector, scenarios: tuple[str, ...] = CONSENTED) -> int:
    sent = 0
    for scenario in scenarios:
        for name in clarity_fixture_names(scenario + "_"):
            assert await collector.send(clarity_fixture(name)) == 204, name
            sent += 1
    return sent


async def seed(collector: RunningCollector, matomo: bool = True) -> None:
    """The captured Clarity uploads and (optionally) the captured matomo.js visit, then a flush."""
    await send_clarity(collector)
    if matomo:
        statuses = await replay_all(collector, "cap_default")
        assert set(statuses) == {204}
    await collector.flush()


def accounts(collector: RunningCollector) -> Accounts:
    return Accounts(collector.storage, collector.app[SETTINGS].secret_key)


@dataclass
class Analyst:
    """An aiohttp client session logged in to the dashboards (its own cookie jar)."""

    http: aiohttp.ClientSession
    csrf: str
    base: str
    extra_headers: dict[str, str] = field(default_factory=dict)

    async def get(self, path: str, **params: Any) -> tuple[int, bytes, Any]:
        async with self.http.get(
            self.base + path, params=params, allow_redirects=False, headers=self.extra_headers
        ) as response:
            return response.status, await response.read(), response.headers

    async def api(self, panel: str, **params: Any) -> Any:
        status, body, _ = await self.get(f"/dashboard/api/v1/{panel}", **params)
        assert status == 200, (status, body[:300])
        import orjson

        return orjson.loads(body)

    async def post_json(self, path: str, payload: Any, csrf: str | None = None, **params: Any) -> tuple[int, bytes]:
        headers = {"Content-Type": "application/json", **self.extra_headers}
        if csrf is not None:
            headers["X-CSRF-Token"] = csrf
        import orjson

        async with self.http.post(
            self.base + path, params=params, data=orjson.dumps(payload), headers=headers, allow_redirects=False
        ) as response:
            return response.status, await response.read()

    async def close(self) -> None:
        await self.http.close()


async def log_in(collector: RunningCollector, name: str = "analyst", password: str = PASSWORD) -> Analyst:
    """Create the analyst (as the CLI does), then log in through the form as a browser would."""
    await collector.storage.run(accounts(collector).save_analyst, name, password)
    http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
    async with http.get(collector.url + "/dashboard/login") as response:
        token = re.search(r'name="csrf_token" value="([^"]+)"', await response.text())
    assert token, "the log-in form carries a CSRF token"
    form = {"name": name, "password": password, "csrf_token": token.group(1), "next": "/dashboard/traffic"}
    async with http.post(collector.url + "/dashboard/login", data=form, allow_redirects=False) as response:
        assert response.status == 302, await response.text()
        assert response.headers["Location"] == "/dashboard/traffic"
    async with http.get(collector.url + "/dashboard/traffic", params={"site": SITE}) as response:
        assert response.status == 200
        csrf = re.search(r'data-csrf="([^"]+)"', await response.text())
    assert csrf
    return Analyst(http, csrf.group(1), collector.url)


async def with_token(collector: RunningCollector, name: str = "script") -> Analyst:
    """A client authenticating with a bearer token only (no cookie)."""
    store = accounts(collector)
    await collector.storage.run(store.save_analyst, name, PASSWORD)
    token = await collector.storage.run(store.create_token, name, "tests")
    return Analyst(aiohttp.ClientSession(), "", collector.url, {"Authorization": f"Bearer {token}"})
