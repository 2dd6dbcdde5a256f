"""Rows written straight into ClickHouse at a chosen age, for retention and TTL tests."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from ingest_schema.rows import EventRow, PlaybackRow

NOW = datetime.now(timezone.utc)


def playback_row_aged(age: timedelta, keep: int, sequence: int) -> PlaybackRow:
    ts = NOW - age
    return PlaybackRow(
        site="proj123",
        day=ts.date(),
        visitor_hash=1,
        session_hash=2,
        page_num=1,
        pageview_id=3,
        ts=ts,
        sequence=sequence,
        is_end=0,
        wire_bytes=10,
        payload='{"e":[]}',
        keep=keep,
    )


def event_row_aged(age: timedelta, type_: int) -> EventRow:
    ts = NOW - age
    return EventRow(
        site="proj123",
        day=ts.date(),
        visitor_hash=1,
        session_hash=2,
        page_num=1,
        pageview_id=3,
        ts=ts,
        source="clarity",
        type=type_,
        name="click",
        url="u",
        x=1,
        y=2,
        target=0,
        target_hash="h",
        target_tag="",
        text="",
        link="",
        doc_width=0,
        doc_height=0,
        key="",
        value="",
        num=0.0,
        data="[]",
    )
