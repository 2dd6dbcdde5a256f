"""One Matomo tracking request ("hit") read from its parameters into typed fields.

Parameter names, types and defaults follow Matomo's `core/Tracker/Request.php` (see
docs/matomo.md). Anything malformed that Matomo itself refuses (unknown site,
`cid` not 16 hex, privileged parameters without a valid `token_auth`) raises `InvalidHit`;
everything else is read leniently, as Matomo does.
"""

from __future__ import annotations

import hmac
import math
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import orjson

from collector.core.errors import PayloadError
from collector.ingest.geo import normalise_ip
from collector.ingest.masking import mask_pii
from ingest_schema.codes import MATOMO_CART_UPDATE as CART_UPDATE
from ingest_schema.codes import MATOMO_CONTENT as CONTENT
from ingest_schema.codes import MATOMO_DOWNLOAD as DOWNLOAD
from ingest_schema.codes import MATOMO_ECOMMERCE_ORDER as ECOMMERCE_ORDER
from ingest_schema.codes import MATOMO_EVENT as EVENT
from ingest_schema.codes import MATOMO_EVENT_NAMES as EVENT_NAMES
from ingest_schema.codes import MATOMO_GOAL as GOAL
from ingest_schema.codes import MATOMO_OUTLINK as OUTLINK
from ingest_schema.codes import MATOMO_PERFORMANCE as PERFORMANCE
from ingest_schema.codes import MATOMO_PING as PING
from ingest_schema.codes import MATOMO_PRODUCT_VIEW as PRODUCT_VIEW
from ingest_schema.codes import MATOMO_SITE_SEARCH as SITE_SEARCH

#: Codes of the hit kinds (the stored ones are ingest_schema.codes): a page view is a `pageviews` row
__all__ = [
    "CART_UPDATE",
    "CONTENT",
    "DOWNLOAD",
    "ECOMMERCE_ORDER",
    "EVENT",
    "EVENT_NAMES",
    "GOAL",
    "OUTLINK",
    "PERFORMANCE",
    "PING",
    "PRODUCT_VIEW",
    "SITE_SEARCH",
    "PAGEVIEW",
    "OTHER",
]
PAGEVIEW = 0  # a page view is a row of `pageviews`, not an event
OTHER = -1  # a custom action (`ca=1`) of a plugin we do not have: accepted, not stored

#: `cdt` newer than this needs no token (Matomo's
#: tracking_requests_require_authentication_when_custom_timestamp_newer_than)
CDT_WITHOUT_TOKEN_SECONDS = 86400
CDT_FUTURE_SECONDS = 600
MAX_DIMENSION_CHARS = 250
MAX_JSON_CHARS = 16384
MAX_ITEMS = 100
PERFORMANCE_PARAMS = ("pf_net", "pf_srv", "pf_tfr", "pf_dm1", "pf_dm2", "pf_onl")
MAX_CATEGORIES = 5  # matomo.js's setEcommerceView takes up to five categories (a JSON array in `_pkc`)

_HEX16 = re.compile(r"^[0-9a-fA-F]{16}")
_PV_ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_DIMENSION = re.compile(r"^dimension([1-9][0-9]{0,2})$")


class InvalidHit(PayloadError):
    """A hit Matomo itself refuses with 400 (in a bulk request, it counts as invalid)."""

    status = 400
    reason = "bad_payload"


@dataclass
class Hit:
    """The fields of one hit the pipeline uses; strings are raw here and masked before storage."""

    idsite: int
    record: bool
    kind: int
    url: str = ""
    referrer: str = ""
    title: str = ""
    visitor_id: str = ""  # 16 hex from `cid` or `_id`, "" when cookieless
    user_id: str = ""
    consent: bool = False
    new_visit: bool = False
    pv_id: str = ""
    campaign_name: str = ""
    campaign_keyword: str = ""
    attribution_referrer: str = ""  # `_ref`: the referrer matomo.js remembered for conversions
    category: str = ""
    action: str = ""
    label: str = ""
    number: float = 0.0
    link: str = ""
    goal_id: int = -1
    revenue: float = 0.0
    order_id: str = ""
    order: dict[str, Any] = field(default_factory=dict)
    dimensions: dict[str, str] = field(default_factory=dict)
    performance: dict[str, int] = field(default_factory=dict)
    product: dict[str, Any] = field(default_factory=dict)  # setEcommerceView: sku, name, category, price
    user_agent: str = ""  # the `ua` override, else the header (in memory only)
    client_hints: dict[str, Any] = field(default_factory=dict)
    screen: tuple[int, int] = (0, 0)
    time_ms: int = 0
    ip: str = ""  # `cip` override (token only), else the request's (in memory only)
    country: str = ""  # `country` override (token only)


def _float(value: str | None) -> float:
    if not value:
        return 0.0
    try:
        number = float(value)
    except ValueError:
        return 0.0
    return number if math.isfinite(number) and abs(number) < 1e15 else 0.0


def _int(value: str | None, default: int = 0) -> int:
    if value is None or value == "":
        return default
    try:
        return int(float(value))
    except (ValueError, OverflowError):
        return default


def _json(value: str | None) -> Any:
    if not value or len(value) > MAX_JSON_CHARS:
        return None
    try:
        return orjson.loads(value)
    except orjson.JSONDecodeError:
        return None


def token_valid(params: dict[str, str], token: str) -> bool:
    """A privileged request carries the configured `token_auth` (none configured: never valid)."""
    given = params.get("token_auth", "")
    return bool(token) and bool(given) and hmac.compare_digest(given.encode(), token.encode())


def request_time(params: dict[str, str], received_ms: int, privileged: bool) -> int:
    """`cdt` (unix seconds or a UTC date-time) when allowed, else the time the request arrived."""
    raw = params.get("cdt", "")
    if not raw:
        return received_ms
    try:
        if re.fullmatch(r"\d{9,11}(\.\d+)?", raw):
            at_ms = int(float(raw) * 1000)
        else:
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "T"))
            at_ms = int(parsed.replace(tzinfo=parsed.tzinfo or timezone.utc).timestamp() * 1000)
    except (ValueError, OverflowError) as exc:
        raise InvalidHit("cdt is not a time") from exc
    if at_ms > received_ms + CDT_FUTURE_SECONDS * 1000:
        raise InvalidHit("cdt is in the future")
    if not privileged and at_ms < received_ms - CDT_WITHOUT_TOKEN_SECONDS * 1000:
        raise InvalidHit("cdt older than 24 hours needs token_auth")
    return at_ms


def _kind(params: dict[str, str]) -> int:
    if params.get("ping") == "1":
        return PING
    goal = params.get("idgoal")
    if goal not in (None, ""):
        if _int(goal, -1) == 0:
            return ECOMMERCE_ORDER if params.get("ec_id") else CART_UPDATE
        return GOAL
    if params.get("e_c") or params.get("e_a"):
        if not (params.get("e_c", "").strip() and params.get("e_a", "").strip()):
            raise InvalidHit("events need e_c and e_a")
        return EVENT
    if params.get("search"):
        return SITE_SEARCH
    if params.get("link"):
        return OUTLINK
    if params.get("download"):
        return DOWNLOAD
    if params.get("c_n") or params.get("c_i"):
        return CONTENT
    if params.get("ca") == "1":
        return OTHER
    return PAGEVIEW


def _cut(text: str, limit: int) -> str:
    """Matomo's length limit, applied after the personal-data patterns: a cut through the middle of an
    e-mail or card number would leave a piece no pattern recognises (the rest is masked later)."""
    return text if len(text) <= limit else mask_pii(text)[:limit]


def _dimensions(params: dict[str, str]) -> dict[str, str]:
    """Custom dimensions and the three scopes of custom variables; names and values are client text,
    masked with the rest of the hit before storage (pipeline.mask_hit)."""
    found: dict[str, str] = {}
    for key, value in params.items():
        match = _DIMENSION.match(key)
        if match and value.strip():
            found[match.group(1)] = _cut(value.strip(), MAX_DIMENSION_CHARS)
    for scope, name in (("_cvar", "visit"), ("cvar", "page"), ("e_cvar", "event")):
        cvars = _json(params.get(scope))
        if isinstance(cvars, dict):
            for pair in list(cvars.values())[:20]:
                if isinstance(pair, list) and len(pair) == 2 and all(isinstance(p, str) for p in pair):
                    found[f"cvar.{name}.{_cut(pair[0], 64)}"] = _cut(pair[1], MAX_DIMENSION_CHARS)
    return found


def _order(params: dict[str, str]) -> dict[str, Any]:
    items = _json(params.get("ec_items"))
    clean_items = []
    if isinstance(items, list):
        for item in items[:MAX_ITEMS]:
            if isinstance(item, list) and item:
                sku, name, category = (str(v) if v is not None else "" for v in (item + ["", "", ""])[:3])
                price = _float(str(item[3])) if len(item) > 3 else 0.0
                quantity = _int(str(item[4]), 1) if len(item) > 4 else 1
                clean_items.append(
                    {"sku": sku, "name": name, "category": category, "price": price, "quantity": quantity}
                )
    return {
        "subtotal": _float(params.get("ec_st")),
        "tax": _float(params.get("ec_tx")),
        "shipping": _float(params.get("ec_sh")),
        "discount": _float(params.get("ec_dt")),
        "items": clean_items,
    }


def _product(params: dict[str, str]) -> dict[str, Any]:
    """The product (or category) page of `setEcommerceView`: `_pks`, `_pkn`, `_pkc`, `_pkp`."""
    sku, name = params.get("_pks", "").strip(), params.get("_pkn", "").strip()
    category = params.get("_pkc", "").strip()
    if not (sku or name or category):
        return {}
    categories = _json(category) if category.startswith("[") else None
    if isinstance(categories, list):
        category = ", ".join(str(c).strip() for c in categories[:MAX_CATEGORIES] if str(c).strip())
    return {
        "sku": sku[:MAX_DIMENSION_CHARS],
        "name": name[:MAX_DIMENSION_CHARS],
        "category": category[:MAX_DIMENSION_CHARS],
        "price": _float(params.get("_pkp")),
    }


def _screen(value: str) -> tuple[int, int]:
    width, _, height = value.partition("x")
    return (max(0, min(_int(width), 65535)), max(0, min(_int(height), 65535)))


def read_hit(params: dict[str, str], received_ms: int, header_ua: str, referer_header: str, token: str) -> Hit:
    """Typed fields of one hit; raises InvalidHit where Matomo answers 400."""
    idsite = _int(params.get("idsite"), 0)
    if idsite <= 0:
        raise InvalidHit("idsite must be a positive integer")
    privileged = token_valid(params, token)
    forced = params.get("cid", "")
    if forced and not (len(forced) == 16 and _HEX16.match(forced)):
        raise InvalidHit("cid must be 16 hexadecimal characters")
    cookie_id = params.get("_id", "")
    visitor_id = forced or (cookie_id[:16] if _HEX16.match(cookie_id) else "")
    ip = ""
    if params.get("cip"):
        if not privileged:
            raise InvalidHit("cip needs token_auth")
        ip = normalise_ip(params["cip"])
        if not ip:
            raise InvalidHit("cip is not an IP address")
    country = params.get("country", "").upper() if privileged else ""
    kind = _kind(params)
    url = params.get("url", "")
    referrer = params.get("urlref", "")
    if not url and not referrer:
        url = referer_header
    hit = Hit(
        idsite=idsite,
        record=params.get("rec") == "1",
        kind=kind,
        url=url,
        referrer=referrer,
        title=params.get("action_name", "").strip(),
        visitor_id=visitor_id.lower(),
        user_id=params.get("uid", ""),
        consent=params.get("consent") == "1",
        new_visit=params.get("new_visit") == "1",
        pv_id=params["pv_id"] if _PV_ID.match(params.get("pv_id", "")) else "",
        campaign_name=params.get("_rcn", ""),
        campaign_keyword=params.get("_rck", ""),
        attribution_referrer=params.get("_ref", ""),
        dimensions=_dimensions(params),
        performance={p[3:]: _int(params[p], -1) for p in PERFORMANCE_PARAMS if params.get(p, "") != ""},
        user_agent=params.get("ua") or header_ua,
        client_hints=hints if isinstance(hints := _json(params.get("uadata")), dict) else {},
        product=_product(params) if kind == PAGEVIEW else {},
        screen=_screen(params.get("res", "")),
        time_ms=request_time(params, received_ms, privileged),
        ip=ip,
        country=country if len(country) == 2 and country.isalpha() else "",
    )
    _read_action(hit, params)
    return hit


def _read_action(hit: Hit, params: dict[str, str]) -> None:
    kind = hit.kind
    if kind == EVENT:
        hit.category, hit.action = params["e_c"].strip(), params["e_a"].strip()
        hit.label, hit.number = params.get("e_n", "").strip(), _float(params.get("e_v"))
    elif kind == SITE_SEARCH:
        hit.label, hit.category = params["search"].strip(), params.get("search_cat", "").strip()
        hit.number = float(_int(params.get("search_count"), -1))
    elif kind in (OUTLINK, DOWNLOAD):
        hit.link = params.get("link") or params.get("download") or ""
    elif kind == GOAL:
        hit.goal_id, hit.revenue = _int(params.get("idgoal"), -1), _float(params.get("revenue"))
    elif kind in (ECOMMERCE_ORDER, CART_UPDATE):
        hit.goal_id, hit.revenue = 0, _float(params.get("revenue"))
        hit.order_id, hit.order = params.get("ec_id", "").strip(), _order(params)
    elif kind == CONTENT:
        hit.category, hit.action = params.get("c_n", "").strip(), params.get("c_p", "").strip()
        hit.link, hit.label = params.get("c_t", ""), params.get("c_i", "").strip()
