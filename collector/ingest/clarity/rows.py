"""Rows for ClickHouse from one masked, consented Clarity payload.

One page-view row per payload (ClickHouse merges them by key), one row per analytics event,
and one playback row holding the masked payload for replay (for our beacon, only when the frustration
rules need it: see `keeps_payload`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import orjson

from collector.ingest.attribution import Attribution, classify, hosts_of
from collector.ingest.clarity.wire import Envelope
from collector.ingest.enrich import Device
from ingest_schema import codes as ev
from ingest_schema.hashing import PageViewKeys
from ingest_schema.rows import EventRow, PageviewRow, PlaybackRow


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


#: The two clients of `/collect`, as stored in the `source` columns (the ingest path they are counted under).
CLARITY, BEACON = "clarity", "beacon"
#: Beacon events the dead-click rule reads from stored payloads: clicks, and the beacon's Mutation marker
#: (`[t, 6, 1]` the DOM changed, `[t, 6, 2]` the page view ended, within 1 s of a click).
BEACON_PAYLOAD_EVENTS = frozenset({ev.CLICK, ev.MUTATION})


def element_identity(selector_hashes: str) -> str:
    """One name for an element whichever client clicked it: clarity-js sends "alpha.beta" (hashes of its
    two selectors), our beacon the beta hash alone, computed the same way (docs/beacon.md). Beta is a
    function of the page's structure only (alpha also depends on the order clarity-js discovered nodes),
    so it is the identity; an empty beta falls back to alpha."""
    alpha, _, beta = selector_hashes.rpartition(".")
    return beta or alpha


def keeps_payload(source: str, analytics: list[list[Any]]) -> bool:
    """clarity-js payloads are the recording; a beacon payload is kept only when it holds a click or a DOM
    change marker, which the dead-click rule reads (so a beacon following clarity-js, which sends neither,
    never adds to clarity-js's recording)."""
    return source != BEACON or any(e[1] in BEACON_PAYLOAD_EVENTS for e in analytics)


def _clamp(value: int, low: int, high: int) -> int:
    return max(low, min(high, value))


def _when(ctx: PageContext, page_time: int) -> datetime:
    return datetime.fromtimestamp((ctx.page_start_ms + page_time) / 1000, tz=timezone.utc)


def _pair_value(event: list[Any], key: int | str) -> str:
    """Latest string for `key` in a Dimension/Variable event (key, [values], key, [values], ...)."""
    for index in range(2, len(event) - 1, 2):
        values = event[index + 1]
        if event[index] == key and isinstance(values, list) and values and isinstance(values[-1], str):
            return values[-1]
    return ""


def _metric(event: list[Any], key: int) -> int:
    for index in range(2, len(event) - 1, 2):
        if event[index] == key:
            return _i(event[index + 1])
    return 0


_PAD: list[Any] = [None] * 20
_INT32, _INT64, _UINT32 = 2**31 - 1, 2**63 - 1, 2**32 - 1


def _i(value: Any, high: int = _INT32) -> int:
    """An integer field from client JSON, clamped to the column's range (anything else is 0)."""
    kind = type(value)
    if kind is int:
        return value if -high - 1 <= value <= high else (high if value > 0 else -high - 1)
    if kind is float:
        return _i(int(value), high) if value == value and abs(value) < 1e30 else 0
    return 0


def _s(value: Any) -> str:
    return value if type(value) is str else ""


def page_attribution(url: str, analytics: list[list[Any]], origins: frozenset[str]) -> Attribution:
    """Channel and campaign of a page view: the page URL's campaign parameters and the referrer
    (Dimension 2, in the page's first payload; later payloads classify as direct, which the row's
    max() merge gives way to)."""
    referrer = ""
    for event in analytics:
        if event[1] == ev.DIMENSION:
            referrer = _pair_value(event, ev.DIM_REFERRER) or referrer
    return classify(url, referrer, hosts_of(origins))


@dataclass(frozen=True)
class PayloadRows:
    """What one payload adds: its page view's row (merged by key), its events, its playback."""

    pageview: PageviewRow
    events: list[EventRow]
    playback: PlaybackRow | None


def event_row(ctx: PageContext, event: list[Any], doc: tuple[int, int]) -> EventRow:
    """One analytics event; clicks keep page coordinates and the target hash for heatmaps."""
    kind = event[1]
    f = event if len(event) >= 20 else event + _PAD[: 20 - len(event)]
    x = y = target = 0
    target_hash = tag = text = link = key = value = ""
    num = 0.0
    if kind == ev.CLICK or kind == ev.CONTEXT_MENU:
        target, x, y = _i(f[2], _INT64), _i(f[3]), _i(f[4])
        text, link, target_hash, tag = _s(f[10]), _s(f[11]), element_identity(_s(f[12])), _s(f[17])[:16]
    elif kind == ev.SCROLL:
        target, x, y, target_hash = _i(f[2], _INT64), _i(f[3]), _i(f[4]), element_identity(_s(f[5]))
    elif kind in ev.POINTER_EVENTS:
        target, x, y = _i(f[2], _INT64), _i(f[3]), _i(f[4])
    elif kind == ev.CUSTOM:
        if len(event) > 3:
            key, value = _s(f[2]), _s(f[3])
        else:
            key = _s(f[2])
    elif kind == ev.INPUT:
        target, value = _i(f[2], _INT64), _s(f[3])
    elif kind == ev.CHANGE:
        target, value = _i(f[2], _INT64), _s(f[4])
    elif kind == ev.RESIZE:
        x, y = _i(f[2]), _i(f[3])
    elif kind == ev.CONSENT:
        key, num = str(_i(f[2])), float(_i(f[4]))
    when = datetime.fromtimestamp((ctx.page_start_ms + event[0]) / 1000, tz=timezone.utc)
    keys = ctx.keys
    return EventRow(
        site=ctx.site,
        day=when.date(),
        visitor_hash=keys.visitor_hash,
        session_hash=keys.session_hash,
        page_num=keys.page_num,
        pageview_id=keys.pageview_id,
        ts=when,
        source=ctx.source,
        type=kind,
        name=ev.event_name(kind),
        url=ctx.url,
        x=x,
        y=y,
        target=target,
        target_hash=target_hash,
        target_tag=tag,
        text=text,
        link=link,
        doc_width=min(max(doc[0], 0), _UINT32),
        doc_height=min(max(doc[1], 0), _UINT32),
        key=key,
        value=value,
        num=num,
        data=orjson.dumps(event[2:]).decode(),
    )


def payload_rows(
    ctx: PageContext,
    envelope: Envelope,
    analytics: list[list[Any]],
    playback: list[list[Any]],
    wire_bytes: int,
    masked_payload: bytes,
) -> PayloadRows:
    """The page-view row, the event rows and the playback row of one payload."""
    doc_width = doc_height = screen_w = screen_h = viewport_h = scroll_bottom = clicks = 0
    referrer = title = user_hash = ""
    for event in sorted(analytics + [e for e in playback if e[1] == ev.DOCUMENT], key=lambda e: e[0]):
        kind = event[1]
        if kind == ev.DOCUMENT and len(event) > 3:
            doc_width, doc_height = _i(event[2]), _i(event[3])
        elif kind == ev.BASELINE and len(event) > 8:
            doc_width, doc_height = _i(event[3]) or doc_width, _i(event[4]) or doc_height
            viewport_h = _i(event[6]) or viewport_h
            scroll_bottom = max(scroll_bottom, _i(event[8]) + viewport_h)
        elif kind == ev.RESIZE and len(event) > 3:
            viewport_h = _i(event[3])
        elif kind == ev.SCROLL and len(event) > 4:
            scroll_bottom = max(scroll_bottom, _i(event[4]) + viewport_h)
        elif kind in (ev.CLICK, ev.CONTEXT_MENU):
            clicks += 1
        elif kind == ev.VARIABLE:
            user_hash = _pair_value(event, "userId") or user_hash
        elif kind == ev.DIMENSION:
            referrer = _pair_value(event, ev.DIM_REFERRER) or referrer
            title = _pair_value(event, ev.DIM_TITLE) or title
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
    pageview = PageviewRow(
        site=ctx.site,
        day=day,
        visitor_hash=keys.visitor_hash,
        session_hash=keys.session_hash,
        page_num=keys.page_num,
        pageview_id=keys.pageview_id,
        source=ctx.source,
        started_at=first,
        last_at=last,
        url=ctx.url,
        referrer=referrer,
        title=title,
        browser=ctx.device.browser,
        os=ctx.device.os,
        device=ctx.device.device,
        country=ctx.country,
        screen_width=_clamp(screen_w, 0, 65535),
        screen_height=_clamp(screen_h, 0, 65535),
        doc_height=_clamp(doc_height, 0, _UINT32),
        scroll_bottom=_clamp(scroll_bottom, 0, _UINT32),
        clicks=clicks,
        events=len(analytics) + len(playback),
        payloads=1,
        ended=envelope.end,
        consent_source=ctx.consent_source,
        user_hash=user_hash,
        **ctx.attribution.columns(),
    )
    if not keeps_payload(ctx.source, analytics):
        return PayloadRows(pageview, rows, None)
    playback_row = PlaybackRow(
        site=ctx.site,
        day=day,
        visitor_hash=keys.visitor_hash,
        session_hash=keys.session_hash,
        page_num=keys.page_num,
        pageview_id=keys.pageview_id,
        ts=first,
        sequence=envelope.sequence,
        is_end=envelope.end,
        wire_bytes=wire_bytes,
        payload=masked_payload.decode(),
    )
    return PayloadRows(pageview, rows, playback_row)
