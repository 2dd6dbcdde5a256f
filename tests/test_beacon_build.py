"""The beacon's build and size budget, how the collector serves it, and what its Consent events put
in the ledger (the banner's categories), without a browser."""

from __future__ import annotations

import gzip
import re
import subprocess
from typing import Any

import orjson
import pytest

from collector.ingest.clarity.consent import consent_categories
from collector.ingest.handlers.beacon import client_file
from tests.support.collector import DESKTOP_UA, ORIGIN, ROOT, RunningCollector

BUDGET = 6 * 1024


def test_beacon_build_prints_sizes_under_the_budget() -> None:
    done = subprocess.run(["node", "scripts/build_beacon.mjs"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    printed = dict(re.findall(r"^(\S+): .*?(\d+) B gzipped \(budget", done.stdout, re.M))
    assert set(printed) == {"beacon.js", "banner.js"}
    for name, size in printed.items():
        built = (ROOT / "collector" / "static" / "dist" / name.replace(".js", ".min.js")).read_bytes()
        assert abs(int(size) - len(gzip.compress(built, 9))) < 32, "the printed size is the built file's"
        assert int(size) < BUDGET
    together = re.search(r"^beacon.js \+ banner.js: (\d+) B gzipped together", done.stdout, re.M)
    assert together is not None and int(together.group(1)) < BUDGET


def test_beacon_never_reads_what_people_type() -> None:
    """No `.value`, no input or change listeners: typed text cannot reach the beacon's uploads."""
    source = client_file("beacon").read_text()
    assert ".value" not in source
    assert not re.search(r"""["'](input|change|keypress|keyup)["']""", source)


async def test_beacon_and_banner_are_served_as_javascript(collector: RunningCollector) -> None:
    for name in ("beacon", "banner"):
        async with collector.http.get(f"{collector.url}/{name}.js") as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("application/javascript")
            assert await response.read() == client_file(name).read_bytes()


async def test_beacon_snippet_is_on_the_start_page(collector: RunningCollector) -> None:
    async with collector.http.get(collector.url + "/") as response:
        page = await response.text()
    assert "/beacon.js&quot; data-site=&quot;proj123&quot; data-banner" in page


async def test_beacon_demo_page_loads_the_chosen_clients(collector: RunningCollector) -> None:
    async with collector.http.get(f"{collector.url}/demo?site=proj123&beacon=1&banner=1") as response:
        page = await response.text()
    assert 'src="/beacon.js" data-site="proj123" data-banner' in page and "/clarity.js" not in page
    async with collector.http.get(f"{collector.url}/demo?site=proj123&clarity=1&banner=1") as response:
        page = await response.text()
    assert 'src="/banner.js"' in page and "/clarity.js" in page and "/beacon.js" not in page
    async with collector.http.get(f"{collector.url}/demo?site=nope") as response:
        assert response.status == 404


def _beacon_payload(consent: list[Any], sequence: int = 1) -> bytes:
    envelope = ["wa/1.1.0", sequence, 0, 100, "proj123", "u1", "s1", 1, 1, 1, 0, ORIGIN + "/shop"]
    return orjson.dumps(
        {
            "e": envelope,
            "a": [
                [0, 47, *consent],
                [20, 9, 0, 10, 20, 0, 0, 0, 1, 0, "Buy", None, "a.b", 1, 1, 10, 10, "button", "", "", 0],
            ],
        }
    )


async def _post(collector: RunningCollector, body: bytes) -> int:
    status, reply, _ = await collector.post("/collect", body, {"Origin": ORIGIN, "User-Agent": DESKTOP_UA})
    assert reply == b""
    return status


async def test_beacon_consent_categories_reach_the_ledger(collector: RunningCollector) -> None:
    granted = ["necessary", "analytics", "preferences", "Bad Name", 42, "x" * 40, "<script>", "marketing"]
    denied = ["marketing", "ads-personalised", "preferences", "analytics"]
    assert await _post(collector, _beacon_payload([5, 0, 1, granted, denied])) == 204
    await collector.flush()
    rows = collector.rows(
        "SELECT decision, ingest_path, categories_granted, categories_denied FROM {db}.consent_ledger"
    )
    expected = ("grant", "beacon", ["necessary", "analytics", "preferences"], ["marketing", "ads-personalised"])
    assert rows == [expected], (
        "built-in categories follow the flags; other names are kept only when plain; granted wins over denied"
    )
    assert collector.count("events", "source = 'beacon' AND type = 9") == 1


@pytest.mark.parametrize(
    "consent",
    [[5, 1, 1, "necessary", "analytics"], [5, 1, 1, {"granted": ["x"]}, None], [5, 1, 1, ["ok"]], [5, 1, 1, [], [[]]]],
    ids=["strings", "objects", "one_list", "nested"],
)
async def test_beacon_malformed_consent_categories_fall_back_to_the_flags(
    collector: RunningCollector, consent: list[Any]
) -> None:
    assert await _post(collector, _beacon_payload(consent)) == 204
    await collector.flush()
    rows = collector.rows("SELECT decision, categories_granted, categories_denied FROM {db}.consent_ledger")
    assert rows == [("grant", ["necessary", "analytics", "marketing"], [])]


async def test_beacon_refusal_with_categories_is_recorded_without_identifiers(collector: RunningCollector) -> None:
    assert await _post(collector, _beacon_payload([5, 0, 0, ["necessary", "preferences"], ["analytics"]])) == 204
    await collector.flush()
    assert collector.rows(
        "SELECT decision, visitor_hash, pageview_id, categories_granted, categories_denied FROM {db}.consent_ledger"
    ) == [("deny", 0, 0, ["necessary", "preferences"], ["analytics", "marketing"])]
    assert collector.count("events") == 0


def test_beacon_consent_categories_are_empty_for_clarity_js_events() -> None:
    assert consent_categories([0, 47, 5, 1, 1]) == ((), ())
    assert consent_categories([0, 47, 5, 0, 1, ["necessary", "analytics"], ["marketing"]]) == (
        ("necessary", "analytics"),
        ("marketing",),
    )


def _upload(version: str, sequence: int, events: list[list[Any]], page: int = 1) -> bytes:
    envelope = [version, sequence, 0, 100, "proj123", "u1", "s1", page, 0, 0, 0, ORIGIN + "/shop"]
    return orjson.dumps({"e": envelope, "a": events})


CLICK_FIELDS = [0, 10, 20, 0, 0, 0, 0, 0, "Buy", None]


async def test_both_clients_clicks_store_one_element_identity_and_beacon_payloads_only_when_rules_need_them(
    collector: Any,
) -> None:
    consent = [0, 47, 5, 1, 1]
    # clarity-js: "alpha.beta"; the beacon: beta alone (same page view: the beacon follows clarity-js)
    clarity_click = [50, 9, *CLICK_FIELDS, "alphaonly.b3t4", 1, 1, 10, 10, "button", "", "", 0]
    beacon_click = [60, 9, *CLICK_FIELDS, "b3t4", 1, 1, 10, 10, "button", "", "", 0]
    assert await _post(collector, _upload("0.8.70", 1, [consent, clarity_click])) == 204
    assert await _post(collector, _upload("wa/1.2.0", 1001, [[70, 24, "engagement", "900"]])) == 204
    assert await _post(collector, _upload("wa/1.2.0", 1002, [[80, 24, "outbound", "https://example.org/"]])) == 204
    assert await _post(collector, _upload("wa/1.2.0", 1, [consent, beacon_click, [61, 6, 1]], page=2)) == 204
    await collector.flush()
    assert collector.rows("SELECT source, target_hash FROM {db}.events WHERE type = 9 ORDER BY ts") == [
        ("clarity", "b3t4"),
        ("beacon", "b3t4"),
    ]
    assert collector.rows("SELECT data FROM {db}.events WHERE type = 6") == [("[1]",)], "the marker, unchanged"
    # the recording of page 1 holds clarity-js's upload only; page 2's beacon upload is kept for its click
    playback = collector.rows("SELECT page_num, sequence FROM {db}.playback ORDER BY page_num, sequence")
    assert playback == [(1, 1), (2, 1)]
    assert collector.rows("SELECT uniqExact(pageview_id) FROM {db}.pageviews") == [(2,)]
