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

from dataclasses import dataclass

from collector.core.sites import Site
from collector.ingest.consent import ConsentGate, ConsentTimeline, Decision
from ingest_schema.codes import API_SOURCE, COOKIE_SOURCE, IMPLICIT_SOURCE
from ingest_schema.hashing import PageViewKeys

#: Consent sources written for Matomo: tracker_requires_consent is implicit (the site says its tracker
#: runs only after consent), consent=1 an explicit API call, a remembered grant the cookie source.
SOURCE_IMPLICIT, SOURCE_API, SOURCE_REMEMBERED = IMPLICIT_SOURCE, API_SOURCE, COOKIE_SOURCE
INGEST_PATH = "matomo"


@dataclass(frozen=True)
class Verdict:
    store: bool
    source: int = 0
    anonymous: bool = False  # cookieless mode without consent: no visitor linking
    needs_ledger: bool = False


class MatomoConsent:
    """Decides per hit; remembered grants are the consent gate's (one cache for both ingest paths)."""

    def __init__(self, gate: ConsentGate) -> None:
        self._gate = gate

    def immediate(self, site: Site, consent_param: bool) -> Verdict | None:
        """The verdict that needs no ledger lookup, or None when only a remembered grant can allow it."""
        if consent_param:
            return Verdict(store=True, source=SOURCE_API, needs_ledger=True)
        if site.matomo_consent == "tracker_requires_consent":
            return Verdict(store=True, source=SOURCE_IMPLICIT, needs_ledger=True)
        return None

    async def remembered(self, site: Site, visitor_hash: int) -> bool:
        return await self._gate.recent_explicit_grant(site, visitor_hash)

    def record_grant(self, site: Site, keys: PageViewKeys, source: int) -> None:
        """One ledger row per page view and visitor that a grant covers (no IP, no UA)."""
        decision = Decision(page_time=0, source=source, analytics=True, ad=False)
        self._gate.record(site, keys, decision, "grant", ConsentTimeline(), INGEST_PATH)
