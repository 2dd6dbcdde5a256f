"""The `/collect` pipeline (clarity-js and our beacon), top to bottom as the product's promise:

decode → site/origin → privacy signals → bots → identify → consent → mask → enrich → rows → spool.

Each step enriches the upload's state or drops it with a named reason (collector.ingest.steps).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import orjson

from collector.core.errors import Forbidden
from collector.core.sites import Site
from collector.ingest.clarity.consent import apply_consent
from collector.ingest.clarity.mask import mask_events
from collector.ingest.clarity.rows import BEACON, CLARITY, PageContext, PayloadRows, page_attribution, payload_rows
from collector.ingest.clarity.wire import Limits, Payload, parse_payload
from collector.ingest.consent import ConsentTimeline
from collector.ingest.enrich import describe_device, is_bot
from collector.ingest.metrics import DropReason
from collector.ingest.policy import MaskPolicy
from collector.ingest.request import IngestRequest, privacy_signal, site_with_origin
from collector.ingest.services import IngestServices
from collector.ingest.steps import Drop, Step, Steps
from ingest_schema.hashing import PageViewKeys

BEACON_VERSION_PREFIX = "wa/"
PATH = "collect"
#: Keyed hashes of the ids of this many recent page views are kept in memory (about 2 MB), not recomputed.
PAGE_VIEW_KEYS_MEMO = 4096


@dataclass
class ClarityUpload:
    """One upload on its way through the steps; each step fills the fields after it."""

    body: bytes
    request: IngestRequest
    payload: Payload = field(init=False)
    path: str = field(init=False)  # clarity or beacon: the ingest path it is counted under
    site: Site = field(init=False)
    keys: PageViewKeys = field(init=False)
    timeline: ConsentTimeline = field(init=False)
    source: int = field(init=False)
    analytics: list[list[Any]] = field(init=False)
    playback: list[list[Any]] = field(init=False)
    policy: MaskPolicy = field(init=False)
    url: str = field(init=False)
    rows: PayloadRows = field(init=False)


def ingest_path(payload: Payload) -> str:
    """clarity-js, or our own beacon (which speaks the same format under its own version)."""
    return BEACON if payload.envelope.version.startswith(BEACON_VERSION_PREFIX) else CLARITY


def _masked_envelope(payload: Payload, keys: PageViewKeys, url: str, policy: MaskPolicy) -> list[Any]:
    """The envelope as stored for replay: client ids replaced by their keyed hashes, the version
    (client text like any other) masked."""
    e = payload.envelope
    return [
        policy.free(e.version),
        e.sequence,
        e.start,
        e.duration,
        e.project_id,
        format(keys.visitor_hash, "x"),
        format(keys.session_hash, "x"),
        e.page_num,
        e.upload,
        e.end,
        e.platform,
        url,
    ]


def collect_steps(services: IngestServices, limits: Limits) -> Steps[ClarityUpload]:
    """The steps of one `/collect` upload, bound to the app's services and the wire limits."""
    metrics = services.metrics
    accepted = {path: metrics.events_accepted.labels(path) for path in (CLARITY, BEACON)}  # labels() is slow

    def decode(up: ClarityUpload) -> None:
        up.payload = parse_payload(up.body, limits)
        up.path = ingest_path(up.payload)

    def site(up: ClarityUpload) -> None:
        named = services.sites.get(up.payload.envelope.project_id)
        up.site = site_with_origin(named, up.request.origin, Forbidden("unknown site"))

    def privacy(up: ClarityUpload) -> None:
        refused = privacy_signal(up.site, up.request)
        if refused is not None:
            raise Drop(refused)

    def bots(up: ClarityUpload) -> None:
        if services.drop_bots and is_bot(up.request.user_agent):
            raise Drop(DropReason.BOT)

    # a page view's uploads (several per page) hash the same ids: its keys are kept for recent page views
    page_view_keys = lru_cache(maxsize=PAGE_VIEW_KEYS_MEMO)(services.hasher.keys)

    def identify(up: ClarityUpload) -> None:
        envelope = up.payload.envelope
        up.keys = page_view_keys(up.site.id, envelope.user_id, envelope.session_id, envelope.page_num)

    async def consent(up: ClarityUpload) -> None:
        """Only events at page times the timeline allows go on; the rest are counted, never kept."""
        up.timeline, up.source = await apply_consent(services, up.site, up.keys, up.payload, up.path)
        timeline, payload = up.timeline, up.payload
        if timeline.allowed(0) and all(timeline.states):
            # consented from the page's start and never withdrawn: every event (page time >= 0) is kept
            up.analytics, up.playback = payload.analytics, payload.playback
            return
        up.analytics = [e for e in payload.analytics if timeline.allowed(e[0])]
        up.playback = [e for e in payload.playback if timeline.allowed(e[0])]
        dropped_times = [e[0] for e in payload.analytics + payload.playback if not timeline.allowed(e[0])]
        first_grant = timeline.first_grant
        withdrawn = sum(1 for t in dropped_times if first_grant is not None and t >= first_grant)
        if withdrawn:
            metrics.drop(DropReason.WITHDRAWN, unit="event", count=withdrawn)
        if len(dropped_times) > withdrawn:
            metrics.drop(DropReason.NO_CONSENT, unit="event", count=len(dropped_times) - withdrawn)
        if not up.analytics and not up.playback:
            raise Drop(DropReason.WITHDRAWN if timeline.ever_consented else DropReason.NO_CONSENT)

    def mask(up: ClarityUpload) -> None:
        up.policy = services.mask_policy(up.site)
        up.analytics = mask_events(up.analytics, up.policy)
        up.playback = mask_events(up.playback, up.policy)
        up.url = up.policy.page_url(up.payload.envelope.url)

    def rows(up: ClarityUpload) -> None:
        """Enrich (device, country, attribution, the page's server-clock start) and build the rows."""
        envelope, request = up.payload.envelope, up.request
        page_start_ms = services.gate.page_start(
            up.keys.pageview_id, request.received_ms - envelope.start - envelope.duration
        )
        ctx = PageContext(
            site=up.site.id,
            source=up.path,
            keys=up.keys,
            page_start_ms=page_start_ms,
            url=up.url,
            device=describe_device(request.user_agent),
            country=request.country,
            consent_source=up.source or up.timeline.grant_source,
            attribution=page_attribution(up.url, up.analytics, up.site.origins),
        )
        stored = orjson.dumps(
            {
                "e": _masked_envelope(up.payload, up.keys, up.url, up.policy),
                "a": up.analytics,
                "p": up.playback,
            }
        )
        up.rows = payload_rows(ctx, envelope, up.analytics, up.playback, up.payload.wire_bytes, stored)

    def spool(up: ClarityUpload) -> None:
        writer = services.writer
        writer.add([up.rows.pageview])
        writer.add(up.rows.events)
        if up.rows.playback is not None:
            writer.add([up.rows.playback])
        accepted[up.path].inc(len(up.analytics) + len(up.playback))

    return Steps(
        PATH,
        [
            Step("decode", decode),
            Step("site", site),
            Step("privacy", privacy),
            Step("bots", bots),
            Step("identify", identify),
            Step("consent", consent),
            Step("mask", mask),
            Step("rows", rows),
            Step("spool", spool),
        ],
        metrics,
    )
