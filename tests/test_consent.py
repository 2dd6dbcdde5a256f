"""The consent gate as spec/consent-policy.md states it, with the real clarity-js payloads."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any

import orjson
import pytest

from ingest_schema.hashing import Hasher
from tests.support.collector import (
    DESKTOP_UA,
    ORIGIN,
    CollectorFactory,
    RunningCollector,
    clarity_fixture,
    clarity_fixture_names,
    make_site,
    stop_collector,
)

DATA_TABLES = ("pageviews", "events", "playback")


def _stored(collector: RunningCollector) -> int:
    return sum(collector.count(t) for t in DATA_TABLES)


@pytest.mark.parametrize(
    "scenario", ["default_", "mutation_", "relaxed_", "strict_", "twopage_", "deny_", "star_", "end_", "s400_"]
)
async def test_consent_implicit_fixtures_store_nothing_by_default(collector: RunningCollector, scenario: str) -> None:
    """Explicit-only (the default): clarity-js's implicit consent (source 0) is not consent."""
    names = [n for n in clarity_fixture_names(scenario) if n != "default_004"]
    for name in names:
        assert await collector.send(clarity_fixture(name)) == 204
    await collector.flush()
    assert _stored(collector) == 0
    anonymous = "visitor_hash = 0 AND session_hash = 0 AND pageview_id = 0 AND decision = 'deny'"
    assert collector.count("consent_ledger") == collector.count("consent_ledger", anonymous)
    assert collector.count("consent_ledger", anonymous) == (1 if scenario == "deny_" else 0)


async def test_consent_explicit_grant_mid_page_stores_only_from_that_moment(collector: RunningCollector) -> None:
    """default_004 carries consentv2 granted (source 5) at t=3830: earlier payloads and events go."""
    for name in clarity_fixture_names("default_"):
        await collector.send(clarity_fixture(name))
    await collector.flush()
    grant_time = 3830
    final = clarity_fixture("default_004").document
    expected = sorted(e[1] for e in final["a"] if e[0] >= grant_time)
    stored = sorted(r[0] for r in collector.rows("SELECT type FROM {db}.events"))
    assert stored == expected and 3 not in stored
    assert collector.count("events", "type = 4") == 0, "the baseline at t=3435 came before the grant"
    ledger = collector.rows("SELECT decision, consent_source, analytics, ad, page_time FROM {db}.consent_ledger")
    assert ledger == [("grant", 5, 1, 0, grant_time)]


async def test_consent_notrack_then_consentv2_stores_after_grant_only(collector: RunningCollector) -> None:
    for name in clarity_fixture_names("notrack_"):
        await collector.send(clarity_fixture(name))
    await collector.flush()
    times = [r[0] for r in collector.rows("SELECT toUnixTimestamp64Milli(ts) FROM {db}.events")]
    assert len(times) == len([e for e in clarity_fixture("notrack_008").document["a"] if e[0] >= 3871])
    assert collector.count("playback") == 1


async def test_consent_loader_mode_counts_implicit_source(loader_collector: RunningCollector) -> None:
    for name in clarity_fixture_names("relaxed_"):
        await loader_collector.send(clarity_fixture(name))
    await loader_collector.flush()
    assert loader_collector.count("playback") == 4
    assert loader_collector.rows("SELECT decision, consent_source FROM {db}.consent_ledger") == [("grant", 0)]


@pytest.mark.parametrize("name", ["notrack_005", "notrack_006", "notrack_007", "deny_011", "deny_012"])
async def test_consent_refused_page_views_store_nothing_even_in_loader_mode(
    loader_collector: RunningCollector, name: str
) -> None:
    """track:false (0/0 at start) and the page view after consent(false) (source 4, 0/0)."""
    prefix = name.rsplit("_", 1)[0]
    for other in clarity_fixture_names(prefix):
        if other <= name:
            await loader_collector.send(clarity_fixture(other))
    await loader_collector.flush()
    if prefix == "deny":
        # deny_009/010 are the page view before the withdrawal (consented at start in loader mode)
        rows = loader_collector.rows("SELECT DISTINCT page_num, session_hash FROM {db}.events")
        hasher = Hasher(b"test-secret-key")
        refused = hasher.keys("proj123", "1h31w8c", "yym3qd", 1)
        assert all(session != refused.session_hash for _, session in rows)
    else:
        assert _stored(loader_collector) == 0


async def test_consent_withdrawal_stops_storage_of_the_page_view(collector: RunningCollector) -> None:
    base = clarity_fixture("default_001").document
    first = {**base, "a": [e for e in base["a"] if e[1] != 47] + [[100, 47, 5, 1, 1]]}
    await _post(collector, first)
    second = {**base, "e": [*base["e"][:1], 2, 159, 2000, *base["e"][4:]], "p": []}
    second["a"] = [[300, 24, "before"], [400, 47, 5, 0, 0], [500, 24, "after"], [900, 9, 1, 10, 20]]
    await _post(collector, second)
    third = {**base, "e": [*base["e"][:1], 3, 2159, 1000, *base["e"][4:]], "p": [], "a": [[2500, 24, "later"]]}
    await _post(collector, third)
    await collector.flush()
    customs = [r[0] for r in collector.rows("SELECT key FROM {db}.events WHERE type = 24")]
    assert customs == ["before"]
    assert collector.count("events", "type = 9") == 0
    decisions = [r[0] for r in collector.rows("SELECT decision FROM {db}.consent_ledger ORDER BY ts")]
    assert decisions == ["grant", "withdraw"]


@pytest.mark.parametrize("header,value", [("Sec-GPC", "1"), ("DNT", "1")])
async def test_consent_gpc_and_dnt_mean_no_storage(loader_collector: RunningCollector, header: str, value: str) -> None:
    for name in clarity_fixture_names("default_"):
        assert await loader_collector.send(clarity_fixture(name), **{header: value}) == 204
    await loader_collector.flush()
    assert _stored(loader_collector) + loader_collector.count("consent_ledger") == 0


async def test_consent_dnt_can_be_switched_off_by_a_site_but_gpc_cannot(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(make_site(consent="loader", honour_dnt=False))
    await collector.send(clarity_fixture("default_001"), DNT="1")
    await collector.send(clarity_fixture("mutation_005"), **{"Sec-GPC": "1"})
    await collector.flush()
    assert collector.count("playback") == 1


async def test_consent_page_view_memory_survives_a_restart(collector_factory: CollectorFactory) -> None:
    """The grant arrives in payload 1; payload 2 (no consent event) reaches a restarted collector."""
    first = await collector_factory(make_site(consent="loader"))
    database = first.storage.database
    await first.send(clarity_fixture("relaxed_013"))
    await stop_collector(first)
    second = await collector_factory(make_site(consent="loader"), database=database)
    for name in ("relaxed_014", "relaxed_015", "relaxed_016"):
        await second.send(clarity_fixture(name))
    await second.flush()
    assert second.count("playback") == 4
    assert second.count("consent_ledger") == 1


async def test_consent_cookie_source_needs_a_recent_explicit_grant(collector: RunningCollector) -> None:
    """Source 6 (remembered cookie) counts only with an explicit grant under 6 months in the ledger."""
    hasher = Hasher(b"test-secret-key")
    fresh_user, stale_user, unknown_user = "fresh1", "stale1", "nobody1"
    for user, age_days in ((fresh_user, 20), (stale_user, 200)):
        keys = hasher.keys("proj123", user, "old", 1)
        collector.storage.insert(
            "consent_ledger",
            [
                "site",
                "ts",
                "visitor_hash",
                "session_hash",
                "pageview_id",
                "page_time",
                "ingest_path",
                "decision",
                "consent_source",
                "analytics",
                "ad",
                "categories_granted",
                "categories_denied",
                "policy_version",
            ],
            [
                [
                    "proj123",
                    datetime.now(timezone.utc) - timedelta(days=age_days),
                    keys.visitor_hash,
                    keys.session_hash,
                    keys.pageview_id,
                    10,
                    "clarity",
                    "grant",
                    5,
                    1,
                    0,
                    ["analytics"],
                    [],
                    "1",
                ]
            ],
        )
    base = clarity_fixture("default_001").document
    for user in (fresh_user, stale_user, unknown_user):
        document = {**base, "e": [*base["e"][:5], user, "newsess", *base["e"][7:]]}
        document["a"] = [e for e in base["a"] if e[1] != 47] + [[10, 47, 6, 1, 1]]
        await _post(collector, document)
    await collector.flush()
    stored_visitors = {r[0] for r in collector.rows("SELECT DISTINCT visitor_hash FROM {db}.playback")}
    assert stored_visitors == {hasher.visitor("proj123", fresh_user)}
    async with collector.http.get(collector.url + "/metrics") as response:
        assert 'reason="cookie_consent_expired"' in await response.text()


async def test_consent_ledger_rows_hold_no_ip_or_user_agent(loader_collector: RunningCollector) -> None:
    await loader_collector.send(clarity_fixture("default_001"))
    await loader_collector.flush()
    columns = [
        r[0]
        for r in loader_collector.rows(
            "SELECT name FROM system.columns WHERE database = '{db}' AND table = 'consent_ledger'"
        )
    ]
    assert not {"ip", "user_agent", "ua"} & set(columns)
    row = loader_collector.rows("SELECT * FROM {db}.consent_ledger")[0]
    text = " ".join(str(v) for v in row)
    assert "127.0.0.1" not in text and "Mozilla" not in text and "1wtsa02" not in text


async def test_consent_refusal_leaves_counters_but_no_identifier_in_logs(
    collector: RunningCollector, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for name in clarity_fixture_names("notrack_")[:3]:
        await collector.send(clarity_fixture(name))
    await collector.flush()
    assert _stored(collector) == 0
    assert "1mx1ejj" not in caplog.text and "dkqsg8" not in caplog.text
    async with collector.http.get(collector.url + "/metrics") as response:
        text = await response.text()
    assert 'collector_dropped_total{reason="no_consent",unit="payload"} 3.0' in text


async def _post(collector: RunningCollector, document: dict[str, Any]) -> None:
    status, _, _ = await collector.post(
        "/collect", orjson.dumps(document), {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
    )
    assert status == 204


async def test_consent_drops_before_a_grant_count_as_no_consent_and_after_a_withdrawal_as_withdrawn(
    collector: RunningCollector,
) -> None:
    base = clarity_fixture("default_001").document
    document = {**base, "e": [*base["e"][:1], 2, 0, 3000, *base["e"][4:]], "p": []}
    document["a"] = [
        [100, 24, "early"],
        [200, 47, 5, 1, 1],
        [300, 24, "kept"],
        [400, 47, 5, 0, 0],
        [500, 24, "late"],
        [600, 24, "later"],
    ]
    await _post(collector, document)
    await collector.flush()
    assert [r[0] for r in collector.rows("SELECT key FROM {db}.events WHERE type = 24")] == ["kept"]
    async with collector.http.get(collector.url + "/metrics") as response:
        text = await response.text()
    assert 'collector_dropped_total{reason="no_consent",unit="event"} 1.0' in text
    assert 'collector_dropped_total{reason="withdrawn",unit="event"} 3.0' in text
