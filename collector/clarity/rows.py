"""Rows for ClickHouse from one masked, consented Clarity payload.

One page-view row per payload (ClickHouse merges them by key), one row per analytics event,
and one playback row holding the masked payload for replay.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from ingest_schema import TABLES

from ..attribution import Attribution
from ..enrich import Device
from ..identity import PageViewKeys
from . import events as ev
from .wire import Envelope

PAGEVIEW_COLUMNS = TABLES["pageviews"].column_names
EVENT_COLUMNS = TABLES["events"].column_names
PLAYBACK_COLUMNS = tuple(c for c in TABLES["playback"].column_names if c != "keep")


@dataclass
class PageContext:
    """What the rows of one payload share."""

    site: str
    source: str
    keys: PageViewKeys
    page_start_ms: int
    url: str
    device: Device
    country: str
    consent_source: int
    attribution: Attribution = Attribution()


def _int(value: Any, default: int = 0) -> int:
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, (int, float)):
        return int(value)
    return default


def _str(value: Any) -> str:
    return value if isinstance(value, str) else "" if value is None else str(value)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _when(ctx: PageContext, page_time: int) -> datetime:
    return datetime.fromtimestamp((ctx.page_start_ms + page_time) / 1000, tz=timezone.utc)


def _dimension(event: list[Any], key: int) -> str:
    for index in range(2, len(event) - 1, 2):
        values = event[index + 1]
        if event[index] == key and isinstance(values, list) and values and isinstance(values[-1], str):
            return values[-1]
    return ""


def _variable(event: list[Any], name: str) -> str:
    for index in range(2, len(event) - 1, 2):
        values = event[index + 1]
        if event[index] == name and isinstance(values, list) and values and isinstance(values[-1], str):
            return values[-1]
    return ""


def _metric(event: list[Any], key: int) -> int:
    for index in range(2, len(event) - 1, 2):
        if event[index] == key:
            return _int(event[index + 1])
    return 0


def event_row(ctx: PageContext, event: list[Any], doc: tuple[int, int]) -> tuple[Any, ...]:
    """One analytics event; clicks keep page coordinates and the target hash for heatmaps."""
    kind = event[1]
    x = y = target = 0
    target_hash = tag = text = link = key = value = ""
    num = 0.0
    data = event[2:]
    if kind in (ev.CLICK, ev.CONTEXT_MENU):
        target, x, y = _int(event[2] if len(event) > 2 else 0), _int(event[3] if len(event) > 3 else 0), _int(
            event[4] if len(event) > 4 else 0
        )
        text = _str(event[10]) if len(event) > 10 else ""
        link = _str(event[11]) if len(event) > 11 else ""
        target_hash = _str(event[12]) if len(event) > 12 else ""
        tag = _str(event[17])[:16] if len(event) > 17 else ""
    elif kind == ev.SCROLL:
        target = _int(event[2] if len(event) > 2 else 0)
        x, y = _int(event[3] if len(event) > 3 else 0), _int(event[4] if len(event) > 4 else 0)
        target_hash = _str(event[5]) if len(event) > 5 else ""
    elif kind in ev.POINTER_EVENTS:
        target = _int(event[2] if len(event) > 2 else 0)
        x, y = _int(event[3] if len(event) > 3 else 0), _int(event[4] if len(event) > 4 else 0)
    elif kind == ev.CUSTOM:
        if len(event) > 3:
            key, value = _str(event[2]), _str(event[3])
        elif len(event) > 2:
            key = _str(event[2])
    elif kind == ev.INPUT or kind == ev.CHANGE:
        target = _int(event[2] if len(event) > 2 else 0)
        value = _str(event[3] if kind == ev.INPUT else (event[4] if len(event) > 4 else ""))
    elif kind == ev.RESIZE:
        x, y = _int(event[2] if len(event) > 2 else 0), _int(event[3] if len(event) > 3 else 0)
    elif kind == ev.CONSENT:
        key, num = str(_int(event[2] if len(event) > 2 else 0)), float(_int(event[4] if len(event) > 4 else 0))
    elif kind == ev.METRIC or kind == ev.DIMENSION or kind == ev.VARIABLE:
        pass
    return (
        ctx.site, _when(ctx, event[0]).date(), ctx.keys.visitor_hash, ctx.keys.session_hash, ctx.keys.page_num,
        ctx.keys.pageview_id, _when(ctx, event[0]), ctx.source, kind, ev.event_name(kind), ctx.url,
        _clamp(x, -(2**31), 2**31 - 1), _clamp(y, -(2**31), 2**31 - 1), _clamp(target, -(2**63), 2**63 - 1),
        target_hash, tag, text, link, _clamp(doc[0], 0, 2**32 - 1), _clamp(doc[1], 0, 2**32 - 1), key, value, num,
        orjson.dumps(data).decode(),
    )


def payload_rows(
    ctx: PageContext, envelope: Envelope, analytics: list[list[Any]], playback: list[list[Any]], wire_bytes: int,
    masked_payload: bytes,
) -> tuple[tuple[Any, ...], list[tuple[Any, ...]], tuple[Any, ...] | None]:
    """(page-view row, event rows, playback row) for one payload."""
    doc_width = doc_height = screen_w = screen_h = viewport_h = scroll_bottom = clicks = 0
    referrer = title = user_hash = ""
    for event in sorted(analytics + [e for e in playback if e[1] == ev.DOCUMENT], key=lambda e: e[0]):
        kind = event[1]
        if kind == ev.DOCUMENT and len(event) > 3:
            doc_width, doc_height = _int(event[2]), _int(event[3])
        elif kind == ev.BASELINE and len(event) > 8:
            doc_width, doc_height = _int(event[3]) or doc_width, _int(event[4]) or doc_height
            viewport_h = _int(event[6]) or viewport_h
            scroll_bottom = max(scroll_bottom, _int(event[8]) + viewport_h)
        elif kind == ev.RESIZE and len(event) > 3:
            viewport_h = _int(event[3])
        elif kind == ev.SCROLL and len(event) > 4:
            scroll_bottom = max(scroll_bottom, _int(event[4]) + viewport_h)
        elif kind in (ev.CLICK, ev.CONTEXT_MENU):
            clicks += 1
        elif kind == ev.VARIABLE:
            user_hash = _variable(event, "userId") or user_hash
        elif kind == ev.DIMENSION:
            referrer = _dimension(event, ev.DIM_REFERRER) or referrer
            title = _dimension(event, ev.DIM_TITLE) or title
        elif kind == ev.METRIC:
            screen_w = _metric(event, ev.METRIC_SCREEN_WIDTH) or screen_w
            screen_h = _metric(event, ev.METRIC_SCREEN_HEIGHT) or screen_h
    rows = []
    current_doc = (doc_width, doc_height)
    for event in analytics:
        rows.append(event_row(ctx, event, current_doc))
    times = [e[0] for e in analytics + playback] or [envelope.start]
    first, last = _when(ctx, min(times)), _when(ctx, max(max(times), envelope.start + envelope.duration))
    day = _when(ctx, 0).date()
    keys = ctx.keys
    pageview = (
        ctx.site, day, keys.visitor_hash, keys.session_hash, keys.page_num, keys.pageview_id, ctx.source, first,
        last, ctx.url, referrer, title, ctx.device.browser, ctx.device.os, ctx.device.device, ctx.country,
        _clamp(screen_w, 0, 65535), _clamp(screen_h, 0, 65535), _clamp(doc_height, 0, 2**32 - 1),
        _clamp(scroll_bottom, 0, 2**32 - 1), clicks, len(analytics) + len(playback), 1, envelope.end,
        ctx.consent_source, user_hash, *ctx.attribution.values(),
    )
    playback_row = (
        ctx.site, day, keys.visitor_hash, keys.session_hash, keys.page_num, keys.pageview_id, first,
        envelope.sequence, envelope.end, wire_bytes, masked_payload.decode(),
    )
    return pageview, rows, playback_row
