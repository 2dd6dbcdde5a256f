"""The archive of closed days' frustration signals (dashboards/archive.py): every insights panel (summary, trend,
by page, by element, errors) and the recordings list filtered by a signal give exactly what the live computation
gives, for every period and filter, in UTC and in zones with whole-hour and half-hour offsets; a day archived
again replaces its older rows; a late upload to an archived day is archived again; an erasure removes a visitor's
rows.

Past days are seeded as rows (the stored form every upload path writes): visits with rage bursts, dead and
living clicks (with their playback uploads), excessive scrolling, quick backs, script errors, and visits that go
on past midnight. The expected figures are the live path's, taken before anything is archived (the background
archiver is off: COLLECTOR_SIGNALS_ARCHIVE_GRACE_MIN=0), and for the late upload what the test added.
"""

from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pytest

from collector.core.keys import HASHER
from dashboards.archive import archive_due, archiver_context, last_closed_day
from dashboards.insights import PANELS
from dashboards.queries import view_available
from ingest_schema.rows import EventRow, PageviewRow, PlaybackRow
from ingest_schema.tables import TABLES
from retention.jobs import erase_visitor, export_visitor
from tests.support.browser import wait_until
from tests.support.collector import RunningCollector, make_site
from tests.support.dashboard import log_in

#: every panel of the insights page (summary, trend, by page, by element, errors)
INSIGHTS_PANELS = tuple(p.name for p in PANELS)
SITES = {"proj123": "UTC", "berlin": "Europe/Berlin", "kolkata": "Asia/Kolkata"}
DAYS = 8
NOW = datetime.now(timezone.utc)
GRACE = timedelta(hours=1)
PAGES = ("/", "/a", "/b", "/c")
#: a page view's key columns: site, day, visitor, session, page number, page view id
Key = tuple[str, date, int, int, int, int]
PERIODS: tuple[dict[str, str], ...] = (
    {"period": "7d"},
    {"period": "30d"},
    {"period": "yesterday"},
    {"period": "today"},
    {"period": "custom", "from": str(NOW.date() - timedelta(days=5)), "to": str(NOW.date() - timedelta(days=2))},
)
FILTERS: tuple[dict[str, str], ...] = ({}, {"country": "DE"}, {"device": "desktop"}, {"page": "/a"})
SIGNALS = ("rage_click", "dead_click", "quick_back", "excessive_scroll", "js_error")


class Seed:
    """Rows of generated visits, with ids that never collide."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.pageviews: list[PageviewRow] = []
        self.events: list[EventRow] = []
        self.playback: list[PlaybackRow] = []
        self.next_id = 1000

    def new_id(self) -> int:
        self.next_id += 1
        return self.next_id

    def visit(self, site: str, start: datetime, paths: list[str], country: str, device: str) -> tuple[int, int]:
        visitor, session = self.new_id(), self.new_id()
        t = start
        for num, path in enumerate(paths, 1):
            quick = num > 1 and num < len(paths) and paths[num] == paths[num - 2]
            stay = timedelta(seconds=3 if quick else self.rng.randrange(20, 200))
            self.page_view(site, visitor, session, num, t, t + stay, path, country, device)
            t += stay + timedelta(seconds=1)
        return visitor, session

    def page_view(
        self,
        site: str,
        visitor: int,
        session: int,
        num: int,
        t0: datetime,
        t1: datetime,
        path: str,
        country: str,
        device: str,
    ) -> int:
        pv = self.new_id()
        url = f"https://shop.example{path}"
        self.pageviews.append(
            PageviewRow(
                site, t0.date(), visitor, session, num, pv, "clarity", t0, t1, url, "", "t", "Firefox", "Linux",
                device, country, 1280, 800, 3000, 800, 0, 0, 1, 1, 1, "", "direct", "", "", "", "", "", "", "",
            )
        )  # fmt: skip
        key: Key = (site, t0.date(), visitor, session, num, pv)
        self.event(key, t0, 8, url, 0, 0, 0, "", doc_width=1280)
        ms = 0
        payload_events: list[str] = []
        for _ in range(self.rng.randrange(0, 4)):
            ms += self.rng.randrange(1500, 4000)
            kind = self.rng.choice(("rage", "dead", "alive", "scroll", "error"))
            target, x, y = self.rng.randrange(1, 40), self.rng.randrange(0, 1200), self.rng.randrange(0, 2500)
            if kind == "rage":
                for i in range(self.rng.randrange(3, 6)):
                    self.event(key, t0 + timedelta(milliseconds=ms + 150 * i), 9, url, x + i, y, target, f"h{target}")
                ms += 1000
            elif kind in ("dead", "alive"):
                self.event(key, t0 + timedelta(milliseconds=ms), 9, url, x, y, target, f"h{target}")
                payload_events.append(f"[{ms},9,{target},{x},{y},0]")
                if kind == "alive":
                    payload_events.append(f"[{ms + 300},6,1]")
            elif kind == "scroll":
                for i, pos in enumerate((0, 600, 100, 700, 50)):
                    self.event(key, t0 + timedelta(milliseconds=ms + 200 * i), 10, url, 0, pos, 0, "")
                ms += 1000
            else:
                data = f'["boom {target % 3}",{target},3,"stack","https://shop.example/app.js"]'
                self.event(key, t0 + timedelta(milliseconds=ms), 31, url, 0, 0, 0, "", data=data)
        # every page view is recorded, opening with its DOM snapshot (Discover, 5): the recordings list shows it
        stream = ",".join(["[0,5,1]", *payload_events])
        payload = '{"e":["0.7.0",1,0,' + str(ms + 60_000) + ',1,1,1,"u"],"p":[' + stream + "]}"
        self.playback.append(PlaybackRow(*key, t0, 1, 1, len(payload), payload))
        return pv

    def event(
        self,
        key: Key,
        ts: datetime,
        type_: int,
        url: str,
        x: int,
        y: int,
        target: int,
        target_hash: str,
        doc_width: int = 0,
        data: str = "[]",
    ) -> None:
        self.events.append(
            EventRow(
                *key, ts, "clarity", type_, "", url, x, y, target, target_hash, "div", "Buy", "", doc_width, 0, "",
                "", 0.0, data,
            )
        )  # fmt: skip


def generate(seed: Seed) -> None:
    """A dozen visits a day per site over DAYS days and today; some begin just before midnight and go on."""
    rng = seed.rng
    for site in SITES:
        for back in range(DAYS, -1, -1):
            day = datetime.combine(NOW.date() - timedelta(days=back), datetime.min.time(), timezone.utc)
            latest = (NOW - day).total_seconds() - 900 if back == 0 else 86_000
            for i in range(12):
                if latest < 60:
                    break
                offset = 86_400 - 120 if i == 0 and back > 0 else rng.uniform(0, latest)
                paths = [rng.choice(PAGES) for _ in range(rng.randrange(1, 6))]
                if rng.random() < 0.4 and len(paths) >= 3:
                    paths[2] = paths[0]  # a quick back on the second page
                if paths[1:2] == [paths[0]]:
                    paths[1] = "/c" if paths[0] != "/c" else "/b"
                seed.visit(site, day + timedelta(seconds=offset), paths, rng.choice(("DE", "FR")), rng.choice(
                    ("desktop", "smartphone")))  # fmt: skip


def insert(collector: RunningCollector, seed: Seed) -> None:
    storage = collector.storage
    for table, rows in (("pageviews", seed.pageviews), ("events", seed.events), ("playback", seed.playback)):
        if rows:
            storage.insert(table, TABLES[table].column_names, rows)


async def answers(analyst: Any) -> dict[str, Any]:
    """Every insights panel's rows, by site, period and filter, and the recordings lists filtered by a signal."""
    out: dict[str, Any] = {}
    for site in SITES:
        for period in PERIODS:
            for filters in FILTERS:
                for panel in INSIGHTS_PANELS:
                    params = {"site": site, **period, **filters}
                    out[f"{panel} {sorted(params.items())}"] = (await analyst.api(panel, **params))["rows"]
                if filters in ({}, {"country": "DE"}) and period["period"] in ("30d", "custom"):
                    for signal in SIGNALS:  # the recordings list filtered by a signal
                        params = {"site": site, **period, **filters, "signal": signal, "limit": "100"}
                        out[f"recordings {sorted(params.items())}"] = (await analyst.api("recordings", **params))[
                            "rows"
                        ]
    return out


def _summary(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["signal"]: r for r in rows}


async def test_archived_days_answer_exactly_what_the_live_path_computes_and_late_uploads_are_archived_again(
    collector_factory: Any,
) -> None:
    collector = await collector_factory(
        *(make_site(id=s, timezone=z) for s, z in SITES.items()), signals_archive_grace_min=0
    )
    seed = Seed(14)
    generate(seed)
    insert(collector, seed)
    analyst = await log_in(collector)
    try:
        live = await answers(analyst)
        month = _summary(live[f"insights {sorted({'site': 'proj123', 'period': '30d'}.items())}"])
        for signal in SIGNALS:
            assert month[signal]["occurrences"] > 0, f"the seeded data has {signal}s"
            listed = live[
                f"recordings {sorted({'site': 'proj123', 'period': '30d', 'signal': signal, 'limit': '100'}.items())}"
            ]
            assert listed, f"recordings with {signal} are listed"

        due = archive_due(collector.storage, NOW, GRACE)
        last = last_closed_day(NOW, GRACE)
        seeded_days = {(p.site, p.day) for p in seed.pageviews if p.day <= last}
        assert set(due) == seeded_days
        archived_rows = collector.count("signal_occurrences")
        assert archived_rows > 0
        assert archive_due(collector.storage, NOW, GRACE) == [], "nothing changed: nothing to archive again"

        assert await answers(analyst) == live

        # a late upload to an archived day: a rage burst on a new page view of a visit begun that day
        late_day = NOW.date() - timedelta(days=3)
        first = min(
            (p for p in seed.pageviews if p.site == "proj123" and p.day == late_day), key=lambda p: p.pageview_id
        )
        # after the visit's last page view, on a page of its own: no quick back is made or broken
        last_at = max(p.last_at for p in seed.pageviews if p.session_hash == first.session_hash)
        params = {"site": "proj123", "period": "custom", "from": str(late_day), "to": str(late_day)}
        before = _summary((await analyst.api("insights", **params))["rows"])
        late = Seed(99)
        late.next_id = seed.next_id + 10_000
        t0 = last_at + timedelta(seconds=2)
        pv = late.page_view("proj123", first.visitor_hash, first.session_hash, 50, t0, t0 + timedelta(seconds=30),
                            "/late", "DE", "desktop")  # fmt: skip
        late.events = [e for e in late.events if e.pageview_id != pv]
        key: Key = (first.site, t0.date(), first.visitor_hash, first.session_hash, 50, pv)
        for i in range(4):
            late.event(key, t0 + timedelta(milliseconds=500 + 100 * i), 9, "https://shop.example/late", 5, 5, 3, "hl")
        late.playback = []
        insert(collector, late)
        stale = _summary((await analyst.api("insights", **params))["rows"])
        assert stale == before, "the archive answers for its day until it is archived again"
        assert (first.site, late_day) in archive_due(collector.storage, NOW, GRACE)
        after = _summary((await analyst.api("insights", **params))["rows"])
        assert after["rage_click"]["occurrences"] == before["rage_click"]["occurrences"] + 1
        for signal in SIGNALS[1:]:
            assert after[signal] == before[signal]
        versions = collector.rows(
            "SELECT uniqExact(archived_at) FROM {db}.signal_occurrences WHERE site = 'proj123' AND day = {d:Date}",
            d=late_day,
        )
        assert versions == [(1,)], "the day's older archive is deleted once the new one is in"
        assert collector.count("signal_occurrences") == archived_rows + 1
    finally:
        await analyst.close()


async def test_archive_needs_a_closed_day_and_is_computed_per_visit_of_its_day(collector_factory: Any) -> None:
    collector = await collector_factory(make_site(), signals_archive_grace_min=0)
    seed = Seed(3)
    generate(seed)
    insert(collector, seed)
    just_after_midnight = datetime.combine(NOW.date(), datetime.min.time(), timezone.utc) + timedelta(minutes=30)
    due = archive_due(collector.storage, just_after_midnight, GRACE)
    assert due and max(d for _, d in due) == NOW.date() - timedelta(days=2), "yesterday is not closed yet"
    newest = collector.rows("SELECT max(day) FROM {db}.signal_archive_days")[0][0]
    assert newest == NOW.date() - timedelta(days=2)
    assert collector.rows("SELECT count() FROM {db}.signal_occurrences WHERE day > {d:Date}", d=newest)[0][0] == 0


async def test_gdpr_export_and_erase_cover_the_archive_and_the_day_is_archived_again(collector_factory: Any) -> None:
    collector = await collector_factory(make_site(), signals_archive_grace_min=0)
    hasher = collector.app[HASHER]
    seed = Seed(5)
    generate(seed)
    visitor, session = hasher.visitor("proj123", "b7c0ffee-person"), seed.new_id()
    start = datetime.combine(NOW.date() - timedelta(days=3), time(10), timezone.utc)
    pv = seed.page_view("proj123", visitor, session, 1, start, start + timedelta(seconds=30), "/gdpr", "DE", "desktop")
    key: Key = ("proj123", start.date(), visitor, session, 1, pv)
    for i in range(3):  # one rage burst, so the visit has an archive row
        seed.event(key, start + timedelta(milliseconds=500 + 100 * i), 9, "https://shop.example/gdpr", 5, 5, 3, "hg")
    insert(collector, seed)
    archive_due(collector.storage, NOW, GRACE)
    mine = "visitor_hash = {v:UInt64}"
    found = collector.rows(
        f"SELECT countIf(signal = 'rage_click') FROM {{db}}.signal_occurrences WHERE {mine}", v=visitor
    )
    assert found[0][0] >= 1

    storage = collector.storage
    exported = export_visitor(storage, hasher, ["proj123"], "clarity", "b7c0ffee-person")
    assert {r["session_hash"] for r in exported["tables"]["signal_occurrences"]} == {session}
    report = erase_visitor(storage, hasher, ["proj123"], "clarity", "b7c0ffee-person")
    assert report["erased"]["signal_occurrences"] >= 1
    assert collector.rows(f"SELECT count() FROM {{db}}.signal_occurrences WHERE {mine}", v=visitor)[0][0] == 0
    assert ("proj123", start.date()) in archive_due(storage, NOW, GRACE), "the erasure changed the day's rows"


async def test_the_background_archiver_archives_the_closed_days_and_stops_with_the_collector(
    collector_factory: Any,
) -> None:
    collector = await collector_factory(make_site(), signals_archive_grace_min=0)
    seed = Seed(8)
    generate(seed)
    insert(collector, seed)
    storage = collector.storage
    expected = {(p.site, p.day) for p in seed.pageviews if p.day <= last_closed_day(NOW, GRACE)}
    context = archiver_context(lambda: storage, 60, view_available)(collector.app)
    await context.__anext__()  # started: its first pass runs now
    try:
        archived = await wait_until(
            lambda: {(str(s), d) for s, d in collector.rows("SELECT site, day FROM {db}.signal_archive_days")},
            seconds=300,
            until=lambda days: days == expected,
        )
        assert archived, "every closed day is archived by the background pass"
    finally:
        with pytest.raises(StopAsyncIteration):
            await context.__anext__()  # stops: a pass in progress is finished first
    off = archiver_context(lambda: storage, 0, view_available)(collector.app)
    await off.__anext__()
    with pytest.raises(StopAsyncIteration):
        await off.__anext__()


async def test_the_archive_expires_with_the_analytics_tables(collector: RunningCollector) -> None:
    """Rows of days older than the analytics retention (13 months) go when ClickHouse applies the TTL."""
    columns = TABLES["signal_occurrences"].column_names
    rows = []
    for age in (2, 360, 420, 700):
        day = NOW.date() - timedelta(days=age)
        at = datetime.combine(day, time(9), timezone.utc)
        rows.append(("proj123", day, age, age, "rage_click", age, "/", at, "h", "Buy", 10, 20, 1280, "3", NOW))
    collector.storage.insert("signal_occurrences", columns, rows)
    table = collector.storage.table("signal_occurrences")
    collector.storage.command(f"ALTER TABLE {table} MATERIALIZE TTL", settings={"mutations_sync": 2})
    collector.storage.command(f"OPTIMIZE TABLE {table} FINAL")
    left = collector.rows("SELECT session_hash FROM {db}.signal_occurrences")
    assert sorted(left) == [(2,), (360,)]


async def test_upgrading_from_the_per_hour_archive_archives_every_closed_day_again(collector_factory: Any) -> None:
    """A database at migration 13 held `visit_signals` (counts per visit and hour) and its archived days: migration
    14 drops that table and forgets the days, so the next pass archives them into `signal_occurrences`."""
    collector = await collector_factory(make_site(), signals_archive_grace_min=0)
    seed = Seed(6)
    generate(seed)
    insert(collector, seed)
    storage = collector.storage
    db = storage.database
    # the state migration 13 left: its table with a row, an archived day, 14 not applied
    storage.command(
        f"CREATE TABLE `{db}`.`visit_signals` (site LowCardinality(String), day Date, session_hash UInt64, "
        "visitor_hash UInt64, hour DateTime('UTC'), rage_click UInt32, archived_at DateTime64(3, 'UTC')) "
        "ENGINE = ReplacingMergeTree(archived_at) ORDER BY (site, day, session_hash, hour)"
    )
    yesterday = NOW.date() - timedelta(days=2)
    storage.command(f"INSERT INTO `{db}`.`visit_signals` VALUES ('proj123', '{yesterday}', 1, 1, now(), 1, now64())")
    storage.command(f"INSERT INTO `{db}`.`signal_archive_days` VALUES ('proj123', '{yesterday}', 1, now64())")
    storage.command(f"ALTER TABLE `{db}`.`schema_migrations` DELETE WHERE version = 14", settings={"mutations_sync": 2})

    assert storage.migrate() == [14]
    assert collector.rows("SELECT count() FROM system.tables WHERE database = {d:String} AND name = 'visit_signals'",
                          d=db) == [(0,)]  # fmt: skip
    assert collector.count("signal_archive_days") == 0, "every archived day is forgotten"
    expected = {(p.site, p.day) for p in seed.pageviews if p.day <= last_closed_day(NOW, GRACE)}
    assert set(archive_due(storage, NOW, GRACE)) == expected
    assert collector.count("signal_occurrences") > 0
