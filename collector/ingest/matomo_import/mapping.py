"""Matomo's raw rows of one visit → our rows, through the live Matomo ingest's own steps.

Each Matomo action and conversion becomes the `Hit` the tracking request would have been, then goes
through the live path's masking (`masked_hit`), page-view keys (`page_for`), visit counting
(`record_hit`) and row builders (`pageview_row`, `event_rows`, `performance_rows`, `visit_row`). Only
what the live path learns from the HTTP request is taken from Matomo's visit instead: its visitor id
(as the same keyed hash, `matomo_visitor_hash`), its sessionization (Matomo's visits are kept as they
are), device, country and Matomo's own referrer classification (so channels match Matomo's reports).

Ids are deterministic (keyed hashes of the site and Matomo's idvisit), so a re-run writes the same rows.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import Any, cast

from collector.core.sites import Site
from collector.ingest.attribution import (
    CAMPAIGN,
    DIRECT,
    SEARCH,
    SOCIAL,
    WEBSITE,
    Attribution,
    campaign_params,
    conversion_attribution,
    hosts_of,
    referrer_host,
)
from collector.ingest.enrich import Device
from collector.ingest.matomo import SOURCE as LIVE_SOURCE
from collector.ingest.matomo.hit import (
    CART_UPDATE,
    CONTENT,
    DOWNLOAD,
    ECOMMERCE_ORDER,
    EVENT,
    GOAL,
    OUTLINK,
    PAGEVIEW,
    SITE_SEARCH,
    Hit,
)
from collector.ingest.matomo.pipeline import MatomoServices, masked_hit
from collector.ingest.matomo.rows import (
    StoredHit,
    event_rows,
    pageview_row,
    performance_rows,
    visit_row,
)
from collector.ingest.matomo.visits import Page, Visit, local_day, page_for, record_hit
from collector.ingest.matomo_import import SOURCE
from collector.ingest.matomo_import.source import Batch, Row
from collector.ingest.policy import MaskPolicy
from ingest_schema.hashing import Hasher, matomo_visitor_hash, user_id_hash
from ingest_schema.rows import EventRow, PageviewRow, VisitRow

#: log_action.type (core/Tracker/Action.php)
TYPE_PAGE_URL, TYPE_OUTLINK, TYPE_DOWNLOAD, TYPE_PAGE_TITLE, TYPE_SITE_SEARCH = 1, 2, 3, 4, 8
#: log_action.url_prefix (core/Tracker/PageUrl.php): the scheme and www. Matomo strips from stored URLs.
URL_PREFIXES = {0: "http://", 1: "http://www.", 2: "https://", 3: "https://www."}
#: log_visit.referer_type (core/Common.php REFERRER_TYPE_*) → our channel.
CHANNELS = {1: DIRECT, 2: SEARCH, 3: WEBSITE, 6: CAMPAIGN, 7: SOCIAL}
#: log_conversion.idgoal of e-commerce rows (core/Tracker/GoalManager.php).
IDGOAL_ORDER, IDGOAL_CART = 0, -1
#: config_device_type (DeviceDetector's device types) → our device class.
DEVICE_TYPES = {0: "desktop", 1: "mobile", 2: "tablet", 3: "mobile", 10: "mobile", 12: "mobile"}
#: config_browser_name / config_os short codes (DeviceDetector) of common clients → the family names
#: ua-parser gives live hits; other codes are kept as Matomo stored them.
BROWSERS = {
    "CH": "Chrome",
    "CM": "Chrome Mobile",
    "CI": "Chrome Mobile iOS",
    "CR": "Chromium",
    "FF": "Firefox",
    "FM": "Firefox Mobile",
    "SF": "Safari",
    "MF": "Mobile Safari",
    "PS": "Edge",
    "IE": "IE",
    "OP": "Opera",
    "SB": "Samsung Internet",
    "YA": "Yandex Browser",
    "BR": "Brave",
    "VI": "Vivaldi",
    "UNK": "",
}
SYSTEMS = {
    "WIN": "Windows",
    "MAC": "Mac OS X",
    "LIN": "Linux",
    "AND": "Android",
    "IOS": "iOS",
    "UBT": "Ubuntu",
    "COS": "Chrome OS",
    "FED": "Fedora",
    "DEB": "Debian",
    "UNK": "",
}
TIMINGS = {
    "time_network": "net",
    "time_server": "srv",
    "time_transfer": "tfr",
    "time_dom_processing": "dm1",
    "time_dom_completion": "dm2",
    "time_on_load": "onl",
}

ORDER_COLUMNS = ("site", "order_hash", "claim", "claimed_at")


class _OnePolicy:
    """What `masked_hit` asks of the live services: the site's masking policy (and nothing else)."""

    def __init__(self, policy: MaskPolicy) -> None:
        self.ingest = self
        self._policy = policy

    def mask_policy(self, site: Site) -> MaskPolicy:
        return self._policy


@dataclass
class SiteMapping:
    """One Matomo idsite imported into one of our sites."""

    site: Site
    idsite: int
    hasher: Hasher
    max_string_chars: int
    policy: MaskPolicy = field(init=False)
    services: MatomoServices = field(init=False)
    hosts: frozenset[str] = field(init=False)
    attributions: dict[tuple[Any, ...], Attribution] = field(default_factory=dict)  # memo: few distinct referrers

    def __post_init__(self) -> None:
        self.policy = MaskPolicy(
            self.site.masking, self.site.sensitive_params, self.max_string_chars, self.hasher, self.site.id
        )
        self.services = cast(MatomoServices, _OnePolicy(self.policy))
        self.hosts = hosts_of(self.site.origins)

    def session_hash(self, idvisit: int) -> int:
        """The visit's id: the same Matomo visit always gets the same one (63 bits, as live visits)."""
        return self.hasher.h64("matomo-import", self.site.id, str(self.idsite), str(idvisit)) >> 1

    def order_hash(self, order_id: str) -> int:
        """As collector.ingest.matomo.orders.OrderClaims.order_hash, so a live re-send of an imported order is
        refused like any repeated order."""
        return self.hasher.h64("matomo-order", self.site.id, order_id)


@dataclass
class Rows:
    """Our rows of a batch, table by table, and the visits they belong to."""

    pageviews: list[PageviewRow] = field(default_factory=list)
    events: list[EventRow] = field(default_factory=list)
    visits: list[VisitRow] = field(default_factory=list)
    orders: list[tuple[Any, ...]] = field(default_factory=list)
    sessions: list[int] = field(default_factory=list)

    @property
    def total(self) -> int:
        return len(self.pageviews) + len(self.events) + len(self.visits) + len(self.orders)


def _ms(value: datetime) -> int:
    """Matomo stores UTC as naive DATETIME."""
    return int(value.replace(tzinfo=timezone.utc).timestamp()) * 1000


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


def _float(value: Any) -> float:
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def full_url(name: str, prefix: int | None) -> str:
    return URL_PREFIXES.get(prefix, "") + name if prefix is not None else name


def _name(batch: Batch, idaction: Any) -> tuple[str, int, int | None]:
    return batch.names.get(int(idaction), ("", 0, None)) if idaction else ("", 0, None)


def _screen(resolution: str) -> tuple[int, int]:
    width, _, height = resolution.partition("x")
    return (min(int(width), 65535), min(int(height), 65535)) if width.isdecimal() and height.isdecimal() else (0, 0)


def device_of(row: Row) -> Device:
    device_type = row.get("config_device_type")
    browser, system = _text(row.get("config_browser_name")), _text(row.get("config_os"))
    return Device(
        browser=BROWSERS.get(browser, browser),
        os=SYSTEMS.get(system, system),
        device=DEVICE_TYPES.get(int(device_type), "unknown") if device_type is not None else "unknown",
    )


def matomo_attribution(mapping: SiteMapping, row: Row, entry_url: str) -> Attribution:
    """Matomo's own classification of a visit or conversion (referer_type, name, keyword), masked as live
    attribution is: search keywords are never kept, campaign names and keywords are lowercased."""
    key = tuple(row.get(c) for c in ATTRIBUTION_INPUTS) + (entry_url,)
    known = mapping.attributions.get(key)
    if known is None:
        if len(mapping.attributions) > 100_000:
            mapping.attributions.clear()
        known = mapping.attributions[key] = _attribution(mapping, row, entry_url)
    return known


ATTRIBUTION_INPUTS = (
    "referer_type",
    "referer_name",
    "referer_keyword",
    "referer_url",
    "campaign_name",
    "campaign_keyword",
    "campaign_source",
    "campaign_medium",
    "campaign_content",
)


def _attribution(mapping: SiteMapping, row: Row, entry_url: str) -> Attribution:
    channel = CHANNELS.get(int(row.get("referer_type") or 1), DIRECT)
    name, keyword = _text(row.get("referer_name")), _text(row.get("referer_keyword"))
    host = referrer_host(_text(row.get("referer_url")))
    host = "" if host in mapping.hosts else mapping.policy.free(host)
    if channel == CAMPAIGN:
        campaign = _text(row.get("campaign_name")) or name
        credited = conversion_attribution(Attribution(), campaign, _text(row.get("campaign_keyword")) or keyword, "")
        found = campaign_params(entry_url)
        extra = {
            k: mapping.policy.free(_text(row.get(f"campaign_{k}")))[:250] or found.get(k, "")
            for k in ("source", "medium", "content")
        }
        return replace(
            credited,
            channel=CAMPAIGN,
            referrer_host=host,
            campaign_source=extra["source"],
            campaign_medium=extra["medium"],
            campaign_content=extra["content"],
        )
    if channel == DIRECT:
        return Attribution(channel=DIRECT)
    if channel == WEBSITE:
        return Attribution(channel=WEBSITE, referrer_host=host or mapping.policy.free(name.lower()))
    return Attribution(channel=channel, referrer_host=host, referrer_name=mapping.policy.free(name)[:250])


def _hit(kind: int, time_ms: int, idsite: int, **fields: Any) -> Hit:
    return Hit(idsite=idsite, record=True, kind=kind, time_ms=time_ms, **fields)


def action_hit(mapping: SiteMapping, batch: Batch, row: Row) -> Hit | None:
    """The tracking request a log_link_visit_action row was (None: a row of no kind we store)."""
    time_ms, idsite = _ms(row["server_time"]), mapping.idsite
    url_name, url_type, url_prefix = _name(batch, row.get("idaction_url"))
    name, name_type, _ = _name(batch, row.get("idaction_name"))
    url = full_url(url_name, url_prefix) if url_type in (TYPE_PAGE_URL, TYPE_OUTLINK, TYPE_DOWNLOAD) else ""
    pv_id = _text(row.get("idpageview"))
    if row.get("idaction_event_category"):
        return _hit(
            EVENT,
            time_ms,
            idsite,
            url=url,
            pv_id=pv_id,
            category=_name(batch, row["idaction_event_category"])[0],
            action=_name(batch, row.get("idaction_event_action"))[0],
            label=name,
            number=_float(row.get("custom_float")),
        )
    if row.get("idaction_content_name"):
        return _hit(
            CONTENT,
            time_ms,
            idsite,
            url=url,
            pv_id=pv_id,
            category=_name(batch, row["idaction_content_name"])[0],
            action=_name(batch, row.get("idaction_content_piece"))[0],
            link=_name(batch, row.get("idaction_content_target"))[0],
            label=_name(batch, row.get("idaction_content_interaction"))[0],
        )
    if name_type == TYPE_SITE_SEARCH:
        count = row.get("search_count")
        return _hit(
            SITE_SEARCH,
            time_ms,
            idsite,
            url=url,
            pv_id=pv_id,
            label=name,
            category=_text(row.get("search_cat")),
            number=float(count) if count is not None else -1.0,
        )
    if url_type in (TYPE_OUTLINK, TYPE_DOWNLOAD):
        kind = OUTLINK if url_type == TYPE_OUTLINK else DOWNLOAD
        return _hit(kind, time_ms, idsite, link=url, pv_id=pv_id)
    if url_type == TYPE_PAGE_URL:
        hit = _hit(PAGEVIEW, time_ms, idsite, url=url, pv_id=pv_id, title=name if name_type == TYPE_PAGE_TITLE else "")
        hit.performance = {short: int(row[col]) for col, short in TIMINGS.items() if row.get(col) is not None}
        if row.get("idaction_product_sku") or row.get("idaction_product_name") or row.get("idaction_product_cat"):
            hit.product = {
                "sku": _name(batch, row.get("idaction_product_sku"))[0],
                "name": _name(batch, row.get("idaction_product_name"))[0],
                "category": _name(batch, row.get("idaction_product_cat"))[0],
                "price": _float(row.get("product_price")),
            }
        return hit
    return None


def _items(batch: Batch, idvisit: int, idorder: str) -> list[dict[str, Any]]:
    items = []
    for item in batch.items.get((idvisit, idorder), []):
        categories = [
            _name(batch, item.get(c))[0]
            for c in (
                "idaction_category",
                "idaction_category2",
                "idaction_category3",
                "idaction_category4",
                "idaction_category5",
            )
        ]
        items.append(
            {
                "sku": _name(batch, item["idaction_sku"])[0],
                "name": _name(batch, item["idaction_name"])[0],
                "category": ", ".join(c for c in categories if c),
                "price": _float(item["price"]),
                "quantity": int(item["quantity"] or 0),
            }
        )
    return items


def conversion_hit(mapping: SiteMapping, batch: Batch, idvisit: int, row: Row) -> Hit:
    """A log_conversion row as its goal, order or cart-update request."""
    time_ms, idgoal, revenue = _ms(row["server_time"]), int(row["idgoal"]), _float(row.get("revenue"))
    if idgoal > 0:
        return _hit(GOAL, time_ms, mapping.idsite, goal_id=idgoal, revenue=revenue)
    order_id = _text(row.get("idorder")) if idgoal == IDGOAL_ORDER else ""
    order = {
        "subtotal": _float(row.get("revenue_subtotal")),
        "tax": _float(row.get("revenue_tax")),
        "shipping": _float(row.get("revenue_shipping")),
        "discount": _float(row.get("revenue_discount")),
        "items": _items(batch, idvisit, order_id if idgoal == IDGOAL_ORDER else "0"),
    }
    kind = ECOMMERCE_ORDER if idgoal == IDGOAL_ORDER else CART_UPDATE
    return _hit(kind, time_ms, mapping.idsite, goal_id=0, revenue=revenue, order_id=order_id, order=order)


def map_visit(mapping: SiteMapping, batch: Batch, row: Row, out: Rows) -> None:
    """Append the rows of one Matomo visit to `out`."""
    idvisit = int(row["idvisit"])
    site, hasher = mapping.site, mapping.hasher
    visitor_hash = matomo_visitor_hash(hasher, site.id, bytes(row["idvisitor"]).hex())
    user_id = _text(row.get("user_id"))
    device, country = device_of(row), _text(row.get("location_country")).upper()
    country = country if len(country) == 2 and country.isalpha() else ""
    screen = _screen(_text(row.get("config_resolution")))
    actions = batch.actions.get(idvisit, [])
    hits = [(a, h) for a in actions if (h := action_hit(mapping, batch, a)) is not None]
    entry = next((h for _, h in hits if h.kind == PAGEVIEW), None)
    entry_url = mapping.policy.page_url(entry.url) if entry else ""
    started_ms = _ms(row["visit_first_action_time"])
    visit = Visit(
        site=site.id,
        session_hash=mapping.session_hash(idvisit),
        visitor_hash=visitor_hash,
        identified=True,
        started_ms=started_ms,
        last_ms=started_ms,
        local_day=local_day(started_ms, site.timezone),
        attribution=matomo_attribution(mapping, row, entry_url),
        user_hash=user_id_hash(hasher, site.id, user_id) if user_id else "",
        browser=device.browser,
        os=device.os,
        device=device.device,
        country=country,
    )
    pages: dict[int, Page] = {}  # idlink_va → the page view it belongs to (for conversions)
    seen_pv: set[str] = set()
    for action, hit in hits:
        if hit is entry:
            hit.referrer = _text(row.get("referer_url"))
        if hit.kind == PAGEVIEW and hit.pv_id:
            # a reused idpageview is still a new page view in Matomo's counts
            hit.pv_id = hit.pv_id if hit.pv_id not in seen_pv else f"{hit.pv_id}#{action['idlink_va']}"
            seen_pv.add(hit.pv_id)
        hit.screen = screen
        page = _store(mapping, visit, hit, device, country, None, out)
        if page is not None:
            pages[int(action["idlink_va"])] = page
    for conversion in batch.conversions.get(idvisit, []):
        hit = conversion_hit(mapping, batch, idvisit, conversion)
        page = pages.get(int(conversion["idlink_va"] or 0)) or visit.exit
        credit = matomo_attribution(mapping, conversion, "") if hit.kind != CART_UPDATE else None
        _store(mapping, visit, hit, device, country, credit, out, page)
        if hit.kind == ECOMMERCE_ORDER and hit.order_id:
            out.orders.append(
                (site.id, mapping.order_hash(hit.order_id), f"{SOURCE}:{idvisit}", conversion["server_time"])
            )
    visit.last_ms = max(visit.last_ms, _ms(row["visit_last_action_time"]))
    out.visits.append(visit_row(visit)._replace(source=SOURCE, version=visit.last_ms))
    out.sessions.append(visit.session_hash)


def _store(
    mapping: SiteMapping,
    visit: Visit,
    hit: Hit,
    device: Device,
    country: str,
    credit: Attribution | None,
    out: Rows,
    known_page: Page | None = None,
) -> Page | None:
    """One hit, as ingest_hit stores it after sessionizing: page view, counts, rows."""
    stored: StoredHit = masked_hit(mapping.services, mapping.site, hit, device, country, 0, visit.user_hash)
    if hit.kind in (GOAL, ECOMMERCE_ORDER, CART_UPDATE):
        page, starts_page = known_page, False
    else:
        page, starts_page = page_for(mapping.hasher, visit, hit.kind, hit.pv_id, hit.time_ms)
    if page is not None and starts_page:
        page.url, page.title = stored.url, stored.title
    record_hit(
        visit,
        hit.kind,
        hit.time_ms,
        page,
        stored.revenue if hit.kind in (GOAL, ECOMMERCE_ORDER) else 0.0,
        True,
        hit.goal_id,
    )
    pageview_id = (
        page.pageview_id
        if page is not None
        else (
            mapping.hasher.h64("pageview", visit.site, LIVE_SOURCE, str(visit.session_hash), hit.pv_id)
            if hit.pv_id
            else 0
        )
    )
    if page is not None:
        out.pageviews.append(pageview_row(stored, visit, page, starts_page)._replace(source=SOURCE))
    events = event_rows(stored, visit, page, pageview_id, credit)
    if stored.performance and page is not None:
        events += performance_rows(stored, visit, [(page, stored.performance)], pageview_id)
    out.events.extend(e._replace(source=SOURCE) for e in events)
    return page
