"""Matomo tracking API: the captured matomo.js and matomo-tracker requests replayed over a real socket.

Each capture (tests/fixtures/matomo) is sent as it was recorded (method, path, query, body, Origin,
Content-Type), with a desktop user agent instead of HeadlessChrome, which the bot filter drops on
purpose (tests/test_bot.py). Rows are read back from chdb.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import time
from typing import Any
from urllib.parse import parse_qsl, urlencode

import orjson
import pytest

from collector.ingest.keys import SERVICES
from collector.ingest.matomo.wire import GIF
from tests.support.collector import DESKTOP_UA, OUTPUT_DIR, CollectorFactory, RunningCollector
from tests.support.matomo import (
    SITE_ORIGIN,
    TOKEN,
    captured,
    events_by_type,
    hit,
    matomo_site,
    metric,
    pageviews,
    query_of,
    replay,
    replay_all,
    visitor_hash,
    visits,
)

STRING_COLUMNS_SQL = "SELECT table, name FROM system.columns WHERE database = '{db}' AND type LIKE '%String%'"


def stored_text(collector: RunningCollector) -> str:
    """Every String, Array(String) and Map column of every table, as one text."""
    parts = []
    for table, column in collector.rows(STRING_COLUMNS_SQL):
        for (value,) in collector.rows(f"SELECT toString(`{column}`) FROM {{db}}.`{table}`"):
            parts.append(str(value))
    return "\n".join(parts)


# ---- the captured matomo.js traffic ---------------------------------------------------------------


async def test_matomo_default_capture_stores_page_view_actions_and_visit(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    statuses = await replay_all(collector, "cap_default")
    assert statuses == [204] * len(statuses), "matomo.js sends send_image=0: Matomo answers 204"
    await collector.flush()

    [page] = pageviews(collector)
    assert page["source"] == "matomo" and page["title"] == "Default page" and page["page_num"] == 1
    assert page["url"] == "http://127.0.0.1:18081/default.html?mtm_campaign=spring&mtm_kwd=promo"
    assert (page["channel"], page["campaign_name"], page["campaign_keyword"]) == ("campaign", "spring", "promo")
    assert page["visitor_hash"] == visitor_hash(collector, "c580322735067f49")
    assert (page["browser"], page["os"], page["device"]) == ("Chrome", "Linux", "desktop")
    assert events_by_type(collector) == {
        1001: 1,
        1002: 1,
        1003: 1,
        1004: 1,
        1005: 1,
        1006: 1,
        1008: 2,
        1009: 1,
        1010: 1,
    }, "one performance row per page view: the ping's complete set"
    rows = {
        int(r[0]): r[1:]
        for r in collector.rows(
            "SELECT type, key, value, text, link, num, data FROM {db}.events WHERE type != 1008 AND type != 1010"
        )
    }
    assert rows[1001][:3] == ("Video", "Play", "intro.mp4") and rows[1001][4] == 3.5
    assert json.loads(rows[1001][5])["dimensions"] == {"1": "blue", "cvar.visit.plan": "pro"}
    assert rows[1002][0] == "Catalog" and rows[1002][2] == "shoes" and rows[1002][4] == 12
    assert rows[1003][3] == "https://external.example.com/x" and rows[1004][3] == "https://example.org/file.pdf"
    assert rows[1005][0] == "1" and rows[1005][4] == pytest.approx(9.99)
    order = json.loads(rows[1006][5])
    assert rows[1006][0] == "ORDER-1" and rows[1006][4] == 99
    assert order["items"] == [{"sku": "SKU1", "name": "Shoe", "category": "Footwear", "price": 49.5, "quantity": 2}]
    assert sorted(r[0] for r in collector.rows("SELECT key FROM {db}.events WHERE type = 1008")) == [
        "Banner A",
        "Banner B",
    ]

    [visit] = visits(collector)
    assert (visit["pageviews"], visit["actions"], visit["bounce"], visit["goals"]) == (1, 5, 0, 2)
    assert visit["revenue"] == pytest.approx(108.99)
    assert visit["entry_title"] == visit["exit_title"] == "Default page"
    assert visit["session_hash"] == page["session_hash"] and visit["cookieless"] == 0
    assert visit["dimensions"] == {"1": "blue", "cvar.visit.plan": "pro"}


async def test_matomo_default_mode_stores_nothing_without_consent_param(collector_factory: CollectorFactory) -> None:
    """The default mode (consent_param): matomo.js without requireConsent sends no consent=1."""
    collector = await collector_factory(matomo_site())
    statuses = await replay_all(collector, "cap_default")
    assert set(statuses) == {204}, "a refused hit is answered like a stored one"
    await collector.flush()
    assert collector.count("pageviews") == collector.count("events") == collector.count("visits") == 0
    assert collector.count("consent_ledger") == 0
    hits = len(captured("cap_default")) + 1  # the content impressions are a bulk request of two hits
    assert await metric(collector, 'collector_dropped_total{reason="no_consent"') == hits


async def test_matomo_require_consent_capture_joins_the_consent_ping_to_its_visit(
    collector_factory: CollectorFactory,
) -> None:
    """requireConsent + setConsentGiven: queued hits arrive with `_id=` empty and consent=1, then a ping
    with the new id; all three are one visit, and the ledger holds the grant for both hashes."""
    collector = await collector_factory(matomo_site())
    assert await replay_all(collector, "cap_consent") == [204, 204, 204]
    await collector.flush()
    [visit] = visits(collector)
    assert visit["visitor_hash"] == visitor_hash(collector, "ab98b537629794a9")
    assert visit["pageviews"] == 1 and visit["actions"] == 2 and visit["consent_source"] == 1
    [page] = pageviews(collector)
    assert page["hits"] == 3, "the page view, its event and the ping merge into one page view row"
    assert page["visitor_hash"] != visit["visitor_hash"], "hits sent before the id existed keep the daily hash"
    assert events_by_type(collector) == {1001: 1, 1009: 1, 1010: 1}
    assert {int(r[0]) for r in collector.rows("SELECT DISTINCT session_hash FROM {db}.events")} == {
        visit["session_hash"]
    }
    ledger = collector.rows("SELECT visitor_hash, decision, consent_source, ingest_path FROM {db}.consent_ledger")
    assert sorted(ledger) == sorted(
        [(page["visitor_hash"], "grant", 1, "matomo"), (visit["visitor_hash"], "grant", 1, "matomo")]
    )


async def test_matomo_remembered_consent_covers_later_hits_without_consent_param(
    collector_factory: CollectorFactory,
) -> None:
    collector = await collector_factory(matomo_site())
    assert await replay_all(collector, "cap_consent_remember") == [204, 204]
    await collector.flush()
    [visit] = visits(collector)
    assert visit["pageviews"] == 2 and [p["page_num"] for p in pageviews(collector)] == [1, 2]
    later = dict(parse_qsl(query_of(captured("cap_consent_remember")[1])))
    later.pop("consent")
    later.update(pv_id="Later1", action_name="third page, no consent param")
    status, _ = await hit(collector, later, "POST", headers={"Origin": SITE_ORIGIN})
    stranger = {**later, "_id": "00000000000000aa", "pv_id": "Other1"}
    assert status == 204 and (await hit(collector, stranger, "POST", headers={"Origin": SITE_ORIGIN}))[0] == 204
    await collector.flush()
    pages = pageviews(collector)
    assert [p["page_num"] for p in pages] == [1, 2, 3], "only the visitor with a remembered grant is stored"
    assert pages[2]["consent_source"] == 6 and pages[2]["visitor_hash"] == visitor_hash(collector, "090789a92e55503d")
    assert len(visits(collector)) == 1


async def test_matomo_cookie_consent_capture_is_anonymous_in_cookieless_mode(
    collector_factory: CollectorFactory,
) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="cookieless"))
    assert await replay_all(collector, "cap_cookieconsent") == [204, 204, 204]
    await collector.flush()
    [visit] = visits(collector)
    assert visit["cookieless"] == 1 and visit["consent_source"] == 0 and visit["user_hash"] == ""
    hashes = {
        int(r[0])
        for r in collector.rows(
            "SELECT visitor_hash FROM {db}.pageviews UNION ALL SELECT visitor_hash FROM {db}.events "
            "UNION ALL SELECT visitor_hash FROM {db}.visits"
        )
    }
    assert hashes == {visit["visitor_hash"]}, "the id sent after cookie consent links nothing"
    assert visitor_hash(collector, "f6e3dbbd95add802") not in hashes
    assert collector.count("consent_ledger") == 0 and collector.count("daily_salts") == 1


async def test_matomo_cookie_consent_capture_stores_nothing_in_default_mode(
    collector_factory: CollectorFactory,
) -> None:
    collector = await collector_factory(matomo_site())
    assert await replay_all(collector, "cap_cookieconsent") == [204, 204, 204]
    await collector.flush()
    assert collector.count("pageviews") == collector.count("events") == collector.count("visits") == 0


async def test_matomo_transport_captures_get_image_and_form_post(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    [(status, body, headers)] = [await replay(collector, r) for r in captured("cap_transport_get")]
    assert (status, body, headers["Content-Type"], headers["Cache-Control"]) == (200, GIF, "image/gif", "no-store")
    assert await replay_all(collector, "cap_transport_post") == [204]
    await collector.flush()
    pages = {p["title"]: p for p in pageviews(collector)}
    assert set(pages) == {"disableAlwaysUseSendBeacon page", "setRequestMethod POST page"}
    user = collector.app[SERVICES].hasher.user("shop", hashlib.sha256(b"alice@example.com").hexdigest())
    assert pages["setRequestMethod POST page"]["user_hash"] == user
    assert "alice" not in stored_text(collector), "setUserId is stored as a keyed hash only"


async def test_matomo_xhr_fallback_duplicate_is_one_page_view(collector_factory: CollectorFactory) -> None:
    """With no CORS headers matomo.js re-sends a POST as a GET image: the same pv_id, one page view."""
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    assert await replay_all(collector, "cap_transport_xhr_cors_none") == [204, 200]
    await collector.flush()
    [page] = pageviews(collector)
    assert page["hits"] == 2 and visits(collector)[0]["pageviews"] == 1


async def test_matomo_node_capture_single_and_bulk_answers(collector_factory: CollectorFactory) -> None:
    """matomo-tracker 2.2.4: GET hits without a User-Agent header, a JSON bulk whose first item has
    an old `cdt` without token_auth (Matomo counts it invalid and tracks the rest)."""
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    records = captured("node_matomo-tracker")
    results = []
    for record in records:
        sent = {k: v for k, v in record["headers"].items() if k == "Content-Type"}
        url = collector.url + record["path"] + (f"?{record['raw_query']}" if record["raw_query"] else "")
        async with collector.http.request(
            record["method"], url, data=record["body"].encode(), headers=sent, skip_auto_headers=["User-Agent"]
        ) as response:
            results.append((response.status, await response.read()))
    assert [s for s, _ in results] == [200, 200, 200]
    assert results[0][1] == GIF and orjson.loads(results[2][1]) == {"status": "success", "tracked": 1, "invalid": 1}
    await collector.flush()
    [page] = pageviews(collector)
    assert page["title"] == "Blog / Hello" and page["channel"] == "search" and page["referrer_name"] == "Google"
    assert events_by_type(collector) == {1001: 2}
    assert {r[0] for r in collector.rows("SELECT key FROM {db}.events")} == {"Video", "Buy"}


# ---- responses, CORS, the tracker script ----------------------------------------------------------


async def test_matomo_cors_echoes_listed_origins_only(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site())
    preflight = {"Origin": SITE_ORIGIN, "Access-Control-Request-Method": "POST"}
    async with collector.http.options(collector.url + "/matomo.php", headers=preflight) as response:
        assert response.status == 204 and response.headers["Access-Control-Allow-Origin"] == SITE_ORIGIN
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
    async with collector.http.options(
        collector.url + "/piwik.php", headers={**preflight, "Origin": "https://evil.example"}
    ) as response:
        assert response.status == 403 and "Access-Control-Allow-Origin" not in response.headers
    status, _, headers = await replay(collector, captured("cap_default")[0])
    assert status == 204 and headers["Access-Control-Allow-Origin"] == SITE_ORIGIN


async def test_matomo_tracker_script_is_served_on_matomo_and_piwik_paths(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    bodies = []
    for path in ("/matomo.js", "/piwik.js", "/js/"):
        async with collector.http.get(collector.url + path) as response:
            assert response.status == 200 and response.headers["Content-Type"].startswith("application/javascript")
            bodies.append(await response.read())
    assert bodies[0] == bodies[1] == bodies[2] and b"_paq" in bodies[0]
    status, body = await hit(collector, {"url": SITE_ORIGIN + "/", "action_name": "via js"})
    async with collector.http.get(
        collector.url + "/js/?" + urlencode({"idsite": 1, "rec": 1, "url": SITE_ORIGIN + "/x", "send_image": 0}),
        headers={"User-Agent": DESKTOP_UA},
    ) as response:
        assert response.status == 204, "/js/ with a query string tracks"
    async with collector.http.get(collector.url + "/matomo.php") as response:
        assert response.status == 200 and "Matomo" in await response.text()
    assert (status, body) == (200, GIF)


# ---- privacy --------------------------------------------------------------------------------------


async def test_matomo_no_raw_ip_user_agent_or_id_is_stored(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(
        matomo_site(matomo_consent="tracker_requires_consent"),
        client_ip_header="X-Forwarded-For",
        matomo_token_auth=TOKEN,
    )
    user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) UniqueUA/77.1"
    await replay_all(collector, "cap_default", **{"X-Forwarded-For": "10.1.2.3, 81.2.69.160", "User-Agent": user_agent})
    await hit(
        collector,
        {
            "url": SITE_ORIGIN + "/p?email=jane.doe@example.com",
            "_id": "1234567890abcdef",
            "cip": "2a00:1450:4001::1",
            "token_auth": TOKEN,
            "uid": "jane.doe@example.com",
            "e_c": "Form",
            "e_a": "Sent",
            "e_n": "to jane.doe@example.com",
        },
    )
    await collector.flush()
    text = stored_text(collector)
    for secret in (
        "81.2.69.160",
        "10.1.2.3",
        "2a00:1450",
        "UniqueUA",
        "c580322735067f49",
        "1234567890abcdef",
        "jane.doe",
        TOKEN,
    ):
        assert secret not in text, secret
    countries = {v["country"] for v in visits(collector)}
    assert countries == {"GB", "DE"}, "the country is looked up from the IP before it is dropped"


async def test_matomo_country_ignores_forwarded_header_unless_configured(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    forwarded = {"X-Forwarded-For": "81.2.69.160"}
    await hit(collector, {"url": SITE_ORIGIN + "/", "_id": "00000000000000bb"}, headers=forwarded)
    status, _ = await hit(collector, {"url": SITE_ORIGIN + "/", "cip": "81.2.69.160"})
    assert status == 400, "cip needs token_auth"
    await collector.flush()
    assert [p["country"] for p in pageviews(collector)] == [""], "a client cannot choose its own IP"


async def test_matomo_gpc_and_dnt_mean_no_storage(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    for header in ({"Sec-GPC": "1"}, {"DNT": "1"}):
        status, _, _ = await replay(collector, captured("cap_default")[0], **header)
        assert status == 204
    await collector.flush()
    assert collector.count("pageviews") == collector.count("visits") == 0
    assert await metric(collector, 'collector_dropped_total{reason="gpc"') == 1
    assert await metric(collector, 'collector_dropped_total{reason="dnt"') == 1


# ---- bad input ------------------------------------------------------------------------------------

GOOD = {"url": SITE_ORIGIN + "/ok", "send_image": 0, "_id": "00000000000000cc"}
BAD_HITS: dict[str, tuple[dict[str, Any], int]] = {
    "unknown_idsite": ({"idsite": 99}, 400),
    "idsite_not_a_number": ({"idsite": "abc"}, 400),
    "idsite_negative": ({"idsite": -1}, 400),
    "cid_not_hex": ({"cid": "not-16-hex-chars!"}, 400),
    "cip_without_token": ({"cip": "1.2.3.4"}, 400),
    "cip_with_wrong_token": ({"cip": "1.2.3.4", "token_auth": "wrong"}, 400),
    "old_cdt_without_token": ({"cdt": "2020-01-01 10:00:00"}, 400),
    "cdt_garbage": ({"cdt": "yesterday-ish"}, 400),
    "cdt_in_the_future": ({"cdt": str(int(time.time()) + 86400)}, 400),
    "event_without_action": ({"e_c": "Only category"}, 400),
}


@pytest.mark.parametrize("case", sorted(BAD_HITS))
async def test_matomo_bad_hit_gets_matomos_400(collector_factory: CollectorFactory, case: str) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"), matomo_token_auth=TOKEN)
    params, expected = BAD_HITS[case]
    status, body = await hit(collector, {**GOOD, **params})
    assert status == expected and 0 < len(body) <= 200 and b"Traceback" not in body
    assert (await hit(collector, GOOD))[0] == 204, "the service keeps working"


HOSTILE_URLS = {
    "javascript": "javascript:alert(document.cookie)",
    "huge": SITE_ORIGIN + "/" + "a" * 200_000,
    "control_chars": SITE_ORIGIN + "/\x00\x01\r\n<script>",
    "not_a_url": "]]]::://[[[",
    "unicode": SITE_ORIGIN + "/\u202e\ud7ff\U0001f600",
    "bad_ipv6_host": "http://[::1/",
}


@pytest.mark.parametrize("case", sorted(HOSTILE_URLS))
async def test_matomo_hostile_url_is_stored_masked_and_bounded(collector_factory: CollectorFactory, case: str) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"), max_string_chars=1000)
    params = {**GOOD, "url": HOSTILE_URLS[case], "urlref": HOSTILE_URLS[case]}
    status, _ = await hit(collector, params, "POST", form=True)
    assert status == 204
    long_query, _ = await hit(collector, params, "GET")
    assert long_query in (204, 400), "a request line over aiohttp's limit is a 400, never a 5xx"
    await collector.flush()
    pages = pageviews(collector)
    assert pages and all(len(p["url"]) <= 1000 and len(p["referrer"]) <= 1000 for p in pages)


BAD_BODIES: dict[str, tuple[bytes, int]] = {
    "broken_json": (b'{"requests": ["?idsite=1&rec=1", ', 400),
    "requests_not_a_list": (b'{"requests": "?idsite=1"}', 400),
    "item_not_a_string": (b'{"requests": [42]}', 400),
    "not_utf8": (b"idsite=1&rec=1&url=\xff\xfe", 400),
    "empty_post": (b"", 400),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_matomo_broken_body_gets_4xx(collector_factory: CollectorFactory, case: str) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    body, expected = BAD_BODIES[case]
    status, text, _ = await collector.post("/matomo.php", body, {"User-Agent": DESKTOP_UA})
    assert status == expected and 0 < len(text) <= 200 and b"Traceback" not in text


async def test_matomo_huge_bulk_and_huge_body_are_refused(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(
        matomo_site(matomo_consent="tracker_requires_consent"), max_events=50, max_body_bytes=200_000
    )
    item = "?" + urlencode({"idsite": 1, "rec": 1, "url": SITE_ORIGIN + "/b", "_id": "00000000000000dd"})
    status, text, _ = await collector.post(
        "/matomo.php", orjson.dumps({"requests": [item] * 51}), {"User-Agent": DESKTOP_UA}
    )
    assert status == 413 and b"50" in text
    status, _, _ = await collector.post(
        "/matomo.php", b'{"requests": ["' + b"a" * 300_000 + b'"]}', {"User-Agent": DESKTOP_UA}
    )
    assert status == 413
    bad_item = "?" + urlencode({"idsite": 7, "rec": 1, "url": SITE_ORIGIN + "/b"})
    status, text, _ = await collector.post(
        "/matomo.php", orjson.dumps({"requests": [item] * 50 + [bad_item]}), {"User-Agent": DESKTOP_UA}
    )
    assert status == 413
    status, text, _ = await collector.post(
        "/matomo.php", orjson.dumps({"requests": [item] * 49 + [bad_item]}), {"User-Agent": DESKTOP_UA}
    )
    assert (status, orjson.loads(text)) == (200, {"status": "success", "tracked": 49, "invalid": 1})
    await collector.flush()
    assert int(collector.rows("SELECT sum(payloads) FROM {db}.pageviews")[0][0]) == 49, "nothing accepted is lost"


async def test_matomo_origin_not_listed_is_refused(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    status, body = await hit(collector, GOOD, "POST", headers={"Origin": "https://evil.example"})
    assert status == 403 and body == b"origin not allowed for this site"


# ---- throughput of the replayed captures ----------------------------------------------------------


def _as_visitor(record: dict[str, Any], visitor_id: str) -> dict[str, Any]:
    """A captured request re-sent by another visitor (its `_id` replaced, in bulk items too), with its own
    order id (a repeated `ec_id` is refused, as Matomo refuses it)."""
    copy = dict(record)
    for field in ("query", "body"):
        text = re.sub(r"(^|[?&])_id=[0-9a-f]{16}", rf"\g<1>_id={visitor_id}", record[field])
        copy[field] = re.sub(r"(^|[?&])ec_id=[^&]*", rf"\g<1>ec_id=ORDER-{visitor_id}", text)
    return copy


async def test_matomo_replayed_captures_throughput(collector_factory: CollectorFactory) -> None:
    """Replays the captured default page (9 requests, 10 hits) for 300 visitors with their own ids,
    20 visitors at a time, checks every hit was stored, and writes the rate to
    test-output/matomo_throughput.json (a measurement, not an assertion on time)."""
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    records = captured("cap_default")

    async def one_visitor(number: int) -> None:
        for record in records:
            status, _, _ = await replay(collector, _as_visitor(record, f"{number:016x}"))
            assert status == 204

    visitors, parallel = 300, 20
    started = time.perf_counter()
    for first in range(0, visitors, parallel):
        await asyncio.gather(*(one_visitor(n) for n in range(first, first + parallel)))
    elapsed = time.perf_counter() - started
    await collector.flush()
    hits = visitors * (len(records) + 1)
    assert len(visits(collector)) == visitors
    assert int(collector.rows("SELECT sum(payloads) FROM {db}.pageviews")[0][0]) == hits, (
        "every hit (bulk content impressions included) adds to its page view row: nothing is lost"
    )
    OUTPUT_DIR.mkdir(exist_ok=True)
    (OUTPUT_DIR / "matomo_throughput.json").write_text(
        json.dumps(
            {
                "requests": visitors * len(records),
                "hits": hits,
                "seconds": round(elapsed, 3),
                "requests_per_second": round(visitors * len(records) / elapsed, 1),
                "hits_per_second": round(hits / elapsed, 1),
                "visits": visitors,
            },
            indent=2,
        )
    )


# ---- GDPR: the retention job finds Matomo visitors by their id -----------------------------------


async def test_matomo_visitor_erased_by_its_matomo_id_everywhere(collector_factory: CollectorFactory) -> None:
    from retention.jobs import erase_visitor, export_visitor

    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    await replay_all(collector, "cap_default")
    await hit(collector, {"url": SITE_ORIGIN + "/other", "_id": "00000000000000ee", "send_image": 0})
    await collector.flush()
    storage, hasher = collector.storage, collector.app[SERVICES].hasher
    exported = export_visitor(storage, hasher, ["shop"], "matomo", "C580322735067F49")
    assert exported["rows"]["pageviews"] >= 1 and exported["rows"]["visits"] >= 1 and exported["rows"]["events"] == 10
    report = erase_visitor(storage, hasher, ["shop"], "matomo", "c580322735067f49")
    assert report["ok"] and report["erased"]["visits"] >= 1
    assert [v["visitor_hash"] for v in visits(collector)] == [visitor_hash(collector, "00000000000000ee")]
    assert collector.count("events") == 0 and len(pageviews(collector)) == 1


async def test_matomo_cid_and_uid_identify_visitors_as_keyed_hashes(collector_factory: CollectorFactory) -> None:
    """`cid` forces the visitor id; `uid` gives the site's user hash even on a hit without a visitor id."""
    collector = await collector_factory(matomo_site())
    await hit(
        collector,
        {
            "url": SITE_ORIGIN + "/a",
            "cid": "ABCDEF0123456789",
            "_id": "1111111111111111",
            "consent": 1,
            "send_image": 0,
        },
    )
    await hit(collector, {"url": SITE_ORIGIN + "/b", "uid": "customer-7", "consent": 1, "send_image": 0})
    await collector.flush()
    by_url = {p["url"]: p for p in pageviews(collector)}
    assert by_url[SITE_ORIGIN + "/a"]["visitor_hash"] == visitor_hash(collector, "abcdef0123456789")
    user = collector.app[SERVICES].hasher.user("shop", hashlib.sha256(b"customer-7").hexdigest())
    assert by_url[SITE_ORIGIN + "/b"]["user_hash"] == user and "customer-7" not in stored_text(collector)
