"""Sessionize Matomo hits into visits, as Matomo does (docs/matomo.md).

A hit continues its visitor's visit unless the last action is 30 minutes old or more, the site's
local day changed (midnight in the site's time zone), the hit's URL brings a different campaign, it
asks for one (`new_visit=1`) or the visit reached 10,000 actions. A consented hit with a visitor id
whose visitor has no visit yet joins the anonymous visit of the same daily fingerprint (matomo.js
sends the hits queued before consent without an id, then a ping with the new id).

Visits live in memory (bounded) and, durably, in the `visits` table: on a cache miss the visit is
restored from ClickHouse, so a restarted collector or another process continues it.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from collector.ingest.attribution import Attribution
from collector.ingest.matomo import SOURCE
from collector.ingest.matomo.hit import (
    DOWNLOAD,
    ECOMMERCE_ORDER,
    EVENT,
    GOAL,
    OUTLINK,
    PAGEVIEW,
    PERFORMANCE,
    SITE_SEARCH,
)
from ingest_schema.hashing import Hasher
from ingest_schema.storage import Storage

VISIT_IDLE_MS = 30 * 60 * 1000
MAX_ACTIONS = 10_000
CACHE_SIZE = 100_000
ACTION_KINDS = frozenset({PAGEVIEW, EVENT, SITE_SEARCH, OUTLINK, DOWNLOAD})
UTC = timezone.utc


@lru_cache(maxsize=256)
def site_zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def local_day(time_ms: int, zone: str) -> date:
    return datetime.fromtimestamp(time_ms / 1000, site_zone(zone)).date()


def utc_day(time_ms: int) -> date:
    return datetime.fromtimestamp(time_ms / 1000, UTC).date()


@dataclass
class Page:
    """One page view of a visit: its keys are fixed when it starts, whatever links later."""

    page_num: int
    pageview_id: int
    visitor_hash: int
    started_ms: int
    url: str = ""
    title: str = ""
    timings: dict[str, int] = field(default_factory=dict)  # page performance not yet stored (incomplete)
    timings_stored: bool = False  # the page view's one performance row is written

    @property
    def day(self) -> date:
        return utc_day(self.started_ms)


@dataclass
class Visit:
    site: str
    session_hash: int
    visitor_hash: int
    identified: bool  # keyed by a Matomo visitor id (else by the daily fingerprint)
    started_ms: int
    last_ms: int
    local_day: date
    attribution: Attribution
    anonymous_only: bool = False  # cookieless mode without consent: never linked to a visitor id
    pageviews: int = 0
    actions: int = 0
    goals: int = 0
    revenue: float = 0.0
    consent_source: int = 0
    user_hash: str = ""
    browser: str = ""
    os: str = ""
    device: str = ""
    country: str = ""
    entry: Page | None = None
    exit: Page | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    pages: dict[int, Page] = field(default_factory=dict)
    ledgered: set[tuple[int, int]] = field(default_factory=set)  # (page view, visitor hash) with a ledger row
    converted_goals: set[int] = field(default_factory=set)  # goal ids converted in this visit

    @property
    def day(self) -> date:
        return utc_day(self.started_ms)

    @property
    def bounce(self) -> bool:
        return self.actions <= 1

    @property
    def duration_s(self) -> int:
        return max(0, (self.last_ms - self.started_ms) // 1000)


@dataclass(frozen=True)
class Arrival:
    """What the sessionizer needs to know about a hit."""

    time_ms: int
    visitor_hash: int
    identified: bool  # the visitor hash comes from a Matomo visitor id, not the daily fingerprint
    fingerprint: int  # the daily-salted hash of site, IP and user agent
    attribution: Attribution
    new_visit: bool
    zone: str
    anonymous_only: bool = False
    url_campaign: tuple[str, str] = ("", "")  # campaign name and keyword in the hit's URL (not remembered ones)


def continues(visit: Visit, arrival: Arrival) -> bool:
    """Matomo's rules for "same visit" (VisitRequestProcessor::isVisitNew, inverted)."""
    if arrival.new_visit or visit.actions >= MAX_ACTIONS:
        return False
    if arrival.time_ms - visit.last_ms >= VISIT_IDLE_MS:
        return False
    if local_day(arrival.time_ms, arrival.zone) != visit.local_day:
        return False
    name, keyword = arrival.url_campaign
    return not (name and (name, keyword) != (visit.attribution.campaign_name, visit.attribution.campaign_keyword))


class Sessionizer:
    def __init__(self, storage: Storage, hasher: Hasher, cache_size: int = CACHE_SIZE) -> None:
        self._storage = storage
        self._hasher = hasher
        self._cache: OrderedDict[tuple[str, int], Visit] = OrderedDict()
        self._cache_size = cache_size
        self._inflight: dict[tuple[str, int], asyncio.Future[None]] = {}

    async def visit_for(self, site: str, arrival: Arrival) -> Visit:
        """The visit this hit belongs to: continued, linked to an anonymous one, or new."""
        key = (site, arrival.visitor_hash)
        visit = self._cache.get(key)
        if visit is None:
            await self._restore(site, arrival)
            visit = self._cache.get(key)
        if visit is None and arrival.identified:
            anonymous = self._cache.get((site, arrival.fingerprint))
            if (
                anonymous is not None
                and not anonymous.identified
                and not anonymous.anonymous_only
                and continues(anonymous, arrival)
            ):
                anonymous.visitor_hash, anonymous.identified = arrival.visitor_hash, True
                visit = anonymous
        if visit is None or not continues(visit, arrival):
            visit = self._new_visit(site, arrival)
        self._remember(key, visit)
        return visit

    def _new_visit(self, site: str, arrival: Arrival) -> Visit:
        return Visit(
            site=site,
            session_hash=int.from_bytes(secrets.token_bytes(8), "big") >> 1,
            visitor_hash=arrival.visitor_hash,
            identified=arrival.identified,
            started_ms=arrival.time_ms,
            last_ms=arrival.time_ms,
            local_day=local_day(arrival.time_ms, arrival.zone),
            attribution=arrival.attribution,
            anonymous_only=arrival.anonymous_only,
        )

    def _remember(self, key: tuple[str, int], visit: Visit) -> None:
        self._cache[key] = visit
        self._cache.move_to_end(key)
        while len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)

    async def _restore(self, site: str, arrival: Arrival) -> None:
        """Load the visitor's latest visit (or, for a new visitor id, its fingerprint's) from ClickHouse."""
        key = (site, arrival.visitor_hash)
        pending = self._inflight.get(key)
        if pending is not None:
            await asyncio.shield(pending)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            candidates = [arrival.visitor_hash] + ([arrival.fingerprint] if arrival.identified else [])
            found = await self._storage.run(self._load, site, candidates, arrival)
            if found is not None and (site, found.visitor_hash) not in self._cache:
                self._cache[(site, found.visitor_hash)] = found
        finally:
            del self._inflight[key]
            future.set_result(None)

    def _load(self, site: str, visitors: list[int], arrival: Arrival) -> Visit | None:
        since = datetime.fromtimestamp((arrival.time_ms - VISIT_IDLE_MS) / 1000, UTC)
        rows = self._storage.query_rows(
            "SELECT session_hash, visitor_hash, cookieless, toUnixTimestamp64Milli(started_at), "
            "toUnixTimestamp64Milli(last_at), pageviews, actions, goals, revenue, consent_source, user_hash, "
            "browser, os, device, country, channel, referrer_host, referrer_name, campaign_name, campaign_source, "
            "campaign_medium, campaign_keyword, campaign_content, dimensions "
            f"FROM {self._storage.table('visits')} FINAL "
            "WHERE site = {site:String} AND day >= toDate({since:DateTime64(3)}) - 1 "
            "AND visitor_hash IN {visitors:Array(UInt64)} AND last_at >= {since:DateTime64(3)} "
            "ORDER BY visitor_hash = {first:UInt64} DESC, last_at DESC LIMIT 1",
            {"site": site, "since": since, "visitors": visitors, "first": visitors[0]},
        )
        if not rows:
            return None
        visit = _visit_from_row(site, rows[0])
        if visit.visitor_hash == visitors[0]:
            visit.identified = arrival.identified
        elif visit.anonymous_only:
            return None  # an anonymous-only visit is never linked to a visitor id
        else:
            visit.visitor_hash, visit.identified = visitors[0], True  # the consent ping links its id
        pages = self._storage.query_rows(
            "SELECT pageview_id, any(page_num), any(visitor_hash), toUnixTimestamp64Milli(min(started_at)), "
            "argMax(url, last_at), argMax(title, last_at) "
            f"FROM {self._storage.table('pageviews')} WHERE site = {{site:String}} AND source = '{SOURCE}' "
            "AND day >= toDate({since:DateTime64(3)}) - 1 AND session_hash = {session:UInt64} GROUP BY pageview_id",
            {"site": site, "since": since, "session": visit.session_hash},
        )
        for pageview_id, page_num, visitor_hash, started_ms, url, title in pages:
            page = Page(int(page_num), int(pageview_id), int(visitor_hash), int(started_ms), str(url), str(title))
            visit.pages[page.pageview_id] = page
        self._load_outcomes(visit, since)
        ordered = sorted(visit.pages.values(), key=lambda p: (p.started_ms, p.page_num))
        if ordered:
            visit.entry, visit.exit = ordered[0], ordered[-1]
        visit.local_day = local_day(visit.started_ms, arrival.zone)
        return visit

    def _load_outcomes(self, visit: Visit, since: datetime) -> None:
        """The restored visit's converted goals and the page views whose timings are stored."""
        rows = self._storage.query_rows(
            f"SELECT DISTINCT type, pageview_id, key FROM {self._storage.table('events')} "
            f"WHERE site = {{site:String}} AND source = '{SOURCE}' AND day >= toDate({{since:DateTime64(3)}}) - 1 "
            f"AND type IN ({GOAL}, {PERFORMANCE}) AND session_hash = {{session:UInt64}}",
            {"site": visit.site, "since": since, "session": visit.session_hash},
        )
        for kind, pageview_id, key in rows:
            if kind == GOAL and str(key).lstrip("-").isdecimal():
                visit.converted_goals.add(int(key))
            elif kind == PERFORMANCE and int(pageview_id) in visit.pages:
                visit.pages[int(pageview_id)].timings_stored = True


def _visit_from_row(site: str, row: tuple[Any, ...]) -> Visit:
    (
        session_hash,
        visitor_hash,
        cookieless,
        started_ms,
        last_ms,
        pageviews,
        actions,
        goals,
        revenue,
        consent_source,
        user_hash,
        browser,
        os_name,
        device,
        country,
        channel,
        ref_host,
        ref_name,
        c_name,
        c_source,
        c_medium,
        c_keyword,
        c_content,
        dimensions,
    ) = row
    attribution = Attribution(
        channel=str(channel),
        referrer_host=str(ref_host),
        referrer_name=str(ref_name),
        campaign_name=str(c_name),
        campaign_source=str(c_source),
        campaign_medium=str(c_medium),
        campaign_keyword=str(c_keyword),
        campaign_content=str(c_content),
    )
    return Visit(
        site=site,
        session_hash=int(session_hash),
        visitor_hash=int(visitor_hash),
        identified=False,
        started_ms=int(started_ms),
        last_ms=int(last_ms),
        local_day=date.min,
        attribution=attribution,
        anonymous_only=bool(cookieless),
        pageviews=int(pageviews),
        actions=int(actions),
        goals=int(goals),
        revenue=float(revenue),
        consent_source=int(consent_source),
        user_hash=str(user_hash),
        browser=str(browser),
        os=str(os_name),
        device=str(device),
        country=str(country),
        dimensions=dict(dimensions or {}),
    )


def goal_converts(visit: Visit, goal_id: int, allow_multiple: frozenset[int]) -> bool:
    """Matomo's rule: a goal converts once per visit unless the goal allows several conversions
    (GoalManager::recordStandardGoals: `buster` 0 and an ignored duplicate key when allow_multiple = 0)."""
    return goal_id in allow_multiple or goal_id not in visit.converted_goals


def record_hit(
    visit: Visit, kind: int, time_ms: int, page: Page | None, revenue: float, converts: bool = True, goal_id: int = -1
) -> None:
    """Count one stored hit into its visit (page views are counted when their page starts); a goal
    that does not convert again only moves the visit's last action time."""
    visit.last_ms = max(visit.last_ms, time_ms)
    if kind in ACTION_KINDS and kind != PAGEVIEW:
        visit.actions += 1
    if kind in (GOAL, ECOMMERCE_ORDER) and converts:
        visit.goals += 1
        visit.revenue += revenue
        if kind == GOAL:
            visit.converted_goals.add(goal_id)
    if page is not None and (visit.exit is None or page.started_ms >= visit.exit.started_ms):
        visit.exit = page


def page_for(hasher: Hasher, visit: Visit, kind: int, pv_id: str, time_ms: int) -> tuple[Page | None, bool]:
    """(the page view a hit belongs to, whether the hit started it). A page view hit starts its page
    unless the same `pv_id` was seen (a re-sent hit); other hits join their `pv_id`'s page, or the
    visit's latest page when they carry none."""
    if kind == PAGEVIEW:
        pageview_id = hasher.h64(
            "pageview", visit.site, SOURCE, str(visit.session_hash), pv_id or f"#{visit.actions + 1}"
        )
        page = visit.pages.get(pageview_id)
        if page is not None:
            return page, False
        visit.actions += 1
        visit.pageviews += 1
        page = Page(visit.actions, pageview_id, visit.visitor_hash, time_ms)
        visit.pages[pageview_id] = page
        if visit.entry is None:
            visit.entry = page
        return page, True
    if pv_id:
        pageview_id = hasher.h64("pageview", visit.site, SOURCE, str(visit.session_hash), pv_id)
        return visit.pages.get(pageview_id), False
    return visit.exit, False


#: matomo.js sends the navigation timings known when the page view is tracked, then the full set with
#: the page's next hit once the page has loaded; `onl` (the load event) is the last one known.
LAST_TIMING = "onl"


def timings_to_store(
    visit: Visit, page: Page | None, timings: dict[str, int], started: bool
) -> list[tuple[Page | None, dict[str, int]]]:
    """Which performance rows to write now, so each page view gets one row, the most complete.

    The timings of a page view are held on its page until they are complete (they include the load
    event), then stored once; later copies are ignored. When a new page view starts, the incomplete
    timings of the visit's other pages are stored as they are (their page is left). A hit that
    belongs to no known page view is stored as it came.
    """
    out: list[tuple[Page | None, dict[str, int]]] = []
    if started:
        for other in visit.pages.values():
            if other is not page and other.timings and not other.timings_stored:
                out.append((other, other.timings))
                other.timings, other.timings_stored = {}, True
    if not timings:
        return out
    if page is None:
        return out + [(None, timings)]
    if page.timings_stored:
        return out
    page.timings = {**page.timings, **timings}
    if LAST_TIMING in page.timings:
        out.append((page, page.timings))
        page.timings, page.timings_stored = {}, True
    return out
