"""Matomo tracking API helpers: the test site, captured requests replayed as recorded, hand-made hits,
and readers of what was stored (visits, page views, events by type, metrics)."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlencode

from collector.ingest.keys import SERVICES
from ingest_schema.hashing import matomo_visitor_hash
from tests.support.collector import DESKTOP_UA, MATOMO_FIXTURES, RunningCollector, make_site

SITE_ORIGIN = "http://127.0.0.1:18081"


TOKEN = "test-token-auth"


REPLAYED_HEADERS = ("Origin", "Content-Type", "Referer")


def matomo_site(**overrides: Any) -> Any:
    """The captures' site: matomo idsite 1 on http://127.0.0.1:18081."""
    values: dict[str, Any] = {"id": "shop", "origins": [SITE_ORIGIN], "matomo_idsite": 1}
    values.update(overrides)
    return make_site(**values)


def captured(name: str) -> list[dict[str, Any]]:
    """The tracker requests of one capture file, in order (the site's own page requests left out)."""
    records = [json.loads(line) for line in (MATOMO_FIXTURES / f"{name}.jsonl").read_text().splitlines()]
    return [r for r in records if r.get("server", "tracker") == "tracker"]


def query_of(record: dict[str, Any]) -> str:
    return str(record.get("raw_query", record["query"]) if isinstance(record["query"], list) else record["query"])


async def replay(
    collector: RunningCollector, record: dict[str, Any], user_agent: str = DESKTOP_UA, **headers: str
) -> tuple[int, bytes, Any]:
    """Send one captured request as recorded; returns (status, body, headers)."""
    sent = {k: v for k, v in record["headers"].items() if k in REPLAYED_HEADERS}
    sent["User-Agent"] = user_agent
    sent.update(headers)
    query = query_of(record)
    url = collector.url + record["path"] + (f"?{query}" if query else "")
    async with collector.http.request(record["method"], url, data=record["body"].encode(), headers=sent) as response:
        return response.status, await response.read(), response.headers


async def replay_all(collector: RunningCollector, name: str, **headers: str) -> list[int]:
    return [(await replay(collector, record, **headers))[0] for record in captured(name)]


async def hit(
    collector: RunningCollector,
    params: dict[str, Any],
    method: str = "GET",
    form: bool = False,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes]:
    """One hand-made hit (in the query, or as a form body), with a desktop UA unless `headers` name another."""
    sent = {"User-Agent": DESKTOP_UA, **(headers or {})}
    query = urlencode({"idsite": 1, "rec": 1, **params})
    url = f"{collector.url}/matomo.php" + ("" if form else f"?{query}")
    if form:
        sent["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
    async with collector.http.request(method, url, headers=sent, data=query if form else None) as response:
        return response.status, await response.read()


def events_by_type(collector: RunningCollector) -> dict[int, int]:
    return {
        int(t): int(n)
        for t, n in collector.rows("SELECT type, count() FROM {db}.events WHERE source = 'matomo' GROUP BY type")
    }


def visits(collector: RunningCollector) -> list[dict[str, Any]]:
    result = collector.storage.client.query(
        f"SELECT * FROM {collector.storage.table('visits')} FINAL ORDER BY started_at"
    )
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def pageviews(collector: RunningCollector) -> list[dict[str, Any]]:
    result = collector.storage.client.query(
        f"SELECT site, visitor_hash, session_hash, page_num, pageview_id, any(source) AS source, "
        f"max(url) AS url, max(title) AS title, max(referrer) AS referrer, sum(payloads) AS hits, "
        f"sum(events) AS actions, max(channel) AS channel, max(campaign_name) AS campaign_name, "
        f"max(campaign_keyword) AS campaign_keyword, max(user_hash) AS user_hash, max(browser) AS browser, "
        f"max(os) AS os, max(device) AS device, max(country) AS country, max(consent_source) AS consent_source, "
        f"max(referrer_host) AS referrer_host, max(referrer_name) AS referrer_name, "
        f"max(campaign_source) AS campaign_source, max(campaign_medium) AS campaign_medium "
        f"FROM {collector.storage.table('pageviews')} "
        f"GROUP BY site, visitor_hash, session_hash, page_num, pageview_id ORDER BY page_num"
    )
    return [dict(zip(result.column_names, row, strict=True)) for row in result.result_rows]


def visitor_hash(collector: RunningCollector, visitor_id: str, site: str = "shop") -> int:
    return matomo_visitor_hash(collector.app[SERVICES].hasher, site, visitor_id)


async def metric(collector: RunningCollector, needle: str) -> float:
    async with collector.http.get(collector.url + "/metrics") as response:
        text = await response.text()
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(needle))
