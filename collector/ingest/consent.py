"""The consent gate (docs/consent.md): may this page view's data be stored, from when?

A page view's consent is a timeline of decisions (page-relative ms → consented or not). Its
uploads may reach any collector process of the host (COLLECTOR_WORKERS, docs/scale-out.md), so the
timeline lives in the consent store every process shares (collector.ingest.consent_store) and is
read from it for every upload; the ledger in ClickHouse is its durable record and answers for page
views and visitors the store does not hold (older than the store keeps, or decided on another host).
"""

from __future__ import annotations

import bisect
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Literal, Protocol, TypeVar

from collector.core.sites import Site
from collector.ingest.consent_store import ConsentStore, StoredDecision
from collector.ingest.writer import BatchWriter
from ingest_schema.codes import EXPLICIT_SOURCES, IMPLICIT_SOURCE, explicit_source_sql
from ingest_schema.hashing import PageViewKeys
from ingest_schema.rows import LedgerRow
from ingest_schema.storage import Storage
from ingest_schema.tables import CONSENT_VALID_DAYS

#: How long a "no decision in the ledger" answer is trusted before asking the ledger again. Only
#: decisions made on another host can be missed meanwhile (this host's are in the shared store).
EMPTY_LOOKUP_SECONDS = 30.0
#: How long a remembered grant found in the ledger is trusted before asking again (it expires after 6 months).
GRANT_LOOKUP_SECONDS = 3600.0
#: Page starts remembered in this process (a page view's start never changes once fixed).
PAGE_START_MEMO = 100_000

Verdict = Literal["grant", "withdraw", "deny", "ignore"]
K = TypeVar("K")
V = TypeVar("V")


@dataclass
class ConsentTimeline:
    """Decisions for one page view, in page time; `allowed(t)` answers for an event at t."""

    times: list[int] = field(default_factory=list)
    states: list[bool] = field(default_factory=list)
    grant_source: int = 0
    recorded: int = 0  # decisions of the shared store this object holds (in the store's order)

    def add(self, at: int, consented: bool) -> None:
        index = bisect.bisect_right(self.times, at)
        self.times.insert(index, at)
        self.states.insert(index, consented)

    def add_stored(self, decisions: list[StoredDecision]) -> None:
        for page_time, granted, source in decisions:
            self.add(page_time, granted)
            if granted:
                self.grant_source = source
        self.recorded += len(decisions)

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


class LedgerReader(Protocol):
    """The two questions the gate asks the consent ledger: directly in ClickHouse (`StorageLedger`), or,
    in a worker without storage, through the process that has it (collector.server.owner)."""

    async def pageview_decisions(self, site: str, visitor_hash: int, pageview_id: int) -> list[StoredDecision]: ...

    async def recent_explicit_grant(self, site: str, visitor_hash: int) -> bool: ...


class StorageLedger:
    """The ledger questions as SQL over the `consent_ledger` table."""

    def __init__(self, storage: Storage) -> None:
        self._storage = storage

    async def pageview_decisions(self, site: str, visitor_hash: int, pageview_id: int) -> list[StoredDecision]:
        rows = await self._storage.run(
            self._storage.query_rows,
            f"SELECT page_time, decision, consent_source FROM {self._storage.table('consent_ledger')} "
            "WHERE site = {site:String} AND visitor_hash = {visitor:UInt64} AND pageview_id = {pv:UInt64} "
            "ORDER BY ts",
            {"site": site, "visitor": visitor_hash, "pv": pageview_id},
        )
        return [(int(page_time), decision == "grant", int(source)) for page_time, decision, source in rows]

    async def recent_explicit_grant(self, site: str, visitor_hash: int) -> bool:
        since = datetime.now(timezone.utc) - timedelta(days=CONSENT_VALID_DAYS)
        rows = await self._storage.run(
            self._storage.query_rows,
            f"SELECT argMax(decision, ts) FROM {self._storage.table('consent_ledger')} "
            "WHERE site = {site:String} AND visitor_hash = {visitor:UInt64} AND ts >= {since:DateTime64(3)} "
            f"AND ((decision = 'grant' AND {explicit_source_sql()}) OR decision = 'withdraw')",
            {"site": site, "visitor": visitor_hash, "since": since},
        )
        return bool(rows) and rows[0][0] == "grant"


class ConsentGate:
    def __init__(self, ledger: LedgerReader, store: ConsentStore, writer: BatchWriter, cache_size: int) -> None:
        self._ledger = ledger
        self._store = store
        self._writer = writer
        self._cache_size = cache_size
        #: Page views whose ledger had no decision when last asked (monotonic time of the answer).
        self._empty_lookups: OrderedDict[int, float] = OrderedDict()
        #: Recent ledger answers to "has this visitor a recent explicit grant?" (both ingest paths ask).
        self._ledger_answers: OrderedDict[tuple[str, int], tuple[bool, float]] = OrderedDict()
        self._page_starts: OrderedDict[int, int] = OrderedDict()

    async def timeline(self, site: Site, keys: PageViewKeys, first_payload: bool) -> ConsentTimeline:
        """The page view's decisions so far: from the shared store, else (not on its first payload) from
        the ledger, whose answer is copied into the store for the other processes."""
        timeline = ConsentTimeline()
        stored = self._store.decisions(keys.pageview_id)
        if stored or first_payload:
            timeline.add_stored(stored)
            return timeline
        asked = self._empty_lookups.get(keys.pageview_id)
        if asked is not None and time.monotonic() - asked < EMPTY_LOOKUP_SECONDS:
            return timeline
        found = await self._ledger.pageview_decisions(site.id, keys.visitor_hash, keys.pageview_id)
        if found:
            self._empty_lookups.pop(keys.pageview_id, None)
            timeline.add_stored(self._store.adopt(keys.pageview_id, found))
        else:
            _bounded_put(self._empty_lookups, keys.pageview_id, time.monotonic(), self._cache_size)
        return timeline

    def page_start(self, pageview_id: int, estimate_ms: int) -> int:
        """Epoch ms of the page view's start by the server clock, fixed by the first payload any process saw."""
        known = self._page_starts.get(pageview_id)
        if known is None:
            known = self._store.page_start(pageview_id, estimate_ms)
            _bounded_put(self._page_starts, pageview_id, known, PAGE_START_MEMO)
        return known

    async def recent_explicit_grant(self, site: Site, visitor_hash: int) -> bool:
        """Rule 4: a remembered (cookie) consent counts only if an explicit grant < 6 months old exists
        and was not withdrawn since."""
        remembered = self._store.visitor_decision(site.id, visitor_hash)
        if remembered is not None and time.time() - remembered[0] < CONSENT_VALID_DAYS * 86400:
            return remembered[1] == "grant"
        key = (site.id, visitor_hash)
        cached = self._ledger_answers.get(key)
        if cached is not None:
            granted, checked_at = cached
            if time.monotonic() - checked_at < (GRANT_LOOKUP_SECONDS if granted else EMPTY_LOOKUP_SECONDS):
                self._ledger_answers.move_to_end(key)
                return granted
        granted = await self._ledger.recent_explicit_grant(site.id, visitor_hash)
        _bounded_put(self._ledger_answers, key, (granted, time.monotonic()), self._cache_size)
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
        self,
        site: Site,
        keys: PageViewKeys,
        decision: Decision,
        verdict: Verdict,
        timeline: ConsentTimeline,
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
                self._store.set_visitor_decision(site.id, keys.visitor_hash, verdict)
            stored: StoredDecision = (decision.page_time, verdict == "grant", decision.source)
            timeline.add_stored(self._store.add_decision(keys.pageview_id, stored, timeline.recorded))
            timeline.add_stored([stored])
            self._empty_lookups.pop(keys.pageview_id, None)
        marketing = ("marketing",) if decision.ad else ()
        granted = decision.categories_granted or (
            ("necessary", "analytics") + marketing if decision.analytics else ("necessary",)
        )
        denied = decision.categories_denied or (
            (() if decision.analytics else ("analytics",)) + (() if decision.ad else ("marketing",))
        )
        row = LedgerRow(
            site=site.id,
            ts=datetime.now(timezone.utc),
            visitor_hash=keys.visitor_hash,
            session_hash=keys.session_hash,
            pageview_id=keys.pageview_id,
            page_time=max(0, min(decision.page_time, 2**32 - 1)),
            ingest_path=ingest_path,
            decision=verdict,
            consent_source=decision.source,
            analytics=int(decision.analytics),
            ad=int(decision.ad),
            categories_granted=list(granted),
            categories_denied=list(denied),
            policy_version=site.policy_version,
        )
        self._writer.add([row])


def _bounded_put(memo: OrderedDict[K, V], key: K, value: V, size: int) -> None:
    memo[key] = value
    memo.move_to_end(key)
    while len(memo) > size:
        memo.popitem(last=False)
