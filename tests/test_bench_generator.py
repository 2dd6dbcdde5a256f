"""The query benchmark's generated traffic (bench/bench_queries.py) holds every frustration signal, so the
insights panels are timed on real results rather than on empty ones.

About 20,000 events are generated with the bench's own `generate` into a fresh database of embedded ClickHouse;
the product's `insights` panel must then find each signal, dead clicks must stay a minority of the clicks, and the
clicks ClickHouse extracts from each stored playback payload (`payload_clicks`) must be the click rows of the same
page view, read here with straight SQL.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest

from bench.bench_queries import BENCH_SITE, generate
from dashboards.insights import SIGNALS
from dashboards.queries import PANELS, parse_query, run_panel
from ingest_schema.storage import Storage

EVENTS = 20_000
#: fewer days than playback's 30: every generated upload has its playback row
DAYS = 28

Click = tuple[int, int, int, int]  # page time (ms), target node, x, y


@pytest.fixture(scope="module")
def generated(chdb_folder: Path) -> Iterator[tuple[Storage, datetime]]:
    """The bench's data in a database of its own, and the newest page view's end (the bench's `now`)."""
    storage = Storage(f"chdb://{chdb_folder}", "t_bench_" + uuid.uuid4().hex[:8], workers=1)
    storage.migrate()
    generate(storage, EVENTS, DAYS, seed=5, end_ms=int(time.time() * 1000))
    latest = storage.query_rows(f"SELECT max(last_at) FROM {storage.table('pageviews')}")[0][0]
    yield storage, latest.replace(tzinfo=timezone.utc)
    storage.close()


def insights(storage: Storage, now: datetime) -> dict[str, int]:
    """Occurrences of each signal over the last 30 days, from the product's insights panel."""
    panel = PANELS["insights"]
    result = run_panel(storage, panel, parse_query(panel, {"site": BENCH_SITE, "period": "30d"}, now=now))
    return {str(row[0]): int(row[1]) for row in result.rows}


def test_every_signal_is_found_and_dead_clicks_are_a_minority(generated: tuple[Storage, datetime]) -> None:
    storage, now = generated
    found = insights(storage, now)
    assert set(found) == set(SIGNALS)
    assert all(found[s] > 0 for s in SIGNALS), found
    clicks = storage.query_rows(
        f"SELECT count() FROM {storage.table('events')} WHERE site = {{site:String}} AND type = 9",
        {"site": BENCH_SITE},
    )[0][0]
    assert 0 < found["dead_click"] < clicks / 2, (found, clicks)


def test_payload_clicks_are_the_click_rows_of_their_page_view(generated: tuple[Storage, datetime]) -> None:
    storage, _ = generated
    starts = dict(
        storage.query_rows(
            f"SELECT pageview_id, toInt64(toUnixTimestamp64Milli(min(started_at))) FROM {storage.table('pageviews')} "
            "WHERE source != 'matomo' GROUP BY pageview_id"
        )
    )
    rows: dict[int, list[Click]] = defaultdict(list)
    for pageview, ts, target, x, y in storage.query_rows(
        "SELECT pageview_id, toInt64(toUnixTimestamp64Milli(ts)), toInt64(target), x, y "
        f"FROM {storage.table('events')} WHERE type = 9 AND source != 'matomo'"
    ):
        rows[pageview].append((ts - starts[pageview], target, x, y))
    payloads: dict[int, list[Click]] = defaultdict(list)
    for pageview, clicks in storage.query_rows(
        f"SELECT pageview_id, payload_clicks FROM {storage.table('playback')} LIMIT 1 BY pageview_id, sequence"
    ):
        payloads[pageview].extend(tuple(c) for c in clicks)
    with_clicks = {pv: sorted(c) for pv, c in payloads.items() if c}
    assert len(with_clicks) > 100
    assert with_clicks == {pv: sorted(c) for pv, c in rows.items()}


def test_script_errors_come_from_a_handful_of_messages_on_a_few_percent_of_page_views(
    generated: tuple[Storage, datetime],
) -> None:
    storage, _ = generated
    messages, sources, with_errors, pageviews = storage.query_rows(
        "SELECT uniqExactIf(JSONExtractString(data, 1), type = 31), "
        "uniqExactIf(JSONExtractString(data, 5), type = 31), uniqExactIf(pageview_id, type = 31), "
        f"uniqExact(pageview_id) FROM {storage.table('events')} "
        "WHERE source != 'matomo'"
    )[0]
    assert 3 <= messages <= 10
    assert sources >= 3
    assert 0.005 < with_errors / pageviews < 0.1, (with_errors, pageviews)
