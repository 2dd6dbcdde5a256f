"""What ClickHouse computes from each stored upload when it is written (playback's MATERIALIZED columns: the
snapshot flag, the DOM change times, the clicks and the page time covered), which the recordings list and the
dead-click rule read instead of searching the payloads.

Checked three ways over real clarity-js uploads (the captured fixtures) and hand-made ones with clicks and DOM
changes: against the stored payloads parsed here in Python, against the payload search the queries ran before
(straight SQL), and after a migration on rows stored before the columns existed. A GDPR erase takes them with
the playback rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

import orjson

from collector.ingest.keys import SERVICES
from ingest_schema.migrate import MIGRATIONS
from ingest_schema.render import create_table_ddl
from ingest_schema.tables import PLAYBACK_FACTS, TABLES
from retention.service import execute, validate
from tests.support.clarity_uploads import clarity_upload, click, post_upload
from tests.support.collector import CollectorFactory, RunningCollector
from tests.support.dashboard import CONSENTED, SITE, dashboard_site, send_clarity

FACTS = tuple(c.name for c in PLAYBACK_FACTS)
#: the payload search the recordings list and the dead-click rule ran at query time before (PLAYBACK_FACTS)
OLD_SCAN = (
    r"""SELECT pageview_id, sequence, toUInt8(match(payload, '"p":\\[\\[\\d+,5,')), """
    r"""arrayMap(m -> toInt64(m), extractAll(payload, '(?:\\[|\\],)\\[(\\d+),6,')), """
    r"""arrayMap(c -> (toInt64(c[1]), toInt64(c[2]), toInt32(c[3]), toInt32(c[4])), """
    r"""extractAllGroupsVertical(payload, '\\[(\\d+),9,(-?\\d+),(-?\\d+),(-?\\d+),')), """
    r"""arraySum(arrayMap(v -> toInt64(v), arrayFlatten(extractAllGroupsVertical(payload, """
    r"""'^\\{"e":\\["[^"]*",\\d+,(\\d+),(\\d+),')))) FROM {db}.playback ORDER BY pageview_id, sequence"""
)
STORED = f"SELECT pageview_id, sequence, {', '.join(FACTS)} FROM {{db}}.playback ORDER BY pageview_id, sequence"


def parsed(payload: str) -> tuple[int, list[int], list[tuple[int, int, int, int]], int]:
    """The facts of one stored upload by reading its JSON: a Discover event first in the DOM stream, the times of
    Mutation events (6) and the Click events (9) of both streams in order, the envelope's start + duration."""
    document: dict[str, Any] = orjson.loads(payload)
    dom = document["p"]
    ordered = document["a"] + dom  # stored in this order
    snapshot = int(bool(dom) and dom[0][1] == 5)
    mutations = [e[0] for e in ordered if e[1] == 6]
    clicks = [(e[0], e[2], e[3], e[4]) for e in ordered if e[1] == 9]
    envelope = document["e"]
    return snapshot, mutations, clicks, envelope[2] + envelope[3]


async def send_uploads(collector: RunningCollector) -> None:
    """The captured clarity-js uploads, and hand-made ones: clicks, DOM changes in both streams (the beacon's
    Mutation markers travel in the analytics stream), a page view without its snapshot."""
    await send_clarity(collector, CONSENTED)
    marks = [[1500, 6, 1], [2600, 6, 2]]
    clicks = [click(1000, 12, 300, 400, "buy"), click(2500, 14, -5, 900, "far"), click(2500, 14, -5, 900, "far")]
    dom = [[1200, 6, 40, "div", 7, None, "txt"], [3000, 6, 41, "span", 8, None, "x"]]
    body = orjson.loads(clarity_upload("pfu", "pfs", 1, "/facts", clicks + marks, 7000))
    body["p"] = body["p"] + dom
    await post_upload(collector, orjson.dumps(body))
    await post_upload(collector, clarity_upload("pfu", "pfs", 2, "/plain", [click(500, 3, 1, 2, "x")], snapshot=False))
    await collector.flush()


async def test_playback_facts_equal_the_payloads_and_the_old_search(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site())
    await send_uploads(collector)
    stored = collector.rows(STORED)
    assert len(stored) >= 20
    payloads = {
        (pv, seq): p for pv, seq, p in collector.rows("SELECT pageview_id, sequence, payload FROM {db}.playback")
    }
    for pv, seq, *facts in stored:
        snapshot, mutations, clicks, end = parsed(payloads[(pv, seq)])
        assert (facts[0], list(facts[1]), [tuple(c) for c in facts[2]], facts[3]) == (snapshot, mutations, clicks, end)
    assert collector.rows(OLD_SCAN) == stored
    flagged = collector.rows("SELECT countIf(has_snapshot = 1), countIf(has_snapshot = 0) FROM {db}.playback")[0]
    assert flagged[0] > 0 and flagged[1] > 0, "uploads with and without the DOM snapshot"
    assert collector.rows("SELECT max(length(payload_clicks)), max(length(mutation_times)) FROM {db}.playback")[0] >= (
        3,
        4,
    )


async def test_playback_facts_migration_fills_rows_stored_before(collector_factory: CollectorFactory) -> None:
    """A database whose playback rows were written before migration 12 gets the same values for them."""
    collector = await collector_factory(dashboard_site())
    await send_uploads(collector)
    old = collector.storage.database + "_before12"
    before = replace(TABLES["playback"], columns=tuple(c for c in TABLES["playback"].columns if not c.materialized))
    columns = ", ".join(TABLES["playback"].column_names)
    storage = collector.storage
    try:
        storage.command(f"CREATE DATABASE IF NOT EXISTS `{old}`")
        storage.command(create_table_ddl(before, old))
        storage.command(f"INSERT INTO `{old}`.playback ({columns}) SELECT {columns} FROM {storage.table('playback')}")
        assert "has_snapshot" not in str(storage.query_rows(f"SHOW CREATE TABLE `{old}`.playback")[0][0])
        (twelve,) = [m for m in MIGRATIONS if m.version == 12]
        for statement in twelve.statements(old):
            await asyncio.to_thread(storage.command, statement)
        assert collector.rows(STORED.replace("{db}", f"`{old}`")) == collector.rows(STORED)
        done = f"SELECT count() FROM system.mutations WHERE database = '{old}' AND NOT is_done"
        for _ in range(600):  # the backfill is a background mutation: the values above hold before and after it
            if not storage.query_rows(done)[0][0]:
                break
            await asyncio.sleep(0.1)
        assert not storage.query_rows(done)[0][0]
        assert collector.rows(STORED.replace("{db}", f"`{old}`")) == collector.rows(STORED)
    finally:
        storage.command(f"DROP DATABASE IF EXISTS `{old}`")


async def test_playback_facts_go_with_a_gdpr_erase(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(dashboard_site())
    await send_uploads(collector)
    hasher = collector.app[SERVICES].hasher
    visitor = hasher.visitor(SITE, "pfu")
    mine = f"visitor_hash = {visitor}"
    assert collector.count("playback", f"{mine} AND notEmpty(payload_clicks)") > 0
    others = collector.rows(f"SELECT {', '.join(FACTS)} FROM {{db}}.playback WHERE NOT {mine} ORDER BY ALL")
    report = execute(collector.storage, hasher, validate({"action": "erase", "visitor": "pfu"}, [SITE]))
    assert report["ok"] and report["erased"]["playback"] == 2
    assert collector.count("playback", f"{mine} AND (has_snapshot = 1 OR notEmpty(payload_clicks))") == 0
    assert collector.rows(f"SELECT {', '.join(FACTS)} FROM {{db}}.playback WHERE NOT {mine} ORDER BY ALL") == others
