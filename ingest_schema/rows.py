"""Named rows of the tables the ingest paths write, checked against the table declarations.

Code builds rows by column name (`PageviewRow(site=..., day=...)`), never by position: a row is a
tuple in the table's column order because its fields are declared in that order, and
`check_rows_match_tables()` (run at import and by a test) refuses any difference from tables.py.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple

from ingest_schema.tables import TABLES


class PageviewRow(NamedTuple):
    """A row of `pageviews`."""

    site: str
    day: date
    visitor_hash: int
    session_hash: int
    page_num: int
    pageview_id: int
    source: str
    started_at: datetime
    last_at: datetime
    url: str
    referrer: str
    title: str
    browser: str
    os: str
    device: str
    country: str
    screen_width: int
    screen_height: int
    doc_height: int
    scroll_bottom: int
    clicks: int
    events: int
    payloads: int
    ended: int
    consent_source: int
    user_hash: str
    channel: str
    referrer_host: str
    referrer_name: str
    campaign_name: str
    campaign_source: str
    campaign_medium: str
    campaign_keyword: str
    campaign_content: str


class EventRow(NamedTuple):
    """A row of `events`."""

    site: str
    day: date
    visitor_hash: int
    session_hash: int
    page_num: int
    pageview_id: int
    ts: datetime
    source: str
    type: int
    name: str
    url: str
    x: int
    y: int
    target: int
    target_hash: str
    target_tag: str
    text: str
    link: str
    doc_width: int
    doc_height: int
    key: str
    value: str
    num: float
    data: str


class PlaybackRow(NamedTuple):
    """A row of `playback`."""

    site: str
    day: date
    visitor_hash: int
    session_hash: int
    page_num: int
    pageview_id: int
    ts: datetime
    sequence: int
    is_end: int
    wire_bytes: int
    payload: str
    keep: int = 0


class LedgerRow(NamedTuple):
    """A row of `consent_ledger`."""

    site: str
    ts: datetime
    visitor_hash: int
    session_hash: int
    pageview_id: int
    page_time: int
    ingest_path: str
    decision: str
    consent_source: int
    analytics: int
    ad: int
    categories_granted: list[str]
    categories_denied: list[str]
    policy_version: str


class VisitRow(NamedTuple):
    """A row of `visits`."""

    site: str
    day: date
    session_hash: int
    visitor_hash: int
    user_hash: str
    source: str
    started_at: datetime
    last_at: datetime
    duration_s: int
    pageviews: int
    actions: int
    bounce: int
    entry_url: str
    entry_title: str
    exit_url: str
    exit_title: str
    goals: int
    revenue: float
    cookieless: int
    consent_source: int
    browser: str
    os: str
    device: str
    country: str
    channel: str
    referrer_host: str
    referrer_name: str
    campaign_name: str
    campaign_source: str
    campaign_medium: str
    campaign_keyword: str
    campaign_content: str
    dimensions: dict[str, str]
    version: int


Row = PageviewRow | EventRow | PlaybackRow | LedgerRow | VisitRow
#: The table each row type belongs to.
ROW_TABLES: dict[type[Row], str] = {
    PageviewRow: "pageviews",
    EventRow: "events",
    PlaybackRow: "playback",
    LedgerRow: "consent_ledger",
    VisitRow: "visits",
}


def check_rows_match_tables() -> None:
    """Every row type has exactly its table's columns, in order (a new column needs its field)."""
    for row_type, table in ROW_TABLES.items():
        if row_type._fields != TABLES[table].column_names:
            raise TypeError(
                f"{row_type.__name__} fields differ from table {table}: "
                f"{row_type._fields} != {TABLES[table].column_names}"
            )


check_rows_match_tables()
