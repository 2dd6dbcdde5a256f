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

from collector.ingest.attribution import Attribution
from collector.ingest.enrich import Device
from collector.ingest.matomo import SOURCE
from collector.ingest.matomo.hit import (
    CONTENT,
    DOWNLOAD,
    ECOMMERCE_ORDER,
    EVENT,
    EVENT_NAMES,
    GOAL,
    OUTLINK,
    PAGEVIEW,
    PERFORMANCE,
    PRODUCT_VIEW,
    SITE_SEARCH,
)
from collector.ingest.matomo.visits import Page, Visit
from ingest_schema.rows import EventRow, PageviewRow, VisitRow

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
    product: dict[str, Any]
    device: Device
    country: str
    screen: tuple[int, int]
    consent_source: int
    user_hash: str


def _at(time_ms: int) -> datetime:
    return datetime.fromtimestamp(time_ms / 1000, UTC)


def pageview_row(hit: StoredHit, visit: Visit, page: Page, starts_page: bool) -> PageviewRow:
    """What this hit adds to its page view's row (rows of one page view merge by key)."""
    action = hit.kind != PAGEVIEW and hit.kind in COUNTED_EVENTS
    return PageviewRow(
        site=visit.site,
        day=page.day,
        visitor_hash=page.visitor_hash,
        session_hash=visit.session_hash,
        page_num=page.page_num,
        pageview_id=page.pageview_id,
        source=SOURCE,
        started_at=_at(page.started_ms if starts_page else max(hit.time_ms, page.started_ms)),
        last_at=_at(hit.time_ms),
        url=hit.url,
        referrer=hit.referrer if starts_page else "",
        title=hit.title if hit.kind == PAGEVIEW else "",
        browser=hit.device.browser,
        os=hit.device.os,
        device=hit.device.device,
        country=hit.country,
        screen_width=hit.screen[0],
        screen_height=hit.screen[1],
        doc_height=0,
        scroll_bottom=0,
        clicks=int(hit.kind in (OUTLINK, DOWNLOAD)),
        events=int(action),
        payloads=1,
        ended=0,
        consent_source=hit.consent_source,
        user_hash=hit.user_hash,
        **visit.attribution.columns(),
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


def _row(
    hit: StoredHit,
    visit: Visit,
    page: Page | None,
    pageview_id: int,
    kind: int,
    url: str,
    text: str,
    link: str,
    key: str,
    value: str,
    num: float,
    data: dict[str, Any],
) -> EventRow:
    """An `events` row of a Matomo action (no coordinates, target or document: those are Clarity's)."""
    when = _at(hit.time_ms)
    return EventRow(
        site=visit.site,
        day=when.date(),
        visitor_hash=page.visitor_hash if page is not None else visit.visitor_hash,
        session_hash=visit.session_hash,
        page_num=page.page_num if page is not None else 0,
        pageview_id=pageview_id,
        ts=when,
        source=SOURCE,
        type=kind,
        name=EVENT_NAMES[kind],
        url=url,
        x=0,
        y=0,
        target=0,
        target_hash="",
        target_tag="",
        text=text,
        link=link,
        doc_width=0,
        doc_height=0,
        key=key,
        value=value,
        num=num,
        data=orjson.dumps(data).decode(),
    )


def event_rows(
    hit: StoredHit, visit: Visit, page: Page | None, pageview_id: int, conversion: Attribution | None = None
) -> list[EventRow]:
    """The hit's action (unless it is a page view, or a goal that did not convert again) and the
    product of a product page view. A goal or order carries the channel it is credited to."""
    rows = []
    if hit.kind != PAGEVIEW and (hit.kind not in (GOAL, ECOMMERCE_ORDER) or conversion is not None):
        key, value, text, link, num, data = _event_fields(hit)
        if hit.kind == CONTENT:
            data["interaction"] = bool(text)
        if hit.dimensions:
            data["dimensions"] = hit.dimensions
        if conversion is not None:
            data["attribution"] = {
                "channel": conversion.channel,
                "referrer_name": conversion.referrer_name or conversion.referrer_host,
                "campaign_name": conversion.campaign_name,
                "campaign_keyword": conversion.campaign_keyword,
            }
        rows.append(_row(hit, visit, page, pageview_id, hit.kind, hit.url, text, link, key, value, num, data))
    if hit.product:
        product = hit.product
        rows.append(
            _row(
                hit,
                visit,
                page,
                pageview_id,
                PRODUCT_VIEW,
                hit.url,
                product["category"],
                "",
                product["sku"],
                product["name"],
                product["price"],
                {},
            )
        )
    return rows


def performance_rows(
    hit: StoredHit, visit: Visit, timings: list[tuple[Page | None, dict[str, int]]], pageview_id: int
) -> list[EventRow]:
    """One row per page view's timings (visits.timings_to_store decides which and when); `num` is the total."""
    rows = []
    for page, found in timings:
        clean = {name: max(ms, -1) for name, ms in found.items()}
        total = float(sum(ms for ms in clean.values() if ms > 0))
        rows.append(
            _row(
                hit,
                visit,
                page,
                page.pageview_id if page is not None else pageview_id,
                PERFORMANCE,
                page.url if page is not None and page.url else hit.url,
                "",
                "",
                "",
                "",
                total,
                clean,
            )
        )
    return rows


def visit_row(visit: Visit) -> VisitRow:
    """The visit's latest state (the table keeps the highest version)."""
    entry, exit_page = visit.entry, visit.exit
    return VisitRow(
        site=visit.site,
        day=visit.day,
        session_hash=visit.session_hash,
        visitor_hash=visit.visitor_hash,
        user_hash=visit.user_hash,
        source=SOURCE,
        started_at=_at(visit.started_ms),
        last_at=_at(visit.last_ms),
        duration_s=min(visit.duration_s, 2**32 - 1),
        pageviews=visit.pageviews,
        actions=visit.actions,
        bounce=int(visit.bounce),
        entry_url=entry.url if entry else "",
        entry_title=entry.title if entry else "",
        exit_url=exit_page.url if exit_page else "",
        exit_title=exit_page.title if exit_page else "",
        goals=visit.goals,
        revenue=visit.revenue,
        cookieless=int(visit.anonymous_only),
        consent_source=visit.consent_source,
        browser=visit.browser,
        os=visit.os,
        device=visit.device,
        country=visit.country,
        **visit.attribution.columns(),
        dimensions=dict(visit.dimensions),
        version=time.time_ns() // 1000,
    )
