"""The consent gate (docs/consent.md): may this page view's data be stored, from when?

A page view's consent is a timeline of decisions (page-relative ms → consented or not). It
lives in a bounded in-memory cache and, durably, in the consent ledger in ClickHouse, so it
survives a restart and is shared by several collector processes.
"""

from __future__ import annotations

import bisect
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal

from collector.core.sites import Site
from collector.ingest.writer import BatchWriter
from ingest_schema.codes import EXPLICIT_SOURCES, IMPLICIT_SOURCE, explicit_source_sql
from ingest_schema.hashing import PageViewKeys
from ingest_schema.rows import LedgerRow
from ingest_schema.storage import Storage
from ingest_schema.tables import CONSENT_VALID_DAYS

#: How long a "no decision in the ledger" answer is trusted before asking the ledger again
#: (another collector process may have recorded a grant meanwhile).
EMPTY_LOOKUP_SECONDS = 30.0
#: How long a remembered grant found in the ledger is trusted before asking again (it expires after 6 months).
GRANT_LOOKUP_SECONDS = 3600.0

Verdict = Literal["grant", "withdraw", "deny", "ignore"]


@dataclass
class ConsentTimeline:
    """Decisions for one page view, in page time; `allowed(t)` answers for an event at t."""

    times: list[int] = field(default_factory=list)
    states: list[bool] = field(default_factory=list)
    looked_up_empty_at: float | None = None
    grant_source: int = 0
    page_start_ms: int | None = None

    def add(self, at: int, consented: bool) -> None:
        index = bisect.bisect_right(self.times, at)
        self.times.insert(index, at)
        self.states.insert(index, consented)

    def allowed(self, at: int) -> bool:
        index = bisect.bisect_right(self.times, at)
        return bool(index and self.states[index - 1])

    @property
    def consented_now(self) -> bool:
        return bool(self.states and self.states[-1])

    @property
    def ever_consented(self) -> bool:
        return any(self.states)

    @property
    def first_grant(self) -> int | None:
        """Page time of the first grant: dropped events before it were never consented, after it withdrawn."""
        return next((t for t, granted in zip(self.times, self.states, strict=True) if granted), None)


@dataclass(frozen=True)
class Decision:
    """One consent signal from a client, already in our terms."""

    page_time: int
    source: int
    analytics: bool
    ad: bool
    categories_granted: tuple[str, ...] = ()
    categories_denied: tuple[str, ...] = ()


class ConsentGate:
    def __init__(self, storage: Storage, writer: BatchWriter, cache_size: int) -> None:
        self._storage = storage
        self._writer = writer
        self._cache: OrderedDict[int, ConsentTimeline] = OrderedDict()
        self._cache_size = cache_size
        #: Latest explicit decision per (site, visitor) seen by this process: a cookie consent on
        #: the next page must not wait for the ledger row to reach ClickHouse.
        self._visitor_decisions: OrderedDict[tuple[str, int], tuple[float, str]] = OrderedDict()
        #: Recent ledger answers to "has this visitor a recent explicit grant?" (both ingest paths ask).
        self._ledger_answers: OrderedDict[tuple[str, int], tuple[bool, float]] = OrderedDict()

    async def timeline(self, site: Site, keys: PageViewKeys, first_payload: bool) -> ConsentTimeline:
        """The page view's decisions so far: from memory, else from the ledger."""
        cached = self._cache.get(keys.pageview_id)
        stale = (
            cached is not None
            and cached.looked_up_empty_at is not None
            and time.monotonic() - cached.looked_up_empty_at > EMPTY_LOOKUP_SECONDS
        )
        if cached is not None and not stale:
            self._cache.move_to_end(keys.pageview_id)
            return cached
        timeline = ConsentTimeline()
        if not first_payload:
            rows = await self._storage.run(
                self._storage.query_rows,
                f"SELECT page_time, decision, consent_source FROM {self._storage.table('consent_ledger')} "
                "WHERE site = {site:String} AND visitor_hash = {visitor:UInt64} AND pageview_id = {pv:UInt64} "
                "ORDER BY ts",
                {"site": site.id, "visitor": keys.visitor_hash, "pv": keys.pageview_id},
            )
            for page_time, decision, source in rows:
                timeline.add(int(page_time), decision == "grant")
                if decision == "grant":
                    timeline.grant_source = int(source)
            if not rows:
                timeline.looked_up_empty_at = time.monotonic()
        self._remember(keys.pageview_id, timeline)
        return timeline

    def _remember(self, pageview_id: int, timeline: ConsentTimeline) -> None:
        self._cache[pageview_id] = timeline
        self._cache.move_to_end(pageview_id)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    def _remember_visitor(self, site_id: str, visitor_hash: int, verdict: str) -> None:
        key = (site_id, visitor_hash)
        self._visitor_decisions[key] = (time.time(), verdict)
        self._visitor_decisions.move_to_end(key)
        while len(self._visitor_decisions) > self._cache_size:
            self._visitor_decisions.popitem(last=False)

    def page_start(self, pageview_id: int, estimate_ms: int) -> int:
        """Epoch ms of the page view's start by the server clock, fixed at its first payload seen."""
        timeline = self._cache.get(pageview_id)
        if timeline is None:
            return estimate_ms
        if timeline.page_start_ms is None:
            timeline.page_start_ms = estimate_ms
        return timeline.page_start_ms

    async def recent_explicit_grant(self, site: Site, visitor_hash: int) -> bool:
        """Rule 4: a remembered (cookie) consent counts only if an explicit grant < 6 months old exists
        and was not withdrawn since."""
        remembered = self._visitor_decisions.get((site.id, visitor_hash))
        if remembered is not None and time.time() - remembered[0] < CONSENT_VALID_DAYS * 86400:
            return remembered[1] == "grant"
        key = (site.id, visitor_hash)
        cached = self._ledger_answers.get(key)
        if cached is not None:
            granted, checked_at = cached
            if time.monotonic() - checked_at < (GRANT_LOOKUP_SECONDS if granted else EMPTY_LOOKUP_SECONDS):
                self._ledger_answers.move_to_end(key)
                return granted
        since = datetime.now(timezone.utc) - timedelta(days=CONSENT_VALID_DAYS)
        rows = await self._storage.run(
            self._storage.query_rows,
            f"SELECT argMax(decision, ts) FROM {self._storage.table('consent_ledger')} "
            "WHERE site = {site:String} AND visitor_hash = {visitor:UInt64} AND ts >= {since:DateTime64(3)} "
            f"AND ((decision = 'grant' AND {explicit_source_sql()}) OR decision = 'withdraw')",
            {"site": site.id, "visitor": visitor_hash, "since": since},
        )
        granted = bool(rows) and rows[0][0] == "grant"
        self._ledger_answers[key] = (granted, time.monotonic())
        while len(self._ledger_answers) > self._cache_size:
            self._ledger_answers.popitem(last=False)
        return granted

    def verdict(self, site: Site, decision: Decision, timeline: ConsentTimeline) -> Verdict:
        """Rules 1, 2 and 5; a cookie-sourced grant (6) is decided by `recent_explicit_grant`."""
        if not decision.analytics:
            return "withdraw" if timeline.consented_now else "deny"
        if timeline.consented_now:
            return "ignore"
        if decision.source in EXPLICIT_SOURCES:
            return "grant"
        if decision.source == IMPLICIT_SOURCE and site.consent == "loader":
            return "grant"
        return "ignore"

    def record(
        self, site: Site, keys: PageViewKeys, decision: Decision, verdict: Verdict, timeline: ConsentTimeline,
        ingest_path: str,
    ) -> None:
        """Write a decision to the ledger (no IP, no UA) and apply grants and withdrawals to the timeline.

        A refusal by a person who never consented is recorded anonymously: the row proves a decision
        was made and honoured but holds no visitor, session or page-view key (nothing about them is
        stored). Implicit or default signals are not decisions and leave no row.
        """
        if verdict == "ignore" or (verdict == "deny" and decision.source not in EXPLICIT_SOURCES):
            return
        if verdict == "deny":
            keys = PageViewKeys(visitor_hash=0, session_hash=0, pageview_id=0, page_num=0)
        else:
            if verdict == "withdraw" or decision.source in EXPLICIT_SOURCES:
                self._remember_visitor(site.id, keys.visitor_hash, verdict)
            timeline.add(decision.page_time, verdict == "grant")
            timeline.looked_up_empty_at = None
            if verdict == "grant":
                timeline.grant_source = decision.source
        marketing = ("marketing",) if decision.ad else ()
        granted = decision.categories_granted or (
            ("necessary", "analytics") + marketing if decision.analytics else ("necessary",)
        )
        denied = decision.categories_denied or (
            (() if decision.analytics else ("analytics",)) + (() if decision.ad else ("marketing",))
        )
        row = LedgerRow(
            site=site.id, ts=datetime.now(timezone.utc), visitor_hash=keys.visitor_hash,
            session_hash=keys.session_hash, pageview_id=keys.pageview_id,
            page_time=max(0, min(decision.page_time, 2**32 - 1)), ingest_path=ingest_path, decision=verdict,
            consent_source=decision.source, analytics=int(decision.analytics), ad=int(decision.ad),
            categories_granted=list(granted), categories_denied=list(denied), policy_version=site.policy_version,
        )
        self._writer.add([row])
