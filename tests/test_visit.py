"""Matomo visits: Matomo's sessionizing rules, entry/exit/bounce/duration, durable state, daily salts.

Hit times are set with `cdt` and a valid `token_auth` (Matomo's own way to import past hits), so
every rule is exercised on the wire, with no waiting and no timed assertion.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from tests.support.collector import CollectorFactory, RunningCollector, stop_collector
from tests.support.matomo import SITE_ORIGIN, TOKEN, hit, matomo_site, pageviews, visitor_hash, visits

NOW = datetime.now(timezone.utc).replace(microsecond=0)


def site(**overrides: Any) -> Any:
    return matomo_site(matomo_consent="tracker_requires_consent", **overrides)


async def at(
    collector: RunningCollector,
    when: datetime,
    path: str = "/",
    visitor: str = "00000000000000a1",
    idsite: int = 1,
    **params: Any,
) -> None:
    """A page view (or, with e_c/e_a, an event) by `visitor` at `when`."""
    values = {
        "idsite": idsite,
        "url": SITE_ORIGIN + path,
        "action_name": path,
        "_id": visitor,
        "cdt": str(int(when.timestamp())),
        "token_auth": TOKEN,
        "send_image": 0,
        **params,
    }
    status, body = await hit(collector, values)
    assert status == 204, body


async def test_visit_continues_within_30_minutes_and_ends_after_30_idle(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(site(), matomo_token_auth=TOKEN)
    t0 = NOW - timedelta(hours=3)
    for minutes, path in ((0, "/a"), (10, "/b"), (39, "/c"), (70, "/d")):
        await at(collector, t0 + timedelta(minutes=minutes), path)
    await collector.flush()
    first, second = visits(collector)
    assert (first["pageviews"], first["entry_title"], first["exit_title"]) == (3, "/a", "/c")
    assert first["duration_s"] == 39 * 60 and first["bounce"] == 0
    assert (second["pageviews"], second["entry_title"], second["bounce"], second["duration_s"]) == (1, "/d", 1, 0)
    assert first["visitor_hash"] == second["visitor_hash"] == visitor_hash(collector, "00000000000000a1")


async def test_visit_new_campaign_starts_a_new_visit(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(site(), matomo_token_auth=TOKEN)
    t0 = NOW - timedelta(hours=2)
    await at(collector, t0, "/?mtm_campaign=spring")
    await at(collector, t0 + timedelta(minutes=1), "/landing?mtm_campaign=spring")
    await at(collector, t0 + timedelta(minutes=2), "/?utm_campaign=summer&utm_source=news&utm_medium=email")
    await at(collector, t0 + timedelta(minutes=3), "/no-campaign", urlref="https://www.bing.com/")
    await collector.flush()
    spring, summer = visits(collector)
    assert (spring["campaign_name"], spring["pageviews"], spring["channel"]) == ("spring", 2, "campaign")
    assert (summer["campaign_name"], summer["campaign_source"], summer["campaign_medium"]) == (
        "summer",
        "news",
        "email",
    )
    assert summer["pageviews"] == 2, "a page without a campaign continues the visit"


def _last_local_midnight(zone: str) -> datetime:
    """The most recent midnight in `zone` that is at least an hour ago, as UTC."""
    local = (NOW - timedelta(hours=1)).astimezone(ZoneInfo(zone))
    return local.replace(hour=0, minute=0, second=0).astimezone(timezone.utc)


async def test_visit_midnight_in_the_site_time_zone_starts_a_new_visit(collector_factory: CollectorFactory) -> None:
    tokyo = site(timezone="Asia/Tokyo")
    utc_site = matomo_site(id="utc", matomo_idsite=2, matomo_consent="tracker_requires_consent")
    collector = await collector_factory(tokyo, utc_site, matomo_token_auth=TOKEN)
    midnight = _last_local_midnight("Asia/Tokyo")  # 15:00 UTC: not midnight for the UTC site
    for idsite in (1, 2):
        await at(collector, midnight - timedelta(minutes=5), "/late", idsite=idsite)
        await at(collector, midnight + timedelta(minutes=5), "/early", idsite=idsite)
    await collector.flush()
    per_site: dict[str, int] = {}
    for visit in visits(collector):
        per_site[visit["site"]] = per_site.get(visit["site"], 0) + 1
    assert per_site == {"shop": 2, "utc": 1}


async def test_visit_entry_exit_bounce_duration_and_action_numbers(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(site(), matomo_token_auth=TOKEN)
    t0 = NOW - timedelta(hours=1)
    await at(collector, t0, "/entry", pv_id="pvA")
    await at(collector, t0 + timedelta(seconds=60), "/middle", pv_id="pvB")
    await at(collector, t0 + timedelta(seconds=90), "/middle", pv_id="pvB", e_c="Video", e_a="Play")
    await at(collector, t0 + timedelta(seconds=120), "/exit", pv_id="pvC")
    await at(collector, t0, "/alone", visitor="00000000000000b2")
    await collector.flush()
    visit, alone = sorted(visits(collector), key=lambda v: -v["pageviews"])
    assert (visit["entry_title"], visit["exit_title"], visit["exit_url"]) == ("/entry", "/exit", SITE_ORIGIN + "/exit")
    assert (visit["pageviews"], visit["actions"], visit["bounce"], visit["duration_s"]) == (3, 4, 0, 120)
    assert (alone["pageviews"], alone["actions"], alone["bounce"], alone["duration_s"]) == (1, 1, 1, 0)
    pages = [(p["title"], p["page_num"]) for p in pageviews(collector) if p["session_hash"] == visit["session_hash"]]
    assert pages == [("/entry", 1), ("/middle", 2), ("/exit", 4)], "page_num is the action number in the visit"
    [event] = collector.rows("SELECT page_num, session_hash FROM {db}.events WHERE type = 1001")
    assert event == (2, visit["session_hash"])


async def test_visit_new_visit_parameter_forces_a_new_visit(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(site(), matomo_token_auth=TOKEN)
    t0 = NOW - timedelta(minutes=30)
    await at(collector, t0, "/one")
    await at(collector, t0 + timedelta(minutes=1), "/two", new_visit=1)
    await collector.flush()
    assert [v["entry_title"] for v in visits(collector)] == ["/one", "/two"]


async def test_visit_survives_a_collector_restart(collector_factory: CollectorFactory) -> None:
    """The visit lives in ClickHouse too: a restarted collector (or another process) continues it."""
    database = "t_visit_" + uuid.uuid4().hex[:10]
    first = await collector_factory(site(), matomo_token_auth=TOKEN, database=database)
    t0 = NOW - timedelta(minutes=20)
    await at(first, t0, "/before", pv_id="pv1")
    await stop_collector(first)
    second = await collector_factory(site(), matomo_token_auth=TOKEN, database=database)
    await at(second, t0 + timedelta(minutes=2), "/before", pv_id="pv1", e_c="Scroll", e_a="Bottom")
    await at(second, t0 + timedelta(minutes=5), "/after", pv_id="pv2")
    await second.flush()
    [visit] = visits(second)
    assert (visit["pageviews"], visit["actions"], visit["entry_title"], visit["exit_title"]) == (
        2,
        3,
        "/before",
        "/after",
    )
    assert [(p["title"], p["page_num"]) for p in pageviews(second)] == [("/before", 1), ("/after", 3)]
    assert {int(r[0]) for r in second.rows("SELECT page_num FROM {db}.events WHERE type = 1001")} == {1}


async def test_visit_cookieless_hash_uses_a_daily_salt_shared_across_processes(
    collector_factory: CollectorFactory, tmp_path: Path
) -> None:
    database = "t_salt_" + uuid.uuid4().hex[:10]
    anonymous = matomo_site(matomo_consent="cookieless")
    params = {"url": SITE_ORIGIN + "/", "action_name": "anon", "send_image": 0}
    first = await collector_factory(anonymous, database=database)
    await hit(first, {**params, "pv_id": "p1"})
    await hit(first, {**params, "pv_id": "p2"})
    safari = (
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_0) AppleWebKit/605.1.15 (KHTML, like Gecko) "
        "Version/17.0 Safari/605.1.15"
    )
    await hit(first, {**params, "pv_id": "p3"}, headers={"User-Agent": safari})
    await first.flush()
    before = {(p["visitor_hash"], p["session_hash"]) for p in pageviews(first)}
    assert len(before) == 2, "same IP and UA: one visitor and visit; another UA: another visitor"
    [(salt_day, salts)] = first.rows("SELECT day, count() FROM {db}.daily_salts GROUP BY day")
    assert salts == 1 and salt_day == datetime.now(ZoneInfo(anonymous.timezone)).date()
    await stop_collector(first)

    second = await collector_factory(anonymous, database=database, data_dir=tmp_path / "second-process")
    await hit(second, {**params, "pv_id": "p4"})
    await second.flush()
    after = {(p["visitor_hash"], p["session_hash"]) for p in pageviews(second)}
    assert len(pageviews(second)) == 4 and after == before, "the same stored salt: the same visitor and visit"
    assert second.count("daily_salts") == 1


async def test_visit_salts_are_deleted_by_ttl_after_their_day(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="cookieless"))
    await hit(collector, {"url": SITE_ORIGIN + "/", "send_image": 0})
    today = date.today()
    salts = [("shop", today - timedelta(days=d), "old" + str(d), NOW) for d in (2, 3, 30)]
    collector.storage.insert("daily_salts", ("site", "day", "salt", "created_at"), salts)
    table = collector.storage.table("daily_salts")
    collector.storage.command(f"ALTER TABLE {table} MATERIALIZE TTL", settings={"mutations_sync": 2})
    collector.storage.command(f"OPTIMIZE TABLE {table} FINAL")
    days = [r[0] for r in collector.rows("SELECT day FROM {db}.daily_salts")]
    assert days and min(days) >= today - timedelta(days=1), "no salt older than yesterday remains"
    ddl = collector.rows(
        "SELECT create_table_query FROM system.tables WHERE database = '{db}' AND name = 'daily_salts'"
    )[0][0]
    assert "TTL toDateTime(day, 'UTC') + toIntervalHour(38)" in ddl
