"""Consent signals on the Clarity wire (Consent event 47, and Dimension 36 before 0.8.15), applied to a
page view's timeline through the consent gate."""

from __future__ import annotations

import re
from dataclasses import replace
from functools import lru_cache
from typing import Any

from collector.core.sites import Site
from collector.ingest.clarity.wire import Payload
from collector.ingest.consent import ConsentTimeline, Decision
from collector.ingest.metrics import DropReason
from collector.ingest.services import IngestServices
from ingest_schema import codes as ev
from ingest_schema.codes import COOKIE_SOURCE
from ingest_schema.hashing import PageViewKeys

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
        page_time=event[0],
        source=int(event[2]),
        ad=event[3] == 1,
        analytics=event[4] == 1,
        categories_granted=granted,
        categories_denied=denied,
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


@lru_cache(maxsize=256)
def _older_than(version: str, target: tuple[int, int, int]) -> bool:
    try:
        parts = tuple(int(p) for p in version.split(".")[:3])
    except ValueError:
        return False
    return parts < target


async def apply_consent(
    services: IngestServices, site: Site, keys: PageViewKeys, payload: Payload, path: str
) -> tuple[ConsentTimeline, int]:
    """Step 5: update the page view's consent timeline from this payload; returns it and the source."""
    gate = services.gate
    timeline = await gate.timeline(site, keys, first_payload=payload.envelope.sequence == 1)
    source = 0
    for decision in consent_decisions(payload):
        verdict = gate.verdict(site, decision, timeline)
        remembered = decision.analytics and decision.source == COOKIE_SOURCE
        if remembered and verdict == "ignore" and not timeline.consented_now:
            if await gate.recent_explicit_grant(site, keys.visitor_hash):
                verdict = "grant"
            else:
                services.metrics.drop(DropReason.COOKIE_CONSENT_EXPIRED)
        services.metrics.consent_decisions.labels(verdict, str(decision.source)).inc()
        gate.record(site, keys, decision, verdict, timeline, path)
        if verdict == "grant":
            source = decision.source
    return timeline, source
