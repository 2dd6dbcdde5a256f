"""May a Matomo hit be stored? The Matomo section of the consent policy, per site mode.

- `consent_param` (default): a hit is stored when it carries `consent=1` (matomo.js adds it once
  `setConsentGiven`/`rememberConsentGiven` ran under `requireConsent`), or when the visitor id has an
  explicit grant in the consent ledger less than 6 months old (a remembered consent, rule 4).
- `tracker_requires_consent`: the site loads or runs its tracker only after consent, so every hit
  counts as consented (like Clarity's `loader` mode, with the same risk if the site gets it wrong).
- `cookieless`: hits without consent are stored anonymously only: the visitor is the daily-salted
  hash, `_id`, `cid` and `uid` are ignored, so nothing links the visit to anything beyond the day.
  Hits with `consent=1` are treated as in `consent_param`.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from dataclasses import dataclass

from collector.core.sites import Site
from collector.ingest.consent import ConsentGate, ConsentTimeline, Decision
from ingest_schema.hashing import PageViewKeys

#: Consent sources written for Matomo (the ledger's numbers, shared with Clarity's enum).
SOURCE_IMPLICIT = 0  # tracker_requires_consent: the site says its tracker runs only after consent
SOURCE_API = 1  # consent=1: setConsentGiven / rememberConsentGiven, an explicit call
SOURCE_REMEMBERED = 6  # a remembered explicit grant in the ledger
INGEST_PATH = "matomo"
NEGATIVE_SECONDS = 30.0  # "no grant" is asked again after this (another process may have recorded one)
POSITIVE_SECONDS = 3600.0  # a grant found is re-checked hourly (it expires after 6 months)
CACHE_SIZE = 100_000


@dataclass(frozen=True)
class Verdict:
    store: bool
    source: int = 0
    anonymous: bool = False  # cookieless mode without consent: no visitor linking
    needs_ledger: bool = False


class MatomoConsent:
    """Decides per hit; remembers recent ledger answers per visitor (bounded, 30 s for "none")."""

    def __init__(self, gate: ConsentGate) -> None:
        self._gate = gate
        self._remembered: OrderedDict[tuple[str, int], tuple[bool, float]] = OrderedDict()

    def immediate(self, site: Site, consent_param: bool) -> Verdict | None:
        """The verdict that needs no ledger lookup, or None when only a remembered grant can allow it."""
        if consent_param:
            return Verdict(store=True, source=SOURCE_API, needs_ledger=True)
        if site.matomo_consent == "tracker_requires_consent":
            return Verdict(store=True, source=SOURCE_IMPLICIT, needs_ledger=True)
        return None

    async def remembered(self, site: Site, visitor_hash: int) -> bool:
        key = (site.id, visitor_hash)
        cached = self._remembered.get(key)
        if cached is not None and time.monotonic() - cached[1] < (POSITIVE_SECONDS if cached[0] else NEGATIVE_SECONDS):
            self._remembered.move_to_end(key)
            return cached[0]
        granted = await self._gate.recent_explicit_grant(site, visitor_hash)
        self._remembered[key] = (granted, time.monotonic())
        while len(self._remembered) > CACHE_SIZE:
            self._remembered.popitem(last=False)
        return granted

    def record_grant(self, site: Site, keys: PageViewKeys, source: int) -> None:
        """One ledger row per page view and visitor that a grant covers (no IP, no UA)."""
        decision = Decision(page_time=0, source=source, analytics=True, ad=False)
        self._gate.record(site, keys, decision, "grant", ConsentTimeline(), INGEST_PATH)
        if source != SOURCE_IMPLICIT:
            self._remembered[(site.id, keys.visitor_hash)] = (True, time.monotonic())
