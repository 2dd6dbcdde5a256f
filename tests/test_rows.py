"""Named rows (ingest_schema.rows): fields checked against the table declarations, the writer takes
nothing else, and every ingest step is timed in /metrics."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

import ingest_schema.rows as rows
from collector.ingest.keys import WRITER
from ingest_schema.tables import TABLES, Column
from tests.support.collector import CollectorFactory, RunningCollector, clarity_fixture, make_site
from tests.support.matomo import hit, matomo_site, metric
from tests.support.rows import event_row_aged, playback_row_aged


def test_row_types_have_their_tables_columns_in_order() -> None:
    rows.check_rows_match_tables()
    for row_type, table in rows.ROW_TABLES.items():
        assert row_type._fields == TABLES[table].column_names


def test_a_column_without_its_field_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    events = TABLES["events"]
    grown = dataclasses.replace(events, columns=events.columns + (Column("new_column", "String"),))
    monkeypatch.setitem(TABLES, "events", grown)  # the same dict rows.py checks against
    with pytest.raises(TypeError, match="EventRow fields differ from table events"):
        rows.check_rows_match_tables()


async def test_the_writer_takes_named_rows_of_one_table_only(collector: RunningCollector) -> None:
    writer = collector.app[WRITER]
    with pytest.raises(TypeError):
        # a plain tuple on purpose: the runtime check must refuse what mypy refuses for typed callers
        writer.add([tuple(event_row_aged(timedelta(0), 9))])  # type: ignore[list-item]
    with pytest.raises(TypeError):
        writer.add([event_row_aged(timedelta(0), 9), playback_row_aged(timedelta(0), 0, 1)])
    writer.add([event_row_aged(timedelta(0), 9)])
    await collector.flush()
    assert collector.count("events") == 1


async def test_every_ingest_step_is_timed_in_metrics(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(make_site(consent="loader"), matomo_site())
    assert await collector.send(clarity_fixture("default_001")) == 204
    page_view = {"action_name": "home", "url": "http://127.0.0.1:18081/", "consent": 1, "send_image": 0}
    assert (await hit(collector, page_view))[0] == 204
    for path, steps in (
        ("collect", ("decode", "site", "consent", "mask", "rows", "spool")),
        ("matomo", ("read", "site", "consent", "mask", "sessionize", "rows")),
    ):
        for step in steps:
            needle = f'collector_ingest_step_calls_total{{path="{path}",step="{step}"}}'
            assert await metric(collector, needle) >= 1, needle
