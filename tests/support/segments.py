"""Helpers of tests/test_segments.py that other test modules use too."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from tests.support.collector import DESKTOP_UA, RunningCollector, make_site
from tests.support.dashboard import Analyst, log_in

GEN_SITE = "shop"


GEN_ORIGIN = "http://shop.example"


TOKEN = "segments-test-token"


MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.0 Mobile/15E148 Safari/604.1"
)


PAGES = ("/", "/pricing", "/blog/launch", "/blog/howto", "/docs/install", "/checkout")


REFERRERS = {
    "direct": "",
    "search": "https://www.google.com/search?q=shop",
    "social": "https://www.facebook.com/",
    "website": "https://partner.example.org/links",
}


DAY = 86400


@dataclass
class Generated:
    visits: int
    hits: int
    now: int
    #: visitor ids (hex) that came twice
    returning: list[str]


def generated_site() -> Any:
    return make_site(id=GEN_SITE, origins=[GEN_ORIGIN], matomo_idsite=7, matomo_consent="tracker_requires_consent")


async def track(collector: RunningCollector, params: dict[str, Any], user_agent: str) -> None:
    query = urlencode({"idsite": 7, "rec": 1, "send_image": 0, "token_auth": TOKEN, **params})
    async with collector.http.get(f"{collector.url}/matomo.php?{query}", headers={"User-Agent": user_agent}) as r:
        assert r.status == 204, await r.text()


async def generate_visits(collector: RunningCollector, visits: int = 40, days: int = 6, seed: int = 15) -> Generated:
    """`visits` visits over the last `days` days (a few visitors come back), through /matomo.php."""
    rng = random.Random(seed)
    now = int(time.time())
    hits = 0
    returning: list[str] = []
    visitor_ids = [f"{rng.getrandbits(64):016x}" for _ in range(visits)]
    for i in range(visits):
        visitor = visitor_ids[i]
        if i >= visits - 4:  # the last four are second visits of earlier visitors
            visitor = visitor_ids[i - (visits - 4)]
            returning.append(visitor)
        start = now - rng.randrange(600, days * DAY - 3600) if i < visits - 4 else now - 300 - 60 * i
        if start % DAY > DAY - 3600:  # a Matomo visit ends at midnight (UTC here): stay clear of it
            start -= 3600
        ua = MOBILE_UA if rng.random() < 0.45 else DESKTOP_UA
        country = rng.choice(("de", "fr", "us", "gb"))
        channel = rng.choice(("direct", "search", "social", "website", "campaign"))
        pages = [rng.choice(PAGES) for _ in range(rng.choice((1, 1, 2, 3, 4)))]
        base = {"_id": visitor, "country": country}
        at = start
        for n, page in enumerate(pages):
            url = GEN_ORIGIN + page
            extra: dict[str, Any] = {}
            if n == 0 and channel == "campaign":
                url += "?mtm_campaign=Spring&mtm_source=newsletter"
            elif n == 0 and REFERRERS[channel]:
                extra["urlref"] = REFERRERS[channel]
            await track(collector, {**base, **extra, "url": url, "action_name": f"Title {page}", "cdt": at}, ua)
            hits += 1
            at += rng.randrange(5, 200)
            if rng.random() < 0.3:
                await track(
                    collector,
                    {
                        **base,
                        "url": url,
                        "e_c": "Video",
                        "e_a": rng.choice(("Play", "Pause")),
                        "e_n": "intro",
                        "cdt": at,
                    },
                    ua,
                )
                hits += 1
                at += 3
        if rng.random() < 0.3:
            goal = rng.choice((1, 2))
            await track(
                collector, {**base, "url": GEN_ORIGIN + pages[-1], "idgoal": goal, "revenue": 10 * goal, "cdt": at}, ua
            )
            hits += 1
    await collector.flush()
    return Generated(visits, hits, now, returning)


async def generated(collector_factory: Any) -> tuple[RunningCollector, Analyst, Generated]:
    collector = await collector_factory(generated_site(), matomo_token_auth=TOKEN)
    data = await generate_visits(collector)
    return collector, await log_in(collector), data


def sql_visits(collector: RunningCollector, where: str = "1", **params: Any) -> tuple[int, int, int]:
    """(visitors, visits, page views) of the generated site's visits whose first page view passes `where`
    (columns: c country, d device, ch channel, entry, n page views, s session_hash)."""
    return tuple(
        collector.rows(
            "SELECT uniqExact(visitor), count(), sum(n) FROM (SELECT session_hash AS s, any(visitor_hash) AS visitor, "
            "argMin(country, started_at) AS c, argMin(device, started_at) AS d, argMin(channel, started_at) AS ch, "
            "argMin(path(url), started_at) AS entry, uniqExact(pageview_id) AS n "
            "FROM {db}.pageviews WHERE site = 'shop' GROUP BY session_hash) WHERE " + where,
            **params,
        )[0]
    )


async def create_segment(analyst: Analyst, name: str, definition: dict[str, Any], site: str = GEN_SITE) -> str:
    status, body = await analyst.post_json(
        "/dashboard/api/v1/segments", {"name": name, "definition": definition}, csrf=analyst.csrf, site=site
    )
    assert status == 201, body
    return str(orjson.loads(body)["id"])


async def put(analyst: Analyst, path: str, payload: Any, **params: Any) -> tuple[int, bytes]:
    headers = {"Content-Type": "application/json", "X-CSRF-Token": analyst.csrf}
    async with analyst.http.put(
        analyst.base + path, params=params, data=orjson.dumps(payload), headers=headers
    ) as response:
        return response.status, await response.read()


async def delete(analyst: Analyst, path: str, **params: Any) -> tuple[int, bytes]:
    async with analyst.http.delete(
        analyst.base + path, params=params, headers={"X-CSRF-Token": analyst.csrf}
    ) as response:
        return response.status, await response.read()
