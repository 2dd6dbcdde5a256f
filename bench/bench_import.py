"""Matomo history import benchmark: N generated Matomo actions in a real MariaDB, imported into chdb.

    python -m bench.bench_import                 # 1,000,000 actions
    python -m bench.bench_import --actions 10000000

1. starts Debian's mariadbd on a temp datadir (as tests/test_matomo_import.py does) and fills Matomo's
   schema with generated visits (tests/support/matomo_db.py: about 3.4 actions a visit, conversions, orders,
   items), all within the retention window: up to 1M actions row by row, beyond that copies of those
   made by MariaDB itself (new idvisit, idlink_va, visitor and order ids) until the log holds N actions;
2. baseline A: a raw streaming SELECT of the same visit and action rows from MariaDB (mysqlclient,
   SSCursor), the floor of what reading costs;
3. the import itself (`run_import`, the code `python -m collector.ingest.matomo_import` runs) into a
   fresh embedded ClickHouse folder: actions/s and rows written/s;
4. baseline B: a raw clickhouse-connect insert of as many `events` rows as the import wrote, in
   50,000-row batches, into another database of the same folder.

Prints one table, with the CPU time per visit and the load average seen during the import (1-minute
figures sampled at the start and at every progress line); wall-clock figures on a shared machine, read
them as orders of magnitude.
"""

from __future__ import annotations

import argparse
import os
import platform
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from collector.core.sites import SiteRegistry, site_from_dict
from collector.ingest.matomo_import.run import Options, run_import
from collector.ingest.matomo_import.source import ACTION_COLUMNS, VISIT_COLUMNS, MatomoSource, SourceDsn
from ingest_schema.hashing import Hasher
from ingest_schema.rows import EventRow
from ingest_schema.storage import Storage
from tests.support import matomo_db

BASE_ACTIONS = 1_000_000  # generated row by row in Python; larger sizes are copies of these made by MariaDB


def generate(server: matomo_db.MariaDB, actions: int) -> tuple[float, int, int]:
    conn = server.connect()
    matomo_db.create_schema(conn, "matomo")
    generator = matomo_db.Generator(conn)
    generator.sites()
    started = time.monotonic()
    base = min(actions, BASE_ACTIONS)
    while generator.idlink < base:
        generator.visits(min(20_000, max(1, (base - generator.idlink) // 3)), expired_share=0.0, days=300)
    visits, links = generator.idvisit, generator.idlink
    copies = -(-actions // links) - 1
    for copy in range(1, copies + 1):
        replicate(conn, copy, visits, links)
    drop_bases(conn)
    conn.close()
    return time.monotonic() - started, visits * (copies + 1), links * (copies + 1)


TABLES = ("log_visit", "log_link_visit_action", "log_conversion", "log_conversion_item")


def replicate(conn: object, copy: int, visits: int, links: int) -> None:
    """Copy the generated visits once more with new ids: idvisit, idlink_va, visitor ids and order ids shifted.

    Copies are read from `base_*` tables holding the generated rows (made on the first call): an
    `INSERT … SELECT` from the table it writes makes MariaDB buffer the rows in an internal temporary
    table in its tmpdir (/tmp), which other jobs on a shared machine may clean up under it."""
    cursor = conn.cursor()  # type: ignore[attr-defined]
    shift = {
        "idvisit": f"idvisit + {copy * visits}",
        "idlink_va": f"idlink_va + {copy * links}",
        "idvisitor": f"UNHEX(SUBSTR(MD5(CONCAT(idvisitor, '{copy}')), 1, 16))",
        "idorder": f"IF(idorder = '0', idorder, CONCAT(idorder, '-{copy}'))",
        "buster": f"buster + {copy * visits}",
    }
    for table in TABLES:
        if copy == 1:
            cursor.execute(f"CREATE TABLE base_{table} LIKE matomo_{table}")
            cursor.execute(f"INSERT INTO base_{table} SELECT * FROM matomo_{table}")
        cursor.execute(
            "SELECT COLUMN_NAME FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
            f"AND TABLE_NAME = 'matomo_{table}' ORDER BY ORDINAL_POSITION"
        )
        columns = [str(r[0]) for r in cursor.fetchall()]
        chosen = ", ".join(shift.get(c, f"`{c}`") for c in columns)
        cursor.execute(
            f"INSERT INTO matomo_{table} ({', '.join(f'`{c}`' for c in columns)}) SELECT {chosen} FROM base_{table}"
        )
    cursor.close()


def drop_bases(conn: object) -> None:
    cursor = conn.cursor()  # type: ignore[attr-defined]
    for table in TABLES:
        cursor.execute(f"DROP TABLE IF EXISTS base_{table}")
    cursor.close()


def raw_select(server: matomo_db.MariaDB) -> tuple[float, int]:
    import MySQLdb.cursors

    conn = server.connect("matomo")
    started, rows = time.monotonic(), 0
    for table, columns in (("log_visit", VISIT_COLUMNS), ("log_link_visit_action", ACTION_COLUMNS)):
        cursor = conn.cursor(MySQLdb.cursors.SSCursor)
        present = [c for c in columns if not c.startswith("campaign_")]  # the plugin's columns are absent here
        cursor.execute(f"SELECT {', '.join(present)} FROM matomo_{table}")
        while batch := cursor.fetchmany(20_000):
            rows += len(batch)
        cursor.close()
    conn.close()
    return time.monotonic() - started, rows


def raw_insert(storage: Storage, count: int) -> float:
    now = datetime.now(timezone.utc)
    row = (
        "shop",
        now.date(),
        1,
        2,
        1,
        3,
        now,
        "matomo-import",
        1001,
        "event",
        "https://shop.example/products/1",
        0,
        0,
        0,
        "",
        "",
        "Intro",
        "",
        0,
        0,
        "Video",
        "play",
        3.5,
        "{}",
    )
    assert len(row) == len(EventRow._fields)
    batch = [row] * 50_000
    started, written = time.monotonic(), 0
    while written < count:
        part = batch[: min(50_000, count - written)]
        storage.insert("events", EventRow._fields, part)
        written += len(part)
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--actions", type=int, default=1_000_000)
    parser.add_argument("--batch-visits", type=int, default=5000)
    args = parser.parse_args()
    server = matomo_db.MariaDB(buffer_pool="1G").start()
    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    try:
        gen_s, visits, actions = generate(server, args.actions)
        print(f"generated {visits:,} visits, {actions:,} actions into MariaDB in {gen_s:.0f} s", flush=True)
        select_s, selected = raw_select(server)
        print(f"raw SELECT: {selected:,} rows in {select_s:.1f} s", flush=True)

        storage = Storage(f"chdb://{folder / 'clickhouse'}", "analytics", workers=1)
        storage.migrate()
        sites = [
            site_from_dict({"id": s, "origins": [f"https://{s}.example"], "timezone": z, "matomo_idsite": i})
            for s, z, i in (("shop", "Europe/Berlin", 1), ("blog", "America/New_York", 2))
        ]
        source = MatomoSource(SourceDsn.parse(server.dsn("matomo")), "matomo_")
        started, cpu = time.monotonic(), time.process_time()
        seen = {"batches": 0, "visits": 0}
        loads = [os.getloadavg()[0]]

        def every_20_batches(event: dict[str, Any]) -> None:
            if event["event"] != "checkpoint":
                return
            seen["batches"] += 1
            seen["visits"] += event["visits"]
            if seen["batches"] % 20 == 0:
                loads.append(os.getloadavg()[0])
                elapsed = time.monotonic() - started
                print(
                    f"  … {seen['visits']:,} visits in {elapsed:.0f} s ({seen['visits'] / elapsed:,.0f} visits/s, "
                    f"{time.process_time() - cpu:.0f} CPU s, load {loads[-1]:.1f})",
                    flush=True,
                )

        report = run_import(
            storage,
            source,
            "bench",
            Hasher(b"bench-key"),
            SiteRegistry({s.id: s for s in sites}),
            Options(batch_visits=args.batch_visits),
            65536,
            every_20_batches,
        )
        import_s, import_cpu = time.monotonic() - started, time.process_time() - cpu
        loads.append(os.getloadavg()[0])
        source.close()
        written = sum(sum(s["rows"].values()) for s in report["sites"])
        imported_actions = sum(s["actions"] for s in report["sites"])
        imported_visits = sum(s["visits"] for s in report["sites"])
        print(f"import: {imported_actions:,} actions, {written:,} rows in {import_s:.0f} s", flush=True)

        storage.command("CREATE DATABASE IF NOT EXISTS raw")
        raw = Storage(f"chdb://{folder / 'clickhouse'}", "raw", workers=1)
        raw.migrate()
        insert_s = raw_insert(raw, written)

        print()
        print(
            f"Matomo import benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, {platform.python_version()}, "
            f"{actions:,} actions / {visits:,} visits, {os.cpu_count()} cores, "
            f"load average (1 min) during the import {min(loads):.1f}-{max(loads):.1f}"
        )
        print("| figure | rows | seconds | rows/s |")
        print("|---|---|---|---|")
        print(
            f"| import (read MariaDB, map, mask, write chdb) | {imported_actions:,} actions | {import_s:.0f} | "
            f"{imported_actions / import_s:,.0f} actions/s |"
        )
        print(
            f"| import, CPU seconds of this process (chdb included, MariaDB not) | {imported_actions:,} actions | "
            f"{import_cpu:.0f} | {imported_actions / import_cpu:,.0f} actions per CPU second |"
        )
        print(
            f"| import, CPU per visit | {imported_visits:,} visits | {import_cpu:.0f} | "
            f"{import_cpu / max(1, imported_visits) * 1000:.2f} CPU ms per visit |"
        )
        print(
            f"| import, rows written (pageviews, events, visits, orders) | {written:,} | {import_s:.0f} | "
            f"{written / import_s:,.0f} |"
        )
        print(
            f"| baseline A: raw SELECT of the visits and actions (mysqlclient) | {selected:,} | {select_s:.1f} | "
            f"{selected / select_s:,.0f} |"
        )
        print(
            f"| baseline B: raw clickhouse-connect insert, 50k-row batches | {written:,} | {insert_s:.1f} | "
            f"{written / insert_s:,.0f} |"
        )
        print(f"| generating the Matomo data (LOAD DATA) | {actions:,} | {gen_s:.0f} | {actions / gen_s:,.0f} |")
        storage.close()
        raw.close()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
