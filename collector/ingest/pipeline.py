"""The Clarity ingest pipeline, top to bottom as the product's promise:

decode → site/origin → privacy signals → identify → consent → mask → enrich → buffer.

Each step enriches the payload or drops it with a named reason (a counter, nothing else).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from collector.core.errors import Forbidden
from collector.core.sites import Site, SiteRegistry
from collector.ingest.clarity import events as ev
from collector.ingest.clarity.mask import MaskPolicy, mask_events
from collector.ingest.clarity.rows import (
    EVENT_COLUMNS,
    PAGEVIEW_COLUMNS,
    PLAYBACK_COLUMNS,
    PageContext,
    page_attribution,
    payload_rows,
)
from collector.ingest.clarity.wire import Limits, Payload, parse_payload
from collector.ingest.consent import ConsentGate, ConsentTimeline, Decision
from collector.ingest.enrich import describe_device, is_bot
from collector.ingest.metrics import DropReason, Metrics
from collector.ingest.writer import BatchWriter
from ingest_schema.hashing import Hasher, PageViewKeys

CLARITY = "clarity"
BEACON = "beacon"
BEACON_VERSION_PREFIX = "wa/"


@dataclass(frozen=True)
class RequestInfo:
    """What the pipeline may know about the HTTP request; held in memory only, never stored."""

    origin: str
    user_agent: str
    gpc: bool
    dnt: bool
    received_ms: int
    country: str = ""


@dataclass
class Outcome:
    stored_events: int
    dropped: DropReason | None = None


@dataclass
class IngestServices:
    """Everything the pipeline writes to or reads from, owned by the app."""

    sites: SiteRegistry
    hasher: Hasher
    gate: ConsentGate
    writer: BatchWriter
    metrics: Metrics
    limits: Limits
    max_string_chars: int
    drop_bots: bool = True
    policies: dict[str, MaskPolicy] = field(default_factory=dict)

    def mask_policy(self, site: Site) -> MaskPolicy:
        """One policy per site, kept so its memo of masked strings is reused across payloads."""
        policy = self.policies.get(site.id)
        if policy is None:
            policy = self.policies[site.id] = MaskPolicy(
                site.masking, site.sensitive_params, self.max_string_chars, self.hasher, site.id
            )
        return policy


def ingest_path(payload: Payload) -> str:
    """clarity-js, or our own beacon (which speaks the same format under its own version)."""
    return BEACON if payload.envelope.version.startswith(BEACON_VERSION_PREFIX) else CLARITY


def site_for_payload(sites: SiteRegistry, payload: Payload, origin: str) -> Site:
    """Step 2: the envelope's projectId names the site; a browser origin must be on its list."""
    site = sites.get(payload.envelope.project_id)
    if site is None:
        raise Forbidden("unknown site")
    if origin and origin != "null" and not site.allows_origin(origin):
        raise Forbidden("origin not allowed for this site")
    return site


def privacy_signal(site: Site, request: RequestInfo) -> DropReason | None:
    """Step 3: Global Privacy Control always refuses storage; Do Not Track unless the site opts out."""
    if request.gpc:
        return DropReason.GPC
    if request.dnt and site.honour_dnt:
        return DropReason.DNT
    return None


#: A category name a site's consent banner may add (our beacon's trailing Consent fields).
_CATEGORY_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")
_BUILT_IN_CATEGORIES = frozenset({"necessary", "analytics", "marketing"})


def consent_categories(event: list[Any]) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(granted, denied) from our beacon's optional trailing lists on Consent 47, for the ledger;
    ((), ()) for clarity-js. The built-in categories always follow the event's own two flags, and
    only plain names (at most 16 a list) are kept: the lists come from the client."""
    if len(event) < 7 or not isinstance(event[5], list) or not isinstance(event[6], list):
        return (), ()

    def extra(values: list[Any]) -> tuple[str, ...]:
        names = (v for v in values[:16] if isinstance(v, str) and _CATEGORY_NAME.fullmatch(v))
        return tuple(dict.fromkeys(n for n in names if n not in _BUILT_IN_CATEGORIES))

    analytics, ad = event[4] == 1, event[3] == 1
    granted_extra = extra(event[5])
    denied_extra = tuple(n for n in extra(event[6]) if n not in granted_extra)
    granted = ("necessary",) + (("analytics",) if analytics else ()) + (("marketing",) if ad else ()) + granted_extra
    denied = (() if analytics else ("analytics",)) + (() if ad else ("marketing",)) + denied_extra
    return granted, denied


def _consent_decision(event: list[Any]) -> Decision:
    granted, denied = consent_categories(event)
    return Decision(
        page_time=event[0], source=int(event[2]), ad=event[3] == 1, analytics=event[4] == 1,
        categories_granted=granted, categories_denied=denied,
    )


def consent_decisions(payload: Payload) -> list[Decision]:
    """Consent events (47) in time order; pre-0.8.15 clients only have Dimension 36 = "2"."""
    found = [
        _consent_decision(e)
        for e in payload.analytics
        if e[1] == ev.CONSENT and len(e) >= 5 and all(isinstance(v, int) and not isinstance(v, bool) for v in e[2:5])
    ]
    if not found and _older_than(payload.envelope.version, (0, 8, 15)):
        for e in payload.analytics:
            if e[1] == ev.DIMENSION and ev.DIM_CONSENT in e[2::2]:
                values = e[e.index(ev.DIM_CONSENT, 2) + 1]
                if isinstance(values, list) and "2" in values:
                    found.append(Decision(page_time=e[0], source=1, ad=False, analytics=True))
    found.sort(key=lambda d: d.page_time)
    if found and payload.envelope.sequence == 1:
        # the first Consent event of a page view is the state at its start: it covers time 0 on
        found[0] = replace(found[0], page_time=0)
    return found


def _older_than(version: str, target: tuple[int, int, int]) -> bool:
    try:
        parts = tuple(int(p) for p in version.split(".")[:3])
    except ValueError:
        return False
    return parts < target


async def apply_consent(
    services: IngestServices, site: Site, keys: PageViewKeys, payload: Payload
) -> tuple[ConsentTimeline, int]:
    """Step 5: update the page view's consent timeline from this payload; returns it and the source."""
    gate = services.gate
    timeline = await gate.timeline(site, keys, first_payload=payload.envelope.sequence == 1)
    source = 0
    for decision in consent_decisions(payload):
        verdict = gate.verdict(site, decision, timeline)
        if decision.analytics and decision.source == 6 and verdict == "ignore" and not timeline.consented_now:
            if await gate.recent_explicit_grant(site, keys.visitor_hash):
                verdict = "grant"
            else:
                services.metrics.drop(DropReason.COOKIE_CONSENT_EXPIRED)
        services.metrics.consent_decisions.labels(verdict, str(decision.source)).inc()
        gate.record(site, keys, decision, verdict, timeline, ingest_path(payload))
        if verdict == "grant":
            source = decision.source
    return timeline, source


def _masked_envelope(payload: Payload, keys: PageViewKeys, url: str, policy: MaskPolicy) -> list[Any]:
    """The envelope as stored for replay: client ids replaced by their keyed hashes, the version
    (client text like any other) masked."""
    e = payload.envelope
    return [
        policy.free(e.version), e.sequence, e.start, e.duration, e.project_id, format(keys.visitor_hash, "x"),
        format(keys.session_hash, "x"), e.page_num, e.upload, e.end, e.platform, url,
    ]


async def ingest_clarity(services: IngestServices, body: bytes, request: RequestInfo) -> Outcome:
    metrics = services.metrics
    payload = parse_payload(body, services.limits)
    site = site_for_payload(services.sites, payload, request.origin)
    refused = privacy_signal(site, request)
    if refused is not None:
        metrics.drop(refused)
        return Outcome(0, refused)
    if services.drop_bots and is_bot(request.user_agent):
        metrics.drop(DropReason.BOT)
        return Outcome(0, DropReason.BOT)
    envelope = payload.envelope
    keys = services.hasher.keys(site.id, envelope.user_id, envelope.session_id, envelope.page_num)
    timeline, source = await apply_consent(services, site, keys, payload)
    analytics = [e for e in payload.analytics if timeline.allowed(e[0])]
    playback = [e for e in payload.playback if timeline.allowed(e[0])]
    first_grant = timeline.first_grant
    dropped_times = [e[0] for e in payload.analytics + payload.playback if not timeline.allowed(e[0])]
    withdrawn = sum(1 for t in dropped_times if first_grant is not None and t >= first_grant)
    if withdrawn:
        metrics.drop(DropReason.WITHDRAWN, unit="event", count=withdrawn)
    if len(dropped_times) > withdrawn:
        metrics.drop(DropReason.NO_CONSENT, unit="event", count=len(dropped_times) - withdrawn)
    if not analytics and not playback:
        reason = DropReason.WITHDRAWN if timeline.ever_consented else DropReason.NO_CONSENT
        metrics.drop(reason)
        return Outcome(0, reason)

    policy = services.mask_policy(site)
    analytics = mask_events(analytics, policy)
    playback = mask_events(playback, policy)
    url = policy.page_url(envelope.url)

    page_start_ms = services.gate.page_start(keys.pageview_id, request.received_ms - envelope.start - envelope.duration)
    ctx = PageContext(
        site=site.id, source=ingest_path(payload), keys=keys, page_start_ms=page_start_ms, url=url,
        device=describe_device(request.user_agent), country=request.country,
        consent_source=source or timeline.grant_source,
        attribution=page_attribution(url, analytics, site.origins),
    )
    stored = orjson.dumps({"e": _masked_envelope(payload, keys, url, policy), "a": analytics, "p": playback})
    pageview, event_rows, playback_row = payload_rows(ctx, envelope, analytics, playback, payload.wire_bytes, stored)
    writer = services.writer
    writer.add("pageviews", PAGEVIEW_COLUMNS, [pageview])
    writer.add("events", EVENT_COLUMNS, event_rows)
    if playback_row is not None:
        writer.add("playback", PLAYBACK_COLUMNS, [playback_row])
    metrics.events_accepted.labels(ingest_path(payload)).inc(len(analytics) + len(playback))
    return Outcome(len(analytics) + len(playback))


def now_ms() -> int:
    return int(time.time() * 1000)
