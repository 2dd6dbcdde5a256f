"""The Matomo ingest pipeline, top to bottom as the product's promise:

read → site/origin → exclusions (rec, privacy signals, prefetch, bots) → consent → identify →
enrich (device, country) and mask → order → sessionize and attribute → ledger → rows.

Each step (collector.ingest.steps) enriches the hit or drops it with a named reason (a counter,
nothing else). A dropped hit is answered like a stored one (as Matomo answers excluded visits); an
invalid one gets 400.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable

from collector.core.sites import Site
from collector.ingest.attribution import Attribution, campaign_params, classify, conversion_attribution, hosts_of
from collector.ingest.enrich import Device, is_bot
from collector.ingest.geo import CountryLookup
from collector.ingest.masking import clean_url, mask_strings_deep
from collector.ingest.matomo import SOURCE
from collector.ingest.matomo.consent import SOURCE_REMEMBERED, MatomoConsent, Verdict
from collector.ingest.matomo.device import describe_hit_device
from collector.ingest.matomo.hit import ECOMMERCE_ORDER, GOAL, OTHER, SITE_SEARCH, Hit, InvalidHit, read_hit
from collector.ingest.matomo.orders import OrderClaims
from collector.ingest.matomo.rows import (
    StoredHit,
    event_rows,
    pageview_row,
    performance_rows,
    visit_row,
)
from collector.ingest.matomo.salts import SaltStore
from collector.ingest.matomo.visits import (
    Arrival,
    Page,
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
from collector.ingest.policy import MaskPolicy
from collector.ingest.request import IngestRequest, privacy_signal, site_with_origin
from collector.ingest.services import IngestServices
from collector.ingest.steps import Drop, Step, Steps
from ingest_schema.hashing import PageViewKeys, matomo_visitor_hash, user_id_hash


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
    return site_with_origin(services.ingest.sites.by_matomo_id(hit.idsite), origin, InvalidHit("unknown idsite"))


def exclusion(services: MatomoServices, site: Site, hit: Hit, request: IngestRequest) -> DropReason | None:
    """Step 3: what Matomo excludes (no `rec`, prefetches, bots) and what our policy refuses (GPC, DNT).

    An empty user agent is allowed here: server-side trackers (the matomo-tracker npm client) send none.
    """
    if not hit.record or request.prefetch or hit.kind == OTHER:
        return DropReason.EXCLUDED
    refused = privacy_signal(site, request)
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


async def identify(
    services: MatomoServices,
    site: Site,
    hit: Hit,
    request: IngestRequest,
    verdict: Verdict,
) -> Identity:
    """Step 5: a Matomo visitor id as its keyed hash; without one (or anonymous-only), the keyed hash of
    the day's salt, site, IP and user agent. The IP and UA are used here, in memory, and dropped."""
    hasher = services.ingest.hasher
    today = local_day(request.received_ms, site.timezone)
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
        "url": policy.page_url,
        "referrer": policy.page_url,
        "link": policy.url,
        "title": policy.title,
        "label": policy.text if hit.kind == SITE_SEARCH else policy.free,
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


def masked_hit(
    services: MatomoServices, site: Site, hit: Hit, device: Device, country: str, source: int, user_hash: str
) -> StoredHit:
    """Step 7: every string the client sent goes through the site's masking policy (mask_hit)."""
    hit = mask_hit(services.ingest.mask_policy(site), hit)
    return StoredHit(
        kind=hit.kind,
        time_ms=hit.time_ms,
        url=hit.url,
        referrer=clean_url(hit.referrer, site.sensitive_params, drop_query=True),
        title=hit.title,
        category=hit.category,
        action=hit.action,
        label=hit.label,
        number=hit.number,
        link=hit.link,
        revenue=hit.revenue,
        goal_id=hit.goal_id,
        order_id=hit.order_id,
        order=hit.order,
        dimensions=hit.dimensions,
        performance=hit.performance,
        product=hit.product,
        device=device,
        country=country,
        screen=hit.screen,
        consent_source=source,
        user_hash=user_hash,
    )


def credited(services: MatomoServices, site: Site, hit: Hit, visit: Visit, anonymous: bool) -> Attribution | None:
    """The channel a goal conversion or order is credited to (None for other hits): the campaign or
    referrer matomo.js remembered (`_rcn`/`_rck`, `_ref`), else the visit's own; never a remembered
    one for an anonymous-only hit."""
    if hit.kind not in (GOAL, ECOMMERCE_ORDER):
        return None
    if anonymous:
        return visit.attribution
    return conversion_attribution(
        visit.attribution, hit.campaign_name, hit.campaign_keyword, hit.attribution_referrer, services.site_hosts(site)
    )


def _update_visit(visit: Visit, stored: StoredHit, dimensions: dict[str, str]) -> None:
    visit.consent_source = max(visit.consent_source, stored.consent_source)
    visit.user_hash = stored.user_hash or visit.user_hash
    device = stored.device
    visit.browser, visit.os, visit.device = device.browser or visit.browser, device.os or visit.os, device.device
    visit.country = stored.country or visit.country
    visit.dimensions.update(dimensions)


@dataclass
class MatomoHit:
    """One hit on its way through the steps; each step fills the fields after it."""

    params: Params
    request: IngestRequest
    hit: Hit = field(init=False)
    site: Site = field(init=False)
    verdict: Verdict = field(init=False)
    who: Identity = field(init=False)
    stored: StoredHit = field(init=False)
    visit: Visit = field(init=False)
    page: Page | None = field(init=False)
    starts_page: bool = field(init=False)
    conversion: Attribution | None = field(init=False)
    pageview_id: int = field(init=False)


def hit_steps(services: MatomoServices) -> Steps[MatomoHit]:
    """The steps of one Matomo hit: read → site/origin → exclusions → consent → identify → enrich and
    mask → order → sessionize → ledger → rows. Raises InvalidHit or Forbidden where Matomo refuses."""
    ingest = services.ingest

    def read(h: MatomoHit) -> None:
        request = h.request
        h.hit = read_hit(h.params, request.received_ms, request.user_agent, request.referer, services.token_auth)

    def site(h: MatomoHit) -> None:
        h.site = site_for_hit(services, h.hit, h.request.origin)

    def exclude(h: MatomoHit) -> None:
        excluded = exclusion(services, h.site, h.hit, h.request)
        if excluded is not None:
            raise Drop(excluded)

    async def consent(h: MatomoHit) -> None:
        verdict = await consent_for_hit(services, h.site, h.hit)
        if verdict is None:
            raise Drop(DropReason.NO_CONSENT)
        h.verdict = verdict

    async def identify_step(h: MatomoHit) -> None:
        h.who = await identify(services, h.site, h.hit, h.request, h.verdict)

    def mask(h: MatomoHit) -> None:
        """Enrich (device, country: the `cip` override is looked up here) and mask every client string."""
        hit = h.hit
        device = describe_hit_device(hit.user_agent, hit.client_hints)
        country = hit.country or (services.geo.country(hit.ip) if hit.ip else h.request.country)
        h.stored = masked_hit(services, h.site, hit, device, country, h.verdict.source, h.who.user_hash)

    async def order(h: MatomoHit) -> None:
        if h.hit.kind == ECOMMERCE_ORDER and not await services.orders.claim(h.site.id, h.hit.order_id):
            raise InvalidHit(f"non-unique idsite/idorder combination ({h.hit.idsite}, {h.stored.order_id})")

    async def sessionize(h: MatomoHit) -> None:
        hit, stored, who, verdict, site_ = h.hit, h.stored, h.who, h.verdict, h.site
        attribution = classify(stored.url, hit.referrer, services.site_hosts(site_))
        in_url = campaign_params(stored.url)
        arrival = Arrival(
            hit.time_ms,
            who.visitor_hash,
            who.identified,
            who.fingerprint,
            attribution,
            hit.new_visit,
            site_.timezone,
            anonymous_only=verdict.anonymous,
            url_campaign=(in_url.get("name", ""), in_url.get("keyword", "")),
        )
        visit = h.visit = await services.sessions.visit_for(site_.id, arrival)
        h.page, h.starts_page = page_for(ingest.hasher, visit, hit.kind, hit.pv_id, hit.time_ms)
        if h.page is not None and h.starts_page:
            h.page.url, h.page.title = stored.url, stored.title
        _update_visit(visit, stored, stored.dimensions)
        converts = hit.kind != GOAL or goal_converts(visit, hit.goal_id, site_.matomo_goals_allow_multiple)
        h.conversion = credited(services, site_, hit, visit, verdict.anonymous) if converts else None
        revenue = stored.revenue if hit.kind in (GOAL, ECOMMERCE_ORDER) else 0.0
        record_hit(visit, hit.kind, hit.time_ms, h.page, revenue, converts, hit.goal_id)
        h.pageview_id = (
            h.page.pageview_id
            if h.page is not None
            else (
                ingest.hasher.h64("pageview", site_.id, SOURCE, str(visit.session_hash), hit.pv_id) if hit.pv_id else 0
            )
        )

    def ledger(h: MatomoHit) -> None:
        """One ledger row per page view and visitor hash that a grant covers."""
        visit, page = h.visit, h.page
        if h.verdict.needs_ledger and (h.pageview_id, visit.visitor_hash) not in visit.ledgered:
            visit.ledgered.add((h.pageview_id, visit.visitor_hash))
            keys = PageViewKeys(visit.visitor_hash, visit.session_hash, h.pageview_id, page.page_num if page else 0)
            services.consent.record_grant(h.site, keys, h.verdict.source)

    def rows(h: MatomoHit) -> None:
        stored, visit, page = h.stored, h.visit, h.page
        writer = ingest.writer
        if page is not None:
            writer.add([pageview_row(stored, visit, page, h.starts_page)])
        events = event_rows(stored, visit, page, h.pageview_id, h.conversion)
        events += performance_rows(
            stored, visit, timings_to_store(visit, page, stored.performance, h.starts_page), h.pageview_id
        )
        writer.add(events)
        writer.add([visit_row(visit)])
        ingest.metrics.events_accepted.labels(SOURCE).inc()

    return Steps(
        SOURCE,
        [
            Step("read", read),
            Step("site", site),
            Step("exclusions", exclude),
            Step("consent", consent),
            Step("identify", identify_step),
            Step("mask", mask),
            Step("order", order),
            Step("sessionize", sessionize),
            Step("ledger", ledger),
            Step("rows", rows),
        ],
        ingest.metrics,
    )
