"""The vocabulary stored in the tables, defined once: event type codes and consent sources.

`events.type` holds Clarity's own event numbers (below 1000) for clarity-js and our beacon, and
codes from 1001 for Matomo actions. `consent_source` holds Clarity's ConsentSource numbers, which
the Matomo path shares. Ingest, dashboards and retention import these; nobody retypes a number.
"""

from __future__ import annotations

EVENT_NAMES: dict[int, str] = {
    0: "metric",
    1: "dimension",
    2: "upload",
    3: "upgrade",
    4: "baseline",
    5: "discover",
    6: "mutation",
    7: "region",
    8: "document",
    9: "click",
    10: "scroll",
    11: "resize",
    12: "mousemove",
    13: "mousedown",
    14: "mouseup",
    15: "mousewheel",
    16: "doubleclick",
    17: "touchstart",
    18: "touchend",
    19: "touchmove",
    20: "touchcancel",
    21: "selection",
    22: "timeline",
    23: "page",
    24: "custom",
    25: "ping",
    26: "unload",
    27: "input",
    28: "visibility",
    29: "navigation",
    30: "connection",
    31: "scripterror",
    32: "imageerror",
    33: "log",
    34: "variable",
    35: "limit",
    36: "summary",
    37: "box",
    38: "clipboard",
    39: "submit",
    40: "extract",
    41: "fraud",
    42: "change",
    43: "snapshot",
    44: "animation",
    45: "stylesheetadoption",
    46: "stylesheetupdate",
    47: "consent",
    48: "contextmenu",
    50: "focus",
    51: "customelement",
    52: "chat",
    53: "pointerdown",
}

METRIC, DIMENSION, BASELINE, DISCOVER, MUTATION, DOCUMENT = 0, 1, 4, 5, 6, 8
CLICK, SCROLL, RESIZE, CUSTOM, INPUT, SCRIPT_ERROR, LOG = 9, 10, 11, 24, 27, 31, 33
VARIABLE, CHANGE, SNAPSHOT, CONSENT, CONTEXT_MENU, EXTRACT, REGION = 34, 42, 43, 47, 48, 40, 7
DOM_EVENTS = frozenset({DISCOVER, MUTATION, SNAPSHOT})
POINTER_EVENTS = frozenset(range(12, 21)) | {53}

#: Dimension keys with special treatment.
DIM_USER_AGENT, DIM_URL, DIM_REFERRER, DIM_TITLE, DIM_CONSENT = 0, 1, 2, 3, 36
#: Metric keys the page-view row uses.
METRIC_SCREEN_WIDTH, METRIC_SCREEN_HEIGHT = 14, 15


#: Matomo actions in the shared `events` table (a Matomo page view is a `pageviews` row, not an event).
MATOMO_EVENT = 1001
MATOMO_SITE_SEARCH = 1002
MATOMO_OUTLINK = 1003
MATOMO_DOWNLOAD = 1004
MATOMO_GOAL = 1005
MATOMO_ECOMMERCE_ORDER = 1006
MATOMO_CART_UPDATE = 1007
MATOMO_CONTENT = 1008
MATOMO_PING = 1009
MATOMO_PERFORMANCE = 1010
MATOMO_PRODUCT_VIEW = 1011
MATOMO_EVENT_NAMES = {
    MATOMO_EVENT: "event",
    MATOMO_SITE_SEARCH: "site_search",
    MATOMO_OUTLINK: "outlink",
    MATOMO_DOWNLOAD: "download",
    MATOMO_GOAL: "goal",
    MATOMO_ECOMMERCE_ORDER: "ecommerce_order",
    MATOMO_CART_UPDATE: "cart_update",
    MATOMO_CONTENT: "content",
    MATOMO_PING: "ping",
    MATOMO_PERFORMANCE: "performance",
    MATOMO_PRODUCT_VIEW: "product_view",
}

#: Consent sources (Clarity's ConsentSource enum, shared by every ingest path).
IMPLICIT_SOURCE = 0  # a default or a site's say-so (loader mode, Matomo tracker_requires_consent)
API_SOURCE = 1  # an explicit API call (clarity consentv2, Matomo setConsentGiven)
BANNER_SOURCE = 5  # a choice made in our banner
COOKIE_SOURCE = 6  # a remembered choice: honoured only with a recent explicit grant in the ledger
#: Sources that are a person's explicit choice; only these prove consent on their own (rule 4).
EXPLICIT_SOURCES = frozenset({1, 2, 3, 4, 5} | set(range(100, 103)) | set(range(150, 159)))


def explicit_source_sql(column: str = "consent_source") -> str:
    """The SQL test for an explicit source, from the same set the gate uses."""
    return f"{column} IN ({', '.join(str(s) for s in sorted(EXPLICIT_SOURCES))})"


def event_name(event_type: int) -> str:
    """A readable name; unknown types are kept as `type_<n>` raw rows, never refused."""
    return EVENT_NAMES.get(event_type) or MATOMO_EVENT_NAMES.get(event_type) or f"type_{event_type}"
