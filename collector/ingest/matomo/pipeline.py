"""The Matomo ingest pipeline, top to bottom as the product's promise:

read → site/origin → exclusions (rec, privacy signals, prefetch, bots) → consent → identify →
enrich (device, country) → mask → attribute → sessionize → buffer.

Each step enriches the hit or drops it with a named reason (a counter, nothing else). A dropped
hit is answered like a stored one (as Matomo answers excluded visits); an invalid one gets 400.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

from collector.core.errors import Forbidden
from collector.core.sites import Site
from collector.ingest.attribution import Attribution, campaign_params, classify, conversion_attribution, hosts_of
from collector.ingest.clarity.mask import MaskPolicy
from collector.ingest.enrich import Device, is_bot
from collector.ingest.geo import CountryLookup
from collector.ingest.masking import clean_url, mask_strings_deep
from collector.ingest.matomo import SOURCE
from collector.ingest.matomo.consent import SOURCE_REMEMBERED, MatomoConsent, Verdict
from collector.ingest.matomo.device import describe_hit_device
from collector.ingest.matomo.hit import ECOMMERCE_ORDER, GOAL, OTHER, SITE_SEARCH, Hit, InvalidHit, read_hit
from collector.ingest.matomo.orders import OrderClaims
from collector.ingest.matomo.rows import (
    EVENT_COLUMNS,
    PAGEVIEW_COLUMNS,
    VISIT_COLUMNS,
    StoredHit,
    event_rows,
    pageview_row,
    performance_rows,
    visit_row,
)
from collector.ingest.matomo.salts import SaltStore
from collector.ingest.matomo.visits import (
    Arrival,
    Sessionizer,
    Visit,
    goal_converts,
    local_day,
    page_for,
    record_hit,
    timings_to_store,
)
from collector.ingest.matomo.wire import Params
from collector.ingest.metrics import DropReason
from collector.ingest.pipeline import IngestServices, RequestInfo, privacy_signal
from ingest_schema.hashing import PageViewKeys, matomo_visitor_hash, user_id_hash


@dataclass(frozen=True)
class MatomoRequest:
    """What the pipeline may know about the HTTP request; held in memory only, never stored."""

    info: RequestInfo
    ip: str
    referer: str
    prefetch: bool


@dataclass
class MatomoServices:
    """The Matomo path's own state, beside the ingest services it shares with Clarity."""

    ingest: IngestServices
    salts: SaltStore
    sessions: Sessionizer
    orders: OrderClaims
    consent: MatomoConsent
    geo: CountryLookup
    token_auth: str
    max_hits: int
    hosts: dict[str, frozenset[str]] = field(default_factory=dict)

    def site_hosts(self, site: Site) -> frozenset[str]:
        hosts = self.hosts.get(site.id)
        if hosts is None:
            hosts = self.hosts[site.id] = hosts_of(site.origins)
        return hosts


@dataclass(frozen=True)
class Identity:
    visitor_hash: int
    identified: bool
    fingerprint: int
    user_hash: str


def site_for_hit(services: MatomoServices, hit: Hit, origin: str) -> Site:
    """Step 2: `idsite` names the site (unknown: Matomo's 400); a browser origin must be on its list."""
    site = services.ingest.sites.by_matomo_id(hit.idsite)
    if site is None:
        raise InvalidHit("unknown idsite")
    if origin and origin != "null" and not site.allows_origin(origin):
        raise Forbidden("origin not allowed for this site")
    return site


def exclusion(services: MatomoServices, site: Site, hit: Hit, request: MatomoRequest) -> DropReason | None:
    """Step 3: what Matomo excludes (no `rec`, prefetches, bots) and what our policy refuses (GPC, DNT).

    An empty user agent is allowed here: server-side trackers (the matomo-tracker npm client) send none.
    """
    if not hit.record or request.prefetch or hit.kind == OTHER:
        return DropReason.EXCLUDED
    refused = privacy_signal(site, request.info)
    if refused is not None:
        return refused
    if services.ingest.drop_bots and hit.user_agent and is_bot(hit.user_agent):
        return DropReason.BOT
    return None


async def consent_for_hit(services: MatomoServices, site: Site, hit: Hit) -> Verdict | None:
    """Step 4: the site's consent mode decides (collector/matomo/consent.py); None means drop."""
    verdict = services.consent.immediate(site, hit.consent)
    if verdict is not None:
        return verdict
    if hit.visitor_id:
        visitor = matomo_visitor_hash(services.ingest.hasher, site.id, hit.visitor_id)
        if await services.consent.remembered(site, visitor):
            return Verdict(store=True, source=SOURCE_REMEMBERED)
    if site.matomo_consent == "cookieless":
        return Verdict(store=True, source=0, anonymous=True)
    return None


async def identify(services: MatomoServices, site: Site, hit: Hit, request: MatomoRequest, verdict: Verdict,
                   ) -> Identity:
    """Step 5: a Matomo visitor id as its keyed hash; without one (or anonymous-only), the keyed hash of
    the day's salt, site, IP and user agent. The IP and UA are used here, in memory, and dropped."""
    hasher = services.ingest.hasher
    today = local_day(request.info.received_ms, site.timezone)
    salt = await services.salts.salt(site.id, max(local_day(hit.time_ms, site.timezone), today - timedelta(days=1)))
    fingerprint = hasher.h64("cookieless", salt, site.id, hit.ip or request.ip, hit.user_agent)
    if verdict.anonymous:
        return Identity(fingerprint, False, fingerprint, "")
    user_hash = user_id_hash(hasher, site.id, hit.user_id) if hit.user_id else ""
    if not hit.visitor_id:
        return Identity(fingerprint, False, fingerprint, user_hash)
    return Identity(matomo_visitor_hash(hasher, site.id, hit.visitor_id), True, fingerprint, user_hash)


#: Hit fields that never reach a row or the spool: ids and request facts used in memory (hashed,
#: parsed, looked up) and dropped. Every other field is client text and is masked.
UNSTORED_FIELDS = frozenset({"visitor_id", "user_id", "user_agent", "client_hints", "ip", "pv_id", "country"})


def _field_masks(policy: MaskPolicy, hit: Hit) -> dict[str, Callable[[str], str]]:
    """Fields with a meaning of their own; any other string field is free text."""
    return {
        "url": policy.page_url, "referrer": policy.page_url, "link": policy.url,
        "title": policy.title, "label": policy.text if hit.kind == SITE_SEARCH else policy.free,
    }


def _dimension_key(policy: MaskPolicy) -> Callable[[str], str]:
    """`cvar.<scope>.<name>`: the name is client text, the prefix ours (masked whole, an e-mail-shaped
    name would swallow it); a custom dimension's number stays as it is."""
    def mask(key: str) -> str:
        parts = key.split(".", 2)
        if len(parts) == 3 and parts[0] == "cvar":
            return f"cvar.{parts[1]}.{policy.free(parts[2])}"
        return policy.free(key)

    return mask


def mask_hit(policy: MaskPolicy, hit: Hit) -> Hit:
    """A copy of the hit with every client string masked, whatever field it is in and however deep
    (names of custom variables and dimensions, e-commerce items, ...): structural, so a field
    added to `Hit` later is masked without anyone listing it here."""
    special = _field_masks(policy, hit)
    changes: dict[str, Any] = {}
    for spec in dataclasses.fields(hit):
        if spec.name in UNSTORED_FIELDS:
            continue
        value = getattr(hit, spec.name)
        if isinstance(value, str):
            changes[spec.name] = special.get(spec.name, policy.free)(value)
        elif isinstance(value, (dict, list, tuple)):
            changes[spec.name] = mask_strings_deep(value, policy.free, _dimension_key(policy))
    return dataclasses.replace(hit, **changes)


def masked_hit(services: MatomoServices, site: Site, hit: Hit, device: Device, country: str, source: int,
               user_hash: str) -> StoredHit:
    """Step 7: every string the client sent goes through the site's masking policy (mask_hit)."""
    hit = mask_hit(services.ingest.mask_policy(site), hit)
    return StoredHit(
        kind=hit.kind, time_ms=hit.time_ms, url=hit.url,
        referrer=clean_url(hit.referrer, site.sensitive_params, drop_query=True),
        title=hit.title, category=hit.category, action=hit.action, label=hit.label, number=hit.number,
        link=hit.link, revenue=hit.revenue, goal_id=hit.goal_id, order_id=hit.order_id, order=hit.order,
        dimensions=hit.dimensions, performance=hit.performance, product=hit.product, device=device,
        country=country, screen=hit.screen, consent_source=source, user_hash=user_hash,
    )


def credited(services: MatomoServices, site: Site, hit: Hit, visit: Visit, anonymous: bool) -> Attribution | None:
    """The channel a goal conversion or order is credited to (None for other hits): the campaign or
    referrer matomo.js remembered (`_rcn`/`_rck`, `_ref`), else the visit's own; never a remembered
    one for an anonymous-only hit."""
    if hit.kind not in (GOAL, ECOMMERCE_ORDER):
        return None
    if anonymous:
        return visit.attribution
    return conversion_attribution(visit.attribution, hit.campaign_name, hit.campaign_keyword,
                                  hit.attribution_referrer, services.site_hosts(site))


def _update_visit(visit: Visit, stored: StoredHit, dimensions: dict[str, str]) -> None:
    visit.consent_source = max(visit.consent_source, stored.consent_source)
    visit.user_hash = stored.user_hash or visit.user_hash
    device = stored.device
    visit.browser, visit.os, visit.device = device.browser or visit.browser, device.os or visit.os, device.device
    visit.country = stored.country or visit.country
    visit.dimensions.update(dimensions)


async def ingest_hit(services: MatomoServices, params: Params, request: MatomoRequest) -> DropReason | None:
    """Store one hit (or drop it, counted); raises InvalidHit or Forbidden for what Matomo refuses."""
    metrics = services.ingest.metrics
    info = request.info
    hit = read_hit(params, info.received_ms, info.user_agent, request.referer, services.token_auth)
    site = site_for_hit(services, hit, info.origin)
    excluded = exclusion(services, site, hit, request)
    if excluded is not None:
        metrics.drop(excluded)
        return excluded
    verdict = await consent_for_hit(services, site, hit)
    if verdict is None:
        metrics.drop(DropReason.NO_CONSENT)
        return DropReason.NO_CONSENT
    who = await identify(services, site, hit, request, verdict)

    device = describe_hit_device(hit.user_agent, hit.client_hints)
    country = hit.country or services.geo.country(hit.ip or request.ip)
    stored = masked_hit(services, site, hit, device, country, verdict.source, who.user_hash)
    if hit.kind == ECOMMERCE_ORDER and not await services.orders.claim(site.id, hit.order_id):
        raise InvalidHit(f"non-unique idsite/idorder combination ({hit.idsite}, {stored.order_id})")
    attribution: Attribution = classify(stored.url, hit.referrer, services.site_hosts(site))

    in_url = campaign_params(stored.url)
    arrival = Arrival(hit.time_ms, who.visitor_hash, who.identified, who.fingerprint, attribution, hit.new_visit,
                      site.timezone, anonymous_only=verdict.anonymous,
                      url_campaign=(in_url.get("name", ""), in_url.get("keyword", "")))
    visit = await services.sessions.visit_for(site.id, arrival)
    page, starts_page = page_for(services.ingest.hasher, visit, hit.kind, hit.pv_id, hit.time_ms)
    if page is not None and starts_page:
        page.url, page.title = stored.url, stored.title
    _update_visit(visit, stored, stored.dimensions)
    converts = hit.kind != GOAL or goal_converts(visit, hit.goal_id, site.matomo_goals_allow_multiple)
    conversion = credited(services, site, hit, visit, verdict.anonymous) if converts else None
    record_hit(visit, hit.kind, hit.time_ms, page, stored.revenue if hit.kind in (GOAL, ECOMMERCE_ORDER) else 0.0,
               converts, hit.goal_id)

    pageview_id = page.pageview_id if page is not None else (
        services.ingest.hasher.h64("pageview", site.id, SOURCE, str(visit.session_hash), hit.pv_id) if hit.pv_id
        else 0
    )
    if verdict.needs_ledger and (pageview_id, visit.visitor_hash) not in visit.ledgered:
        visit.ledgered.add((pageview_id, visit.visitor_hash))  # one ledger row per page view and visitor hash
        keys = PageViewKeys(visit.visitor_hash, visit.session_hash, pageview_id, page.page_num if page else 0)
        services.consent.record_grant(site, keys, verdict.source)
    writer = services.ingest.writer
    if page is not None:
        writer.add("pageviews", PAGEVIEW_COLUMNS, [pageview_row(stored, visit, page, starts_page)])
    events = event_rows(stored, visit, page, pageview_id, conversion)
    events += performance_rows(stored, visit, timings_to_store(visit, page, stored.performance, starts_page),
                               pageview_id)
    if events:
        writer.add("events", EVENT_COLUMNS, events)
    writer.add("visits", VISIT_COLUMNS, [visit_row(visit)])
    metrics.events_accepted.labels(SOURCE).inc()
    return None
