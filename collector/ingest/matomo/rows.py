"""Rows for ClickHouse from one masked, consented Matomo hit: its page view, its events, its visit.

A page view hit starts a `pageviews` row; later hits of that page view add to it (the table merges
rows by key), so time on page and counts grow like Clarity's. Matomo actions are `events` rows with
type codes 1001-1010 (hit.py); the fields they carry map onto the shared columns as documented
in docs/matomo.md. The visit's latest state is one `visits` row (ReplacingMergeTree by version).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from collector.ingest.enrich import Device
from collector.ingest.matomo import SOURCE
from collector.ingest.matomo.hit import (
    CONTENT,
    DOWNLOAD,
    EVENT,
    EVENT_NAMES,
    GOAL,
    OUTLINK,
    PAGEVIEW,
    PERFORMANCE,
    SITE_SEARCH,
)
from collector.ingest.matomo.visits import Page, Visit
from ingest_schema import TABLES

PAGEVIEW_COLUMNS = TABLES["pageviews"].column_names
EVENT_COLUMNS = TABLES["events"].column_names
VISIT_COLUMNS = TABLES["visits"].column_names
COUNTED_EVENTS = frozenset({EVENT, SITE_SEARCH, OUTLINK, DOWNLOAD, CONTENT, GOAL})
UTC = timezone.utc


@dataclass
class StoredHit:
    """One hit as it will be stored: every string already masked, ids already hashed."""

    kind: int
    time_ms: int
    url: str
    referrer: str
    title: str
    category: str
    action: str
    label: str
    number: float
    link: str
    revenue: float
    goal_id: int
    order_id: str
    order: dict[str, Any]
    dimensions: dict[str, str]
    performance: dict[str, int]
    device: Device
    country: str
    screen: tuple[int, int]
    consent_source: int
    user_hash: str


def _at(time_ms: int) -> datetime:
    return datetime.fromtimestamp(time_ms / 1000, UTC)


def pageview_row(hit: StoredHit, visit: Visit, page: Page, starts_page: bool) -> tuple[Any, ...]:
    action = hit.kind != PAGEVIEW and hit.kind in COUNTED_EVENTS
    return (
        visit.site, page.day, page.visitor_hash, visit.session_hash, page.page_num, page.pageview_id, SOURCE,
        _at(page.started_ms if starts_page else max(hit.time_ms, page.started_ms)), _at(hit.time_ms), hit.url,
        hit.referrer if starts_page else "", hit.title if hit.kind == PAGEVIEW else "", hit.device.browser,
        hit.device.os, hit.device.device, hit.country, hit.screen[0], hit.screen[1], 0, 0,
        int(hit.kind in (OUTLINK, DOWNLOAD)), int(action), 1, 0, hit.consent_source, hit.user_hash,
        *visit.attribution.values(),
    )


def _event_fields(hit: StoredHit) -> tuple[str, str, str, str, float, dict[str, Any]]:
    """(key, value, text, link, num, data) of the hit's own action."""
    data: dict[str, Any] = {}
    kind = hit.kind
    if kind in (GOAL,):
        return str(hit.goal_id), "", "", "", hit.revenue, data
    if hit.order:
        data.update(hit.order)
        return hit.order_id, "", "", "", hit.revenue, data
    if kind == CONTENT:
        return hit.category, hit.action, hit.label, hit.link, 0.0, data
    return hit.category, hit.action, hit.label, hit.link, hit.number, data


def event_rows(hit: StoredHit, visit: Visit, page: Page | None, pageview_id: int) -> list[tuple[Any, ...]]:
    """The hit's action (unless it is a page view) and its page-performance timings, if any."""
    when = _at(hit.time_ms)
    visitor = page.visitor_hash if page is not None else visit.visitor_hash
    page_num = page.page_num if page is not None else 0
    head = (visit.site, when.date(), visitor, visit.session_hash, page_num, pageview_id, when, SOURCE)
    rows = []
    if hit.kind != PAGEVIEW:
        key, value, text, link, num, data = _event_fields(hit)
        if hit.kind == CONTENT:
            data["interaction"] = bool(text)
        if hit.dimensions:
            data["dimensions"] = hit.dimensions
        rows.append(head + (
            hit.kind, EVENT_NAMES[hit.kind], hit.url, 0, 0, 0, "", "", text, link, 0, 0, key, value, num,
            orjson.dumps(data).decode(),
        ))
    if hit.performance:
        timings = {name: max(ms, -1) for name, ms in hit.performance.items()}
        total = float(sum(ms for ms in timings.values() if ms > 0))
        rows.append(head + (
            PERFORMANCE, EVENT_NAMES[PERFORMANCE], hit.url, 0, 0, 0, "", "", "", "", 0, 0, "", "", total,
            orjson.dumps(timings).decode(),
        ))
    return rows


def visit_row(visit: Visit) -> tuple[Any, ...]:
    entry, exit_page = visit.entry, visit.exit
    return (
        visit.site, visit.day, visit.session_hash, visit.visitor_hash, visit.user_hash, SOURCE,
        _at(visit.started_ms), _at(visit.last_ms), min(visit.duration_s, 2**32 - 1), visit.pageviews,
        visit.actions, int(visit.bounce), entry.url if entry else "", entry.title if entry else "",
        exit_page.url if exit_page else "", exit_page.title if exit_page else "", visit.goals, visit.revenue,
        int(visit.anonymous_only), visit.consent_source, visit.browser, visit.os, visit.device, visit.country,
        *visit.attribution.values(), dict(visit.dimensions), time.time_ns() // 1000,
    )
