"""Matomo's `segment` parameter as a segment definition of the dashboards (dashboards.segments), applied
as the same visit pre-selection a saved segment is, so every method answers for exactly those visits.

Matomo's grammar (core/Segment/SegmentExpression.php): the string splits on `;` (AND) first and each
part on `,` (OR), so OR binds tighter: `a;b,c` is a AND (b OR c); there are no parentheses. A `;` or
`,` preceded by a backslash is literal, and one at the very end is part of the value. Each condition
is url-decoded, split at its first operator, and its value url-decoded again. An empty value means "is
empty" with `==` and "is not empty" with `!=`; other operators need a value. See
docs/matomo-reporting-api.md for the segment names answered and how their values are read.

`userId` values are hashed with the collector's key for the request's site (`user_id_hash`, as ingest
stores them), so only `==` and `!=` can be answered: a part of a user id has no hash.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable
from urllib.parse import unquote_plus, urlsplit

from dashboards.errors import BadQuery
from dashboards.matomo_api.errors import ApiError
from dashboards.segments import (
    ACTIONS,
    KEYWORD,
    USER,
    VISITOR_TYPE,
    Condition,
    Group,
    definition_json,
    parse_definition,
)

MAX_SEGMENT_CHARS = 4000
_AND = re.compile(r";(?!$)(?<!\\;)")
_OR = re.compile(r",(?!$)(?<!\\,)")
#: the first operator after a non-empty name wins; at one position the longer operator is tried first
_CONDITION = re.compile(r"^(.+?)(==|!=|>=|>|<=|<|=@|!@|=\^|=\$)(.*)$", re.S)
STRING_OPS = {"==": "is", "!=": "is_not", "=@": "contains", "!@": "not_contains", "=^": "prefix", "=$": "suffix"}
NUMBER_OPS = {"==": "is", "!=": "is_not", ">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
EQUALITY = ("==", "!=")
#: Matomo's names (device-detector) for values our user-agent parser (ua-parser) names differently
DEVICE_NAMES = {"smartphone": "mobile", "phablet": "mobile", "feature phone": "mobile"}
BROWSER_NAMES = {"Microsoft Edge": "Edge", "Samsung Browser": "Samsung Internet"}
BROWSER_CODES = {
    "CH": "Chrome",
    "CM": "Chrome Mobile",
    "FF": "Firefox",
    "SF": "Safari",
    "MF": "Mobile Safari",
    "PS": "Edge",
    "OP": "Opera",
    "SB": "Samsung Internet",
}
OS_NAMES = {"Mac": "Mac OS X", "GNU/Linux": "Linux"}
OS_CODES = {
    "WIN": "Windows",
    "MAC": "Mac OS X",
    "IOS": "iOS",
    "AND": "Android",
    "LIN": "Linux",
    "UBT": "Ubuntu",
    "COS": "Chrome OS",
}
#: Matomo's visitorType values (and the numbers of its visitor_returning column) → ours
VISITOR_TYPES = {"new": "new", "0": "new", "returning": "returning", "1": "returning"}
VISITOR_TYPES |= {"returningcustomer": "returningCustomer", "2": "returningCustomer"}
#: Matomo's code for an unknown country (our visits then have none)
UNKNOWN_COUNTRY = "XX"
_RE2_SPECIAL = re.compile(r"([\\.+*?()|\[\]{}^$])")
_PROTOCOL = re.compile(r"^[a-z][a-z0-9+.-]*://", re.I)


@dataclass(frozen=True)
class Dimension:
    """How one Matomo segment maps onto a definition field: `ops` it takes, how its value reads."""

    field: str
    ops: tuple[str, ...] = tuple(STRING_OPS)
    value: Callable[[str], str] = lambda v: v

    @property
    def numeric(self) -> bool:
        return ">" in self.ops


def _visitor_type(value: str) -> str:
    known = VISITOR_TYPES.get(value.lower())
    if known is None:
        raise ApiError(
            f"The segment 'visitorType' does not take the value '{value[:40]}': use new, returning or "
            "returningCustomer (or 0, 1, 2)."
        )
    return known


def _path(value: str) -> str:
    """A URL's path (what entry and exit pages hold); a value without a scheme is taken as it is."""
    return (urlsplit(value).path or "/") if _PROTOCOL.match(value) else value


SEGMENTS: dict[str, Dimension] = {
    "referrerType": Dimension("channel", EQUALITY, str.lower),
    "campaignName": Dimension("campaign", value=str.lower),
    "campaignMedium": Dimension("medium"),
    "countryCode": Dimension("country", value=lambda v: "" if v.upper() == UNKNOWN_COUNTRY else v.upper()),
    "deviceType": Dimension("device", EQUALITY, lambda v: DEVICE_NAMES.get(v.lower(), v.lower())),
    "browserName": Dimension("browser", value=lambda v: BROWSER_NAMES.get(v, v)),
    "browserCode": Dimension("browser", EQUALITY, lambda v: BROWSER_CODES.get(v.upper(), v)),
    "operatingSystemName": Dimension("os", value=lambda v: OS_NAMES.get(v, v)),
    "operatingSystemCode": Dimension("os", EQUALITY, lambda v: OS_CODES.get(v.upper(), v)),
    "entryPageUrl": Dimension("entry_page", value=_path),
    "exitPageUrl": Dimension("exit_page", value=_path),
    "pageTitle": Dimension("page_title"),
    "eventCategory": Dimension("event"),
    "eventAction": Dimension("event_action"),
    "eventName": Dimension("event_name"),
    "siteSearchKeyword": Dimension("site_search"),
    "visitConvertedGoalId": Dimension("goal", EQUALITY),
    "visitDuration": Dimension("duration", tuple(NUMBER_OPS)),
    "actions": Dimension(ACTIONS, tuple(NUMBER_OPS)),
    "referrerKeyword": Dimension(KEYWORD, value=str.lower),
    "visitorType": Dimension(VISITOR_TYPE, EQUALITY, _visitor_type),
    # userId's value is hashed by parse_segment's `user_hash`
    "userId": Dimension(USER, EQUALITY),
    # referrerName and pageUrl are translated by their own functions below
    "referrerName": Dimension("source"),
    "pageUrl": Dimension("page_url"),
}


def _escape(value: str) -> str:
    """A literal for an RE2 pattern."""
    return _RE2_SPECIAL.sub(r"\\\1", value)


def _condition(field: str, op: str, value: str) -> Condition:
    """`suffix` (Matomo's =$) has no operator of its own in the definitions: a pattern anchored at the end."""
    if op == "suffix":
        return Condition(field, "matches", _escape(value) + "$")
    return Condition(field, op, value)


def _page_url(op: str, value: str) -> Condition:
    """A path (`/blog`) compares the viewed page's path; anything else a full URL, as Matomo compares it:
    whatever the protocol and a leading `www.`."""
    if value.startswith("/"):
        return _condition("page", op, value)
    rest = _PROTOCOL.sub("", value)
    rest = rest[4:] if rest.lower().startswith("www.") else rest
    if op in ("contains", "not_contains", "suffix"):
        return _condition("page_url", op, rest)
    anchored = r"^[a-zA-Z][a-zA-Z0-9+.-]*://(www\.)?" + _escape(rest)
    if op == "prefix":
        return Condition("page_url", "matches", anchored)
    return Condition("page_url", "matches" if op == "is" else "not_matches", anchored + "$")


def _referrer_name(op: str, value: str) -> Group:
    """Matomo's referrer name of a campaign visit is the campaign's name (stored lowercased), of any
    other visit the source: one test per kind of visit."""
    return Group(
        "any",
        (
            Group("all", (Condition("channel", "is_not", "campaign"), _condition("source", op, value))),
            Group("all", (Condition("channel", "is", "campaign"), _condition("campaign", op, value.lower()))),
        ),
    )


#: hashes a site's user id given in clear as ingest stores it (None: no site, userId cannot be answered)
UserHash = Callable[[str], str] | None


def _translate(text: str, user_hash: UserHash) -> Condition | Group:
    """One Matomo condition (still url-encoded once)."""
    decoded = unquote_plus(text)
    match = _CONDITION.match(decoded)
    if not match:
        raise ApiError(f"The segment condition '{decoded[:80]}' is not valid.")
    name, operator, raw = match.group(1), match.group(2), unquote_plus(match.group(3))
    dimension = SEGMENTS.get(name)
    if dimension is None:
        raise ApiError(f"Segment '{name[:60]}' is not a supported segment.")
    if raw == "" and operator not in EQUALITY:
        raise ApiError(
            f"The segment '{decoded[:80]}' has no value specified. You can leave this value empty only "
            "when you use the operators: != (is not) or == (is)"
        )
    if operator not in dimension.ops and dimension.field == USER:
        raise ApiError(
            f"The segment operator '{operator}' is not supported for 'userId': user ids are stored only as "
            "keyed hashes, so only == and != can be matched."
        )
    if operator not in dimension.ops:
        raise ApiError(
            f"The segment operator '{operator}' is not supported for '{name}' here; it takes "
            f"{', '.join(dimension.ops)}."
        )
    op = NUMBER_OPS[operator] if dimension.numeric else STRING_OPS[operator]
    value = raw.strip()
    if dimension.field == USER:
        if user_hash is None:
            raise ApiError("The segment 'userId' needs an idSite.")
        return Condition(USER, op, user_hash(raw) if value else "")  # hashed as ingest hashes `uid`: as sent
    if name == "pageUrl":
        return _page_url(op, value)
    if name == "referrerName":
        return _referrer_name(op, value)
    return _condition(dimension.field, op, dimension.value(value))


def _clause(text: str, user_hash: UserHash) -> Condition | Group:
    """An OR of conditions; a nested 'any' group (referrerName) joins it rather than adding a level."""
    items: list[Condition | Group] = []
    for part in _OR.split(text):
        item = _translate(part.replace("\\;", ";").replace("\\,", ","), user_hash)
        items.extend(item.items if isinstance(item, Group) and item.match == "any" else (item,))
    return items[0] if len(items) == 1 else Group("any", tuple(items))


def parse_segment(segment: str, user_hash: UserHash = None) -> Group | None:
    """A Matomo segment as a checked definition (None for none); Matomo's error message when it cannot be
    read or names a segment we do not have. `user_hash` hashes `userId` values for the request's site."""
    segment = segment.strip()
    if not segment:
        return None
    if len(segment) > MAX_SEGMENT_CHARS:
        raise ApiError("The segment is too long.")
    clauses = [_clause(part, user_hash) for part in _AND.split(segment) if part]
    definition = Group("all", tuple(clauses))
    try:
        return parse_definition(definition_json(definition))
    except BadQuery as error:
        raise ApiError(f"The segment cannot be applied: {error}") from None
