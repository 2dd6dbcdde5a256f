"""Query benchmark: the dashboard panels through the real query layer on millions of generated events.

For each size (`--events`, default 10,000,000; give it twice for "query time vs rows"), in a fresh
embedded ClickHouse folder with the collector's migrations applied:

1. generates realistic traffic straight into the tables with column-oriented clickhouse-connect
   inserts in large batches (this measures queries, not ingest): a few sites (two Clarity-format, one
   Matomo), ~90 days, Zipf pages, visits of 1-10 page views, a mix of channels, referrers, campaigns,
   countries, devices and browsers. Page views are written as the collector writes them: one
   `pageviews` row per Clarity upload or Matomo hit (merged by key), so `visit_stats` is fed by its
   materialized view exactly as in production. `events` holds what clarity-js sends in its analytics
   stream (metrics, baselines, dimensions, clicks with page coordinates and target hashes, scrolls,
   pointer moves, inputs, custom events, ...) and Matomo actions (types 1001-1010); "N events" means
   N rows of `events`. Playback rows (short synthetic payloads) cover the last 30 days (the table's TTL):
   clarity-js's envelope (sequence, page time and duration of the upload), the upload's clicks and script
   errors as clarity-js writes them, and DOM changes (a snapshot in the first upload, then Mutations), so the
   columns ClickHouse extracts from them (`payload_clicks`, `mutation_times`, `page_end`) feed the dead-click
   rule as in production. The frustration signals come in proportions like a real site's (a few percent of
   visits each; `tests/test_bench_generator.py` holds them found by the insights panel):
   - dead clicks: 6 % of the non-link elements do nothing (an image, a disabled button) and 70 % of their
     clicks change nothing within a second; on other elements 1.5 %; about 5 % of all clicks. Every other
     click is followed by a DOM change 16-950 ms later; 30 % of the dead ones by a late one (1.1-3 s);
   - rage: 0.012 bursts of 3 clicks per page view (plus clicks that happen to form one), half of them dead;
   - JavaScript errors (type 31: message, line, column, stack, source) on 2.5 % of page views, 40 % on the
     2 % of pages with a broken script; one of six messages per page view (weighted: ResizeObserver, a
     TypeError in the cart script, gtag undefined, cross-origin "Script error.", ...), sent 1-5 times;
   - quick backs: 6 % of the page views with a page before and after them last 1.5-6 s and lead back;
   - excessive scrolling: 8 % of page views scroll up and down, the others only down the page;
2. merges the parts (OPTIMIZE FINAL, the steady state a long-running collector's background merges
   reach) and prints the generation rate and the disk used per million events, per table;
3. times the panels (`run_panel(storage, PANELS[name], parse_query(...), use_view=...)`) with and without
   the visit_stats view, for 7 and 30 days, without and with a country filter, each --runs times after a
   warm-up, beside a raw `SELECT count() FROM pageviews WHERE site AND day BETWEEN` baseline run the same way.
   With `--archive`, the closed days' frustration signals are archived first (dashboards/archive.py, as the
   collector does in the background) and the time that took is reported, so the insights read the archive.

Appends a "Queries" section to bench/RESULTS.md (--output; --no-write to only print). Timings are
wall-clock on a shared machine: read them as orders of magnitude, and p50 over p95.
"""

from __future__ import annotations

import argparse
import gc
import os
import platform
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from functools import partial
from pathlib import Path
from typing import Any, Callable, TypeVar

import numpy as np
import orjson

from dashboards.archive import archive_due
from dashboards.insights import DEAD_WINDOW_MS
from dashboards.queries import PANELS, parse_query, run_panel, view_available
from dashboards.segments import save_segment
from ingest_schema import TABLES
from ingest_schema.storage import Storage

T = TypeVar("T")
DATABASE = "analytics"
MS_DAY = 86_400_000
TARGETS = 8  # clickable elements per page
EVENTS_PER_VISIT_GUESS = 40  # only sizes the visitor pools and chunks; the real mix is printed
MAX_INSERT_ROWS = 1_000_000
TIME_BITS = 22  # page times (ms, under 2**22: page views last 30 min at most) packed beside a page view index
BENCH_TABLES = ("pageviews", "events", "playback", "visit_stats")


# --- the shape of the traffic -------------------------------------------------------------------


@dataclass(frozen=True)
class Site:
    id: str
    host: str
    source: str  # clarity | beacon | matomo
    share: float
    pages: int


SITES = (
    Site("shop", "shop.example.com", "clarity", 0.60, 2500),
    Site("blog", "blog.example.org", "beacon", 0.25, 1200),
    Site("docs", "docs.example.net", "matomo", 0.15, 800),
)
BENCH_SITE = "shop"

COUNTRIES = (
    ("US", 22),
    ("DE", 14),
    ("GB", 9),
    ("FR", 8),
    ("IN", 6),
    ("NL", 5),
    ("CA", 4),
    ("ES", 4),
    ("IT", 4),
    ("BR", 4),
    ("PL", 3),
    ("SE", 3),
    ("JP", 3),
    ("AU", 3),
    ("CH", 2),
    ("AT", 2),
    ("BE", 2),
    ("MX", 1.5),
    ("TR", 1.5),
    ("", 1),
)
FILTER = ("country", "DE")
DEVICES = (("desktop", 52), ("mobile", 42), ("tablet", 5), ("unknown", 1))
#: (browser, os, weight) per device class, ua-parser families as collector/enrich.py stores them.
AGENTS = {
    "desktop": (
        ("Chrome", "Windows", 45),
        ("Chrome", "Mac OS X", 10),
        ("Chrome", "Linux", 5),
        ("Edge", "Windows", 13),
        ("Firefox", "Windows", 7),
        ("Firefox", "Linux", 3),
        ("Firefox", "Mac OS X", 2),
        ("Safari", "Mac OS X", 12),
        ("Opera", "Windows", 3),
    ),
    "mobile": (
        ("Chrome Mobile", "Android", 50),
        ("Mobile Safari", "iOS", 38),
        ("Samsung Internet", "Android", 8),
        ("Firefox Mobile", "Android", 2),
        ("Chrome Mobile iOS", "iOS", 2),
    ),
    "tablet": (("Mobile Safari", "iOS", 60), ("Chrome Mobile", "Android", 40)),
    "unknown": (("", "", 80), ("curl", "Linux", 20)),
}
SCREENS = {
    "desktop": ((1920, 1080), (1536, 864), (1440, 900), (1366, 768), (2560, 1440), (1280, 720)),
    "mobile": ((390, 844), (393, 873), (412, 915), (360, 800), (414, 896), (375, 667)),
    "tablet": ((810, 1080), (820, 1180), (768, 1024), (1024, 1366)),
    "unknown": ((0, 0),),
}
CHANNELS = (("direct", 33), ("search", 37), ("social", 9), ("website", 13), ("campaign", 8))
SEARCH = (
    ("www.google.com", "Google", 80),
    ("www.bing.com", "Bing", 8),
    ("duckduckgo.com", "DuckDuckGo", 6),
    ("www.ecosia.org", "Ecosia", 3),
    ("search.yahoo.com", "Yahoo!", 3),
)
SOCIAL = (
    ("www.facebook.com", "Facebook", 30),
    ("t.co", "Twitter", 20),
    ("www.linkedin.com", "LinkedIn", 20),
    ("www.reddit.com", "reddit", 20),
    ("www.youtube.com", "YouTube", 10),
)
CAMPAIGNS = (
    ("spring_sale", "newsletter", "email"),
    ("black_friday", "google", "cpc"),
    ("retarget", "facebook", "social"),
    ("launch_2026", "newsletter", "email"),
    ("brand", "google", "cpc"),
    ("partners", "partner-site", "referral"),
    ("webinar", "linkedin", "social"),
    ("summer", "bing", "cpc"),
)
#: frustration signals (docstring): share of elements that do nothing, the dead share of their clicks and of the
#: others', of rage bursts, and of slow reactions among dead clicks (a DOM change 1.1-3 s later instead of none)
DECOY_SHARE, DECOY_DEAD, OTHER_DEAD, RAGE_DEAD, SLOW_DEAD = 0.06, 0.7, 0.015, 0.5, 0.3
RAGE_BURSTS = 0.012  # rage bursts per page view
#: pages with a broken script, their views with errors, and the views with errors elsewhere
BROKEN_PAGE_SHARE, BROKEN_PAGE_ERRORS, PAGE_ERRORS = 0.02, 0.4, 0.025
#: page views whose scroll positions go up and down (the others only go down the page)
SCROLL_SEARCH = 0.08
#: page views (of those with a page before and after them in their visit) left quickly back to the page before
QUICK_BACK_SHARE = 0.06
#: ScriptError events (31) as clarity-js sends them: message, line, column, stack, script (path on the site; "" for
#: a cross-origin script), weight
SCRIPT_ERRORS = (
    ("ResizeObserver loop completed with undelivered notifications.", 0, 0, "", "", 30),
    (
        "Uncaught TypeError: Cannot read properties of undefined (reading 'price')",
        212,
        17,
        "TypeError: Cannot read properties of undefined (reading 'price')\n    at renderCart (cart.3f9a1c.js:212:17)",
        "/static/js/cart.3f9a1c.js",
        20,
    ),
    ("Uncaught ReferenceError: gtag is not defined", 88, 5, "", "/static/js/app.8c41d2.js", 15),
    ("Script error.", 0, 0, "", "", 15),
    (
        "Uncaught (in promise) TypeError: Failed to fetch",
        1543,
        23,
        "TypeError: Failed to fetch\n    at loadStock (app.8c41d2.js:1543:23)",
        "/static/js/app.8c41d2.js",
        12,
    ),
    ("TypeError: null is not an object (evaluating 'e.parentNode')", 2, 48213, "", "/static/js/vendor.a77e0b.js", 8),
)
PAGES_PER_VISIT = np.array([42, 18, 12, 8, 6, 5, 4, 2.5, 1.5, 1.0]) / 100
CUSTOM_EVENTS = (
    ("signup", "started"),
    ("signup", "done"),
    ("add_to_cart", "product"),
    ("video", "play"),
    ("newsletter", "subscribe"),
    ("chat", "open"),
)
MATOMO_CATEGORIES = (
    ("Video", "Play"),
    ("Video", "Pause"),
    ("Form", "Submit"),
    ("Docs", "Copy code"),
    ("Nav", "Menu"),
    ("Search", "Filter"),
)
TAGS = ("a", "button", "div", "span", "img", "input", "li", "h2")
WORDS = (
    "pricing",
    "features",
    "guide",
    "install",
    "release",
    "notes",
    "api",
    "shoes",
    "jacket",
    "summer",
    "setup",
    "faq",
    "contact",
    "careers",
    "privacy",
    "cloud",
    "security",
    "blue",
    "green",
    "classic",
    "pro",
    "mini",
)


def _weights(pairs: tuple[tuple[Any, ...], ...]) -> np.ndarray:
    w = np.array([p[-1] for p in pairs], dtype=float)
    w /= w.sum()
    return w


def _zipf(n: int, s: float = 1.05) -> np.ndarray:
    p = 1.0 / np.arange(1, n + 1) ** s
    p /= p.sum()
    return p


class Strings:
    """Interned strings: columns are built as index arrays, turned into lists at insert time."""

    def __init__(self) -> None:
        self.values: list[str] = [""]
        self._index: dict[str, int] = {"": 0}

    def add(self, value: str) -> int:
        index = self._index.get(value)
        if index is None:
            index = self._index[value] = len(self.values)
            self.values.append(value)
        return index

    def array(self, values: list[str]) -> np.ndarray:
        return np.array([self.add(v) for v in values], dtype=np.int64)

    def lookup(self, indices: np.ndarray) -> list[str]:
        table = np.array(self.values, dtype=object)
        return list(table[indices])


@dataclass
class Catalog:
    """The pages of one site: paths, titles, heights and the clickable elements of each page."""

    urls: np.ndarray  # string index of the full URL
    titles: np.ndarray
    doc_height: np.ndarray
    p: np.ndarray  # Zipf popularity
    t_cx: np.ndarray  # (pages, TARGETS) centre x as a fraction of the document width
    t_cy: np.ndarray  # (pages, TARGETS) centre y in px (desktop layout)
    t_id: np.ndarray  # (pages, TARGETS) Clarity node id
    t_hash: np.ndarray
    t_tag: np.ndarray
    t_text: np.ndarray
    t_link: np.ndarray
    t_dead: np.ndarray  # (pages, TARGETS) chance that a click on the element changes nothing within a second
    error_rate: np.ndarray  # chance that a page view of the page reports JavaScript errors
    paths: list[str] = field(default_factory=list)


def _path(rng: np.random.Generator, site: Site, rank: int) -> tuple[str, str]:
    if rank == 0:
        return "/", f"{site.id.title()} home"
    a, b = WORDS[rng.integers(len(WORDS))], WORDS[rng.integers(len(WORDS))]
    if site.id == "shop":
        kind = ("product", "product", "product", "category", "search")[rng.integers(5)]
        fixed = {1: "/cart", 2: "/checkout", 3: "/pricing"}
        path = fixed.get(rank, f"/{kind}/{a}-{b}-{rank}")
    elif site.id == "blog":
        path = {1: "/about"}.get(rank, f"/blog/{2024 + rank % 3}/{a}-{b}-{rank}")
    else:
        path = f"/docs/{a}/{b}-{rank}"
    return path, f"{a.title()} {b} {rank} | {site.id.title()}"


def build_catalog(rng: np.random.Generator, site: Site, strings: Strings) -> Catalog:
    n = site.pages
    names = [_path(rng, site, rank) for rank in range(n)]
    paths = [p for p, _ in names]
    urls = strings.array([f"https://{site.host}{p}" for p in paths])
    titles = strings.array([t for _, t in names])
    doc_height = np.exp(rng.uniform(np.log(1200), np.log(15000), n)).astype(np.int64)
    t_cx = rng.uniform(0.05, 0.95, (n, TARGETS))
    t_cy = (rng.beta(1.1, 3.0, (n, TARGETS)) * doc_height[:, None]).astype(np.int64)
    t_cy[:, 0] = rng.integers(20, 70, n)  # the navigation bar
    t_id = rng.integers(20, 3000, (n, TARGETS))
    hashes = [format(int(v), "x") for v in rng.integers(1 << 35, 1 << 40, n * TARGETS)]
    t_hash = strings.array(hashes).reshape(n, TARGETS)
    tag_index = rng.integers(len(TAGS), size=(n, TARGETS))
    t_tag = strings.array([TAGS[i] for i in tag_index.ravel()]).reshape(n, TARGETS)
    texts = [
        f"{WORDS[i % len(WORDS)].title()} {WORDS[(i * 7) % len(WORDS)]}" for i in rng.integers(0, 10_000, n * TARGETS)
    ]
    t_text = strings.array(texts).reshape(n, TARGETS)
    link_to = rng.integers(0, n, (n, TARGETS))
    is_link = tag_index == 0
    t_link = np.where(is_link, urls[link_to], 0)
    # a few elements look clickable but do nothing (an image, a label, a disabled button): most of their clicks
    # are dead; every other element reacts but for the odd slow or swallowed click
    decoy = (rng.random((n, TARGETS)) < DECOY_SHARE) & ~is_link
    t_dead = np.where(decoy, DECOY_DEAD, OTHER_DEAD)
    # a few pages ship a broken script: most of their views report errors; elsewhere errors are rare
    error_rate = np.where(rng.random(n) < BROKEN_PAGE_SHARE, BROKEN_PAGE_ERRORS, PAGE_ERRORS)
    return Catalog(
        urls, titles, doc_height, _zipf(n), t_cx, t_cy, t_id, t_hash, t_tag, t_text, t_link, t_dead, error_rate, paths
    )


def _expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(parent index, position within the parent) of the children of parents with `counts` children."""
    parent = np.repeat(np.arange(len(counts)), counts)
    starts = np.cumsum(counts) - counts
    return parent, np.arange(len(parent)) - starts[parent]


def _upload_index(
    pv: dict[str, np.ndarray], clarity: np.ndarray, up: dict[str, np.ndarray], g: np.ndarray, t: np.ndarray
) -> np.ndarray:
    """The upload (index into `up`) of page view `g` whose time span holds page time `t` (ms; clamped to the
    page view's first and last upload): clarity-js sends what happened since the previous upload."""
    slot = np.zeros(len(pv["of"]), dtype=np.int64)
    slot[clarity] = np.arange(len(clarity))
    count = up["count"][slot[g]]
    base = np.cumsum(up["count"]) - up["count"]
    index: np.ndarray = base[slot[g]] + np.clip(t * count // np.maximum(pv["dwell"][g], 1), 0, count - 1)
    return index


def _pick(rng: np.random.Generator, options: tuple[tuple[Any, ...], ...], n: int) -> np.ndarray:
    return rng.choice(len(options), n, p=_weights(options))


class Events:
    """Event rows under construction: parallel numpy arrays plus the data strings. `dead` is not stored: how the
    page reacts to a click (0 a DOM change within a second, 1 none, 2 one only 1.1-3 s later)."""

    NUMERIC = ("pv", "ts", "type", "x", "y", "target", "hash", "tag", "text", "link", "key", "value", "num", "dead")

    def __init__(self) -> None:
        self.parts: list[dict[str, Any]] = []

    def add(self, pv: np.ndarray, ts: np.ndarray, kind: int | np.ndarray, data: list[str], **columns: Any) -> None:
        n = len(pv)
        if not n:
            return
        part: dict[str, Any] = {"pv": pv, "ts": ts, "data": data}
        for name in self.NUMERIC[2:]:
            value = kind if name == "type" else columns.get(name, 0)
            dtype = np.float64 if name == "num" else np.int64
            part[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,))
        self.parts.append(part)

    def merged(self) -> dict[str, Any]:
        out: dict[str, Any] = {name: np.concatenate([p[name] for p in self.parts]) for name in self.NUMERIC}
        out["data"] = [d for p in self.parts for d in p["data"]]
        return out


class Generator:
    """Visits → page views → payload rows, events and playback, a chunk of visits at a time."""

    def __init__(self, seed: int, days: int, end_ms: int, target_events: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.days, self.end_ms = days, end_ms
        self.first_day = end_ms // MS_DAY - days + 1
        self.strings = Strings()
        self.catalogs = [build_catalog(self.rng, s, self.strings) for s in SITES]
        visits = max(target_events // EVENTS_PER_VISIT_GUESS, 1000)
        self.pools = [
            self.rng.integers(1, 2**63, max(int(visits * s.share * 0.7), 500), dtype=np.uint64) for s in SITES
        ]
        self.country = self.strings.array([c for c, _ in COUNTRIES])
        self.sources = self.strings.array([s.source for s in SITES])
        self.site_ids = self.strings.array([s.id for s in SITES])
        # traffic grows slowly and dips at weekends; more visits in the afternoon (UTC)
        day_numbers = np.arange(self.first_day, self.first_day + days)
        weekday = (day_numbers + 3) % 7  # 1970-01-01 was a Thursday
        self.day_p = (1 + 0.4 * np.arange(days) / days) * np.where(weekday >= 5, 0.7, 1.0)
        self.day_p /= self.day_p.sum()
        hours = 1 + np.sin((np.arange(24) - 8) / 24 * 2 * np.pi) * 0.8
        self.hour_p = hours / hours.sum()
        self.playback_from_ms = end_ms - 30 * MS_DAY

    # -- visits --------------------------------------------------------------------------------

    def visits(self, n: int) -> dict[str, np.ndarray]:
        rng, s = self.rng, self.strings
        site = rng.choice(len(SITES), n, p=_weights(tuple((x.id, x.share) for x in SITES)))
        day = self.first_day + rng.choice(self.days, n, p=self.day_p)
        start = day * MS_DAY + rng.choice(24, n, p=self.hour_p) * 3_600_000 + rng.integers(0, 3_600_000, n)
        start = np.where(start > self.end_ms - 3_600_000, start - MS_DAY, start)
        visitor = np.zeros(n, dtype=np.uint64)
        for i, pool in enumerate(self.pools):
            mask = site == i
            loyal = rng.random(mask.sum()) < 0.25
            index = np.where(
                loyal, rng.integers(0, max(len(pool) // 40, 1), mask.sum()), rng.integers(0, len(pool), mask.sum())
            )
            visitor[mask] = pool[index]
        device = _pick(rng, DEVICES, n)
        browser, os_, screen_w, screen_h = (np.zeros(n, dtype=np.int64) for _ in range(4))
        for d, (name, _) in enumerate(DEVICES):
            mask = device == d
            agents = AGENTS[name]
            pick = rng.choice(len(agents), mask.sum(), p=_weights(agents))
            browser[mask] = s.array([a[0] for a in agents])[pick]
            os_[mask] = s.array([a[1] for a in agents])[pick]
            screens = np.array(SCREENS[name])
            pick = rng.integers(0, len(screens), mask.sum())
            screen_w[mask], screen_h[mask] = screens[pick, 0], screens[pick, 1]
        channel = _pick(rng, CHANNELS, n)
        ref_host, ref_name, ref_url = (np.zeros(n, dtype=np.int64) for _ in range(3))
        camp = np.full(n, -1)
        for c, (name, _) in enumerate(CHANNELS):
            mask = channel == c
            k = int(mask.sum())
            if name in ("search", "social"):
                table = SEARCH if name == "search" else SOCIAL
                pick = rng.choice(len(table), k, p=_weights(table))
                ref_host[mask] = s.array([t[0] for t in table])[pick]
                ref_name[mask] = s.array([t[1] for t in table])[pick]
                ref_url[mask] = s.array([f"https://{t[0]}/" for t in table])[pick]
            elif name == "website":
                pick = rng.zipf(1.3, k) % 400
                ref_host[mask] = [s.add(f"site{i}.example") for i in pick]
                ref_url[mask] = [s.add(f"https://site{i}.example/post/{i % 17}") for i in pick]
            elif name == "campaign":
                camp[mask] = rng.integers(0, len(CAMPAIGNS), k)
        identified = rng.random(n) < 0.05
        return {
            "site": site,
            "start": start,
            "visitor": visitor,
            "session": rng.integers(1, 2**63, n, dtype=np.uint64),
            "country": self.country[_pick(rng, COUNTRIES, n)],
            "device": s.array([d for d, _ in DEVICES])[device],
            "device_class": device,
            "browser": browser,
            "os": os_,
            "screen_w": screen_w,
            "screen_h": screen_h,
            "channel": s.array([c for c, _ in CHANNELS])[channel],
            "ref_host": ref_host,
            "ref_name": ref_name,
            "ref_url": ref_url,
            "campaign": camp,
            "user": np.where(identified, [s.add(format(int(v), "016x")) for v in rng.integers(1, 2**62, n)], 0),
            "consent": rng.choice(np.array([1, 2, 5]), n, p=[0.6, 0.3, 0.1]),
            "pages": rng.choice(10, n, p=PAGES_PER_VISIT) + 1,
        }

    # -- page views ----------------------------------------------------------------------------

    def page_views(self, v: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        rng = self.rng
        of, position = _expand(v["pages"])
        n = len(of)
        site = v["site"][of]
        page = np.zeros(n, dtype=np.int64)
        for i, catalog in enumerate(self.catalogs):
            mask = site == i
            page[mask] = rng.choice(len(catalog.p), mask.sum(), p=catalog.p)
        dwell = np.clip(rng.lognormal(np.log(35_000), 1.1, n), 2_000, 1_800_000).astype(np.int64)
        # quick backs: a page that was not what the link promised, left within seconds for the page before it
        back = np.flatnonzero((position >= 1) & (position + 1 < v["pages"][of]) & (rng.random(n) < QUICK_BACK_SHARE))
        page[back + 1] = page[back - 1]
        dwell[back] = rng.integers(1_500, 6_000, len(back))
        before = np.cumsum(dwell) - dwell
        first = np.cumsum(v["pages"]) - v["pages"]
        start = v["start"][of] + before - before[first[of]] + position * rng.integers(300, 1500, n)
        doc_height = np.zeros(n, dtype=np.int64)
        for i, catalog in enumerate(self.catalogs):
            mask = site == i
            doc_height[mask] = catalog.doc_height[page[mask]]
        device = v["device_class"][of]
        doc_width = np.where(device == 0, np.maximum(v["screen_w"][of] - 15, 0), v["screen_w"][of])
        doc_height = np.where(device == 0, doc_height, doc_height * 2)  # narrow layouts are taller
        viewport = np.maximum(v["screen_h"][of] - 120, 0)
        depth = rng.beta(1.6, 1.4, n)
        scroll_bottom = np.minimum(viewport + depth * np.maximum(doc_height - viewport, 0), doc_height).astype(np.int64)
        url = np.zeros(n, dtype=np.int64)
        title = np.zeros(n, dtype=np.int64)
        for i, catalog in enumerate(self.catalogs):
            mask = site == i
            url[mask], title[mask] = catalog.urls[page[mask]], catalog.titles[page[mask]]
        # the entry page of a campaign visit carries its campaign parameters
        campaign = v["campaign"][of]
        tagged = (position == 0) & (campaign >= 0)
        for j in np.flatnonzero(tagged):
            name, source, medium = CAMPAIGNS[campaign[j]]
            url[j] = self.strings.add(
                f"{self.strings.values[url[j]]}?utm_source={source}&utm_medium={medium}&utm_campaign={name}"
            )
        return {
            "of": of,
            "num": position + 1,
            "site": site,
            "page": page,
            "start": start,
            "end": start + dwell,
            "dwell": dwell,
            "id": rng.integers(1, 2**63, n, dtype=np.uint64),
            "day": start // MS_DAY,
            "url": url,
            "title": title,
            "doc_width": doc_width,
            "doc_height": doc_height,
            "viewport": viewport,
            "scroll_bottom": scroll_bottom,
            "matomo": np.array([s.source == "matomo" for s in SITES])[site],
        }

    # -- one chunk ---------------------------------------------------------------------------------

    def chunk(self, n_visits: int) -> dict[str, dict[str, Any]]:
        v = self.visits(n_visits)
        pv = self.page_views(v)
        events = Events()
        clarity = np.flatnonzero(~pv["matomo"])
        matomo = np.flatnonzero(pv["matomo"])
        payloads = self.clarity_events(v, pv, clarity, events)
        hits = self.matomo_events(pv, matomo, events)
        ev = events.merged()
        pageviews = self.pageview_rows(v, pv, ev, clarity, payloads, matomo, hits)
        playback = self.playback_rows(v, pv, clarity, payloads, ev)
        return {"pageviews": pageviews, "events": self.event_rows(v, pv, ev), "playback": playback}

    def clarity_events(
        self, v: dict[str, np.ndarray], pv: dict[str, np.ndarray], idx: np.ndarray, events: Events
    ) -> dict[str, np.ndarray]:
        """Analytics-stream events of Clarity page views; returns the uploads (payloads) of each."""
        rng, s = self.rng, self.strings
        n = len(idx)
        start, dwell = pv["start"][idx], pv["dwell"][idx]
        uploads = 1 + np.minimum(rng.poisson(dwell / 15_000), 9)  # clarity-js uploads every few seconds
        up_pv, up_seq = _expand(uploads)
        up_start = start[up_pv] + dwell[up_pv] * up_seq // uploads[up_pv]
        up_end = start[up_pv] + dwell[up_pv] * (up_seq + 1) // uploads[up_pv]
        g = idx[up_pv]
        w, h = pv["doc_width"][g].tolist(), pv["doc_height"][g].tolist()
        sw, sh = v["screen_w"][pv["of"][g]].tolist(), v["screen_h"][pv["of"][g]].tolist()
        events.add(
            g,
            up_start + 5,
            0,
            [
                f"[0,{a},14,{b},15,{c},4,{d}]"
                for a, b, c, d in zip(
                    (up_end - up_start).tolist(), sw, sh, rng.integers(50, 900, len(g)).tolist(), strict=True
                )
            ],
        )
        events.add(
            g,
            up_start + 9,
            4,
            [
                f"[1,{a},{b},0,{c},{d},{e},0,0]"
                for a, b, c, d, e in zip(w, h, rng.integers(0, 3000, len(g)).tolist(), sw, sh, strict=True)
            ],
        )
        # once per page view: dimension (referrer, title), document, visibility, navigation, consent on entry
        first = v["ref_url"][pv["of"][idx]] * (pv["num"][idx] == 1)
        events.add(
            idx,
            start + 1,
            1,
            [
                f'[2,["{s.values[r]}"],3,["{s.values[t]}"]]'
                for r, t in zip(first.tolist(), pv["title"][idx].tolist(), strict=True)
            ],
        )
        events.add(
            idx,
            start + 2,
            8,
            [f"[{a},{b}]" for a, b in zip(pv["doc_width"][idx].tolist(), pv["doc_height"][idx].tolist(), strict=True)],
        )
        events.add(idx, start + 3, 28, ['["visible"]'] * n)
        events.add(idx, start + 4, 29, [f"[{a},{b},{c}]" for a, b, c in rng.integers(10, 3000, (n, 3)).tolist()])
        entry = idx[pv["num"][idx] == 1]
        events.add(entry, pv["start"][entry] + 6, 47, ["[1,0,1]"] * len(entry), key=s.add("1"), num=1.0)
        # interactions, spread over the page view
        self.clicks(pv, idx, rng.poisson(rng.gamma(2.0, 0.9, n)), events)
        self.rage(pv, idx, rng.poisson(RAGE_BURSTS, n), events)
        self.errors(pv, idx, events)
        for kind, lam in ((10, 3.0), (12, 1.0), (11, 0.1), (27, 0.25), (24, 0.12), (26, 0.6), (34, 0.05)):
            of, _ = _expand(rng.poisson(lam, n) if kind != 26 else (rng.random(n) < lam).astype(np.int64))
            g = idx[of]
            ts = pv["start"][g] + (rng.random(len(g)) * pv["dwell"][g]).astype(np.int64)
            k = len(g)
            if kind == 10:
                y = (rng.random(k) * np.maximum(pv["doc_height"][g] - pv["viewport"][g], 0)).astype(np.int64)
                # readers scroll down the page; a few, looking for something, go up and down
                down = np.empty_like(y)
                down[np.lexsort((ts, of))] = y[np.lexsort((y, of))]
                y = np.where(rng.random(n)[of] < SCROLL_SEARCH, y, down)
                events.add(g, ts, kind, [f"[1,0,{a}]" for a in y.tolist()], x=0, y=y, target=1)
            elif kind == 12:
                x = (rng.random(k) * pv["doc_width"][g]).astype(np.int64)
                y = (rng.random(k) * pv["doc_height"][g]).astype(np.int64)
                t = rng.integers(20, 3000, k)
                events.add(
                    g,
                    ts,
                    kind,
                    [f"[{a},{b},{c}]" for a, b, c in zip(t.tolist(), x.tolist(), y.tolist(), strict=True)],
                    x=x,
                    y=y,
                    target=t,
                )
            elif kind == 11:
                events.add(
                    g,
                    ts,
                    kind,
                    [
                        f"[{a},{b}]"
                        for a, b in zip(pv["doc_width"][g].tolist(), pv["viewport"][g].tolist(), strict=True)
                    ],
                    x=pv["doc_width"][g],
                    y=pv["viewport"][g],
                )
            elif kind == 27:
                t = rng.integers(20, 3000, k)
                events.add(g, ts, kind, [f'[{a},"•••••"]' for a in t.tolist()], target=t, value=s.add("•••••"))
            elif kind == 24:
                pick = rng.integers(0, len(CUSTOM_EVENTS), k)
                keys = s.array([c[0] for c in CUSTOM_EVENTS])[pick]
                values = s.array([c[1] for c in CUSTOM_EVENTS])[pick]
                events.add(
                    g,
                    ts,
                    kind,
                    [f'["{CUSTOM_EVENTS[p][0]}","{CUSTOM_EVENTS[p][1]}"]' for p in pick.tolist()],
                    key=keys,
                    value=values,
                )
            elif kind == 26:
                events.add(g, pv["end"][g] - 1, kind, ["[]"] * k)
            else:
                users = v["user"][pv["of"][g]]
                events.add(g, pv["start"][g] + 7, kind, [f'["userId",["{s.values[u]}"]]' for u in users.tolist()])
        return {
            "pv": idx[up_pv],
            "seq": up_seq + 1,
            "count": uploads,
            "start": up_start,
            "end": up_end,
            "last": up_seq + 1 == uploads[up_pv],
        }

    def clicks(
        self, pv: dict[str, np.ndarray], idx: np.ndarray, counts: np.ndarray, events: Events, burst: int = 1
    ) -> None:
        rng = self.rng
        of, _ = _expand(counts)
        g = idx[of]
        k = len(g)
        if not k:
            return
        target = rng.choice(TARGETS, k, p=_zipf(TARGETS, 0.9))
        ts = pv["start"][g] + (rng.random(k) * pv["dwell"][g]).astype(np.int64)
        site, page = pv["site"][g], pv["page"][g]
        dead_p = np.zeros(k)
        for i, c in enumerate(self.catalogs):
            m = site == i
            dead_p[m] = c.t_dead[page[m], target[m]]
        if burst > 1:  # rage: an element that does not answer (or not fast) half the time
            dead_p = np.maximum(dead_p, RAGE_DEAD)
        dead = np.where(rng.random(k) < dead_p, np.where(rng.random(k) < SLOW_DEAD, 2, 1), 0)
        if burst > 1:  # rage: `burst` clicks on one element within a second, all alike
            g, target, dead = np.repeat(g, burst), np.repeat(target, burst), np.repeat(dead, burst)
            ts = np.repeat(ts, burst) + np.tile(np.arange(burst) * 220, k)
            k *= burst
        x, y, tid, th, tag, text, link = (np.zeros(k, dtype=np.int64) for _ in range(7))
        site, page = pv["site"][g], pv["page"][g]
        for i, c in enumerate(self.catalogs):
            m = site == i
            p, t = page[m], target[m]
            x[m] = c.t_cx[p, t] * pv["doc_width"][g][m]
            y[m] = c.t_cy[p, t] * np.where(pv["doc_width"][g][m] < 1000, 2, 1)
            tid[m], th[m], tag[m], text[m], link[m] = (
                c.t_id[p, t],
                c.t_hash[p, t],
                c.t_tag[p, t],
                c.t_text[p, t],
                c.t_link[p, t],
            )
        jitter = 4 if burst > 1 else 14
        x = np.clip(x + rng.normal(0, jitter, k), 0, np.maximum(pv["doc_width"][g] - 1, 0)).astype(np.int64)
        y = np.maximum(y + rng.normal(0, jitter * 0.6, k), 0).astype(np.int64)
        sv = self.strings.values
        # clarity-js's Click fields: target, x, y, eX, eY, button, reaction, context, text, link (null when none),
        # hash, trust, isFullText, w, h, tag, class, id, source
        links = ["null" if e == 0 else '"' + sv[e] + '"' for e in link.tolist()]
        data = [
            f'[{a},{b},{c},{b % 97},{c % 53},0,1,0,"{sv[d]}",{e},"{sv[f]}",1,1,{w},{h},"{sv[t]}","","",0]'
            for a, b, c, d, e, f, w, h, t in zip(
                tid.tolist(),
                x.tolist(),
                y.tolist(),
                text.tolist(),
                links,
                th.tolist(),
                pv["doc_width"][g].tolist(),
                pv["doc_height"][g].tolist(),
                tag.tolist(),
                strict=True,
            )
        ]
        events.add(g, ts, 9, data, x=x, y=y, target=tid, hash=th, tag=tag, text=text, link=link, dead=dead)

    def rage(self, pv: dict[str, np.ndarray], idx: np.ndarray, counts: np.ndarray, events: Events) -> None:
        self.clicks(pv, idx, counts, events, burst=3)

    def errors(self, pv: dict[str, np.ndarray], idx: np.ndarray, events: Events) -> None:
        """ScriptError events (31) on the page views of `idx` that report errors (the page's error rate): one
        message per page view, sent 1-5 times (clarity-js's limit per message), mostly while the page loads."""
        rng = self.rng
        site, page = pv["site"][idx], pv["page"][idx]
        rate = np.zeros(len(idx))
        for i, c in enumerate(self.catalogs):
            m = site == i
            rate[m] = c.error_rate[page[m]]
        hit = idx[rng.random(len(idx)) < rate]
        of, _ = _expand(np.minimum(1 + rng.poisson(0.5, len(hit)), 5))
        g = hit[of]
        message = _pick(rng, SCRIPT_ERRORS, len(hit))[of]
        ts = pv["start"][g] + (rng.random(len(g)) * np.minimum(pv["dwell"][g], 5000)).astype(np.int64)
        table = [
            [
                orjson.dumps([msg, line, col, stack, f"https://{site_.host}{src}" if src else ""]).decode()
                for msg, line, col, stack, src, _ in SCRIPT_ERRORS
            ]
            for site_ in SITES
        ]
        data = [table[a][b] for a, b in zip(pv["site"][g].tolist(), message.tolist(), strict=True)]
        events.add(g, ts, 31, data)

    def recorded(
        self, pv: dict[str, np.ndarray], clarity: np.ndarray, up: dict[str, np.ndarray], ev: dict[str, Any]
    ) -> tuple[tuple[list[str], np.ndarray], tuple[list[str], np.ndarray]]:
        """What the playback rows' payloads hold besides their snapshot: the analytics events the frustration rules
        read back from them (clicks, script errors) and DOM changes (Mutation, 6), each as clarity-js writes it
        (`[page time, type, fields...]`), in the upload whose time span holds it. A click the page reacts to is
        followed by a change within a second; a dead one by none (changes that would fall in its second are left
        out) or by a late one; other changes (lazy images, carousels) come anywhere. Returns, for each of the two
        streams, the events in upload and time order and the number per upload."""
        rng = self.rng
        locate = partial(_upload_index, pv, clarity, up)
        recorded = up["start"] >= self.playback_from_ms  # per upload: has a playback row
        g, t, kind = ev["pv"], ev["ts"] - pv["start"][ev["pv"]], ev["type"]
        shown = np.flatnonzero(((kind == 9) | (kind == 31)) & ~pv["matomo"][g])
        a_upload = locate(g[shown], t[shown])
        clicks = shown[kind[shown] == 9]
        dead = ev["dead"][clicks]
        shown, a_upload = shown[recorded[a_upload]], a_upload[recorded[a_upload]]
        data = ev["data"]
        a_text = [
            f"[{ts},{k},{data[i][1:]}"
            for ts, k, i in zip(t[shown].tolist(), kind[shown].tolist(), shown.tolist(), strict=True)
        ]
        # DOM changes: a reaction to each live click, a late one to some dead ones, and the page's own
        react, late = clicks[dead == 0], clicks[dead == 2]
        reaction = np.clip(rng.lognormal(np.log(150), 0.8, len(react)), 16, 950).astype(np.int64)
        of, _ = _expand(np.where(recorded, rng.integers(2, 12, len(recorded)), 0))
        u_start = up["start"][of] - pv["start"][up["pv"][of]]
        u_span = np.maximum(up["end"][of] - up["start"][of], 1)
        m_pv = np.concatenate([g[react], g[late], up["pv"][of]])
        m_t = np.concatenate(
            [
                t[react] + reaction,
                t[late] + rng.integers(1100, 3000, len(late)),
                u_start + (rng.random(len(of)) * u_span).astype(np.int64),
            ]
        )
        m_upload = locate(m_pv, m_t)
        # none within DEAD_WINDOW_MS after a dead click: find the latest dead click at or before each change
        dead_keys = np.sort((g[clicks[dead > 0]] << TIME_BITS) | t[clicks[dead > 0]])
        keys = (m_pv << TIME_BITS) | m_t
        before = np.searchsorted(dead_keys, keys, side="right") - 1
        last_dead = dead_keys[np.maximum(before, 0)] if len(dead_keys) else keys
        quiet = (before >= 0) & (last_dead >> TIME_BITS == m_pv) & (keys - last_dead <= DEAD_WINDOW_MS)
        keep = ~quiet & recorded[m_upload]
        m_t, m_upload = m_t[keep], m_upload[keep]
        nodes = rng.integers(41, 3000, len(m_t))
        p_text = [f'[{a},6,{b},"div",{b // 7},null,"txt"]' for a, b in zip(m_t.tolist(), nodes.tolist(), strict=True)]
        streams = []
        for upload, times, text in ((a_upload, t[shown], a_text), (m_upload, m_t, p_text)):
            order = np.lexsort((times, upload))
            streams.append(([text[i] for i in order.tolist()], np.bincount(upload, minlength=len(recorded))))
        return streams[0], streams[1]

    def matomo_events(self, pv: dict[str, np.ndarray], idx: np.ndarray, events: Events) -> dict[str, np.ndarray]:
        """Matomo actions: performance timings with the page view hit, then event, search, outlink, download,
        goal, order, content and ping hits. Returns the hits that add a `pageviews` row."""
        rng, s = self.rng, self.strings
        n = len(idx)
        perf = idx[rng.random(n) < 0.85]
        timings = rng.integers(0, 900, (len(perf), 6))
        events.add(
            perf,
            pv["start"][perf] + 50,
            1010,
            [
                '{"pf_net":%d,"pf_srv":%d,"pf_tfr":%d,"pf_dm1":%d,"pf_dm2":%d,"pf_onl":%d}' % tuple(t)
                for t in timings.tolist()
            ],
            num=timings.sum(axis=1).astype(float),
        )
        hit_pv, hit_ts, hit_kind = [], [], []
        for kind, lam in (
            (1001, 0.35),
            (1002, 0.06),
            (1003, 0.1),
            (1004, 0.05),
            (1005, 0.03),
            (1006, 0.01),
            (1008, 0.1),
            (1009, 0.5),
        ):
            of, _ = _expand(rng.poisson(lam, n))
            g = idx[of]
            k = len(g)
            ts = pv["start"][g] + (rng.random(k) * pv["dwell"][g]).astype(np.int64)
            hit_pv.append(g)
            hit_ts.append(ts)
            hit_kind.append(np.full(k, kind))
            if kind == 1001:
                pick = rng.integers(0, len(MATOMO_CATEGORIES), k)
                events.add(
                    g,
                    ts,
                    kind,
                    ["{}"] * k,
                    key=s.array([c[0] for c in MATOMO_CATEGORIES])[pick],
                    value=s.array([c[1] for c in MATOMO_CATEGORIES])[pick],
                    text=s.array(list(WORDS))[rng.integers(0, len(WORDS), k)],
                    num=rng.integers(0, 100, k),
                )
            elif kind == 1002:
                events.add(
                    g,
                    ts,
                    kind,
                    ["{}"] * k,
                    text=s.array(list(WORDS))[rng.integers(0, len(WORDS), k)],
                    key=s.add("docs"),
                    num=rng.integers(0, 40, k),
                )
            elif kind in (1003, 1004):
                links = [
                    f"https://github.com/example/{WORDS[i]}"
                    if kind == 1003
                    else f"https://docs.example.net/files/{WORDS[i]}.pdf"
                    for i in rng.integers(0, len(WORDS), k)
                ]
                events.add(g, ts, kind, ["{}"] * k, link=s.array(links))
            elif kind == 1005:
                events.add(
                    g,
                    ts,
                    kind,
                    ["{}"] * k,
                    key=s.array([str(i) for i in rng.integers(1, 4, k)]),
                    num=np.round(rng.uniform(0, 50, k), 2),
                )
            elif kind == 1006:
                orders = rng.integers(1000, 99999, k).tolist()
                revenue = np.round(rng.lognormal(4, 0.8, k), 2)
                events.add(
                    g,
                    ts,
                    kind,
                    [
                        f'{{"items":[["SKU{o % 500}","Item",1,{r}]],"subtotal":{r}}}'
                        for o, r in zip(orders, revenue.tolist(), strict=True)
                    ],
                    key=s.array([f"O{o}" for o in orders]),
                    num=revenue,
                )
            elif kind == 1008:
                events.add(
                    g,
                    ts,
                    kind,
                    ['{"interaction":false}'] * k,
                    key=s.add("Banner"),
                    value=s.array([f"/img/{WORDS[i]}.png" for i in rng.integers(0, len(WORDS), k)]),
                )
            else:
                events.add(g, ts, kind, ["{}"] * k)
        return {"pv": np.concatenate(hit_pv), "ts": np.concatenate(hit_ts), "kind": np.concatenate(hit_kind)}

    # -- rows ----------------------------------------------------------------------------------------

    def pageview_rows(
        self,
        v: dict[str, np.ndarray],
        pv: dict[str, np.ndarray],
        ev: dict[str, Any],
        clarity: np.ndarray,
        up: dict[str, np.ndarray],
        matomo: np.ndarray,
        hits: dict[str, np.ndarray],
    ) -> dict[str, Any]:
        """One row per Clarity upload (clarity/rows.py payload_rows) and per Matomo hit (matomo/rows.py
        pageview_row): the same key, merged by AggregatingMergeTree."""
        n_up, n_first, n_hits = len(up["pv"]), len(matomo), len(hits["pv"])
        g = np.concatenate([up["pv"], matomo, hits["pv"]])
        vis = pv["of"][g]
        is_first = np.concatenate([up["seq"] == 1, np.ones(n_first, bool), np.zeros(n_hits, bool)])
        started = np.concatenate([up["start"], pv["start"][matomo], np.maximum(hits["ts"], pv["start"][hits["pv"]])])
        last = np.concatenate([up["end"], pv["start"][matomo], hits["ts"]])
        # clicks and events per Clarity upload: events whose time falls in the upload's span
        is_click = np.isin(ev["type"], (9, 48))
        cl = ~pv["matomo"][ev["pv"]]
        slot = np.zeros(len(pv["of"]), dtype=np.int64)
        slot[clarity] = np.arange(len(clarity))
        epv = ev["pv"][cl]
        upload_of_event = _upload_index(pv, clarity, up, epv, ev["ts"][cl] - pv["start"][epv])
        up_clicks = np.bincount(upload_of_event[is_click[cl]], minlength=n_up)
        up_events = np.bincount(upload_of_event, minlength=n_up) + self.rng.poisson(25, n_up)  # + playback events
        m_kind = hits["kind"]
        outlinks = np.isin(m_kind, (1003, 1004)).astype(np.int64)
        clicks = np.concatenate([up_clicks, np.zeros(n_first, np.int64), outlinks])
        counted = np.concatenate([up_events, np.zeros(n_first, np.int64), (m_kind != 1009).astype(np.int64)])
        depth_share = np.concatenate([up["seq"] / up["count"][slot[up["pv"]]], np.zeros(n_first + n_hits)])
        scroll = (pv["scroll_bottom"][g] * depth_share).astype(np.int64)
        doc_height = np.where(pv["matomo"][g], 0, pv["doc_height"][g])
        ended = np.concatenate([up["last"] & (self.rng.random(n_up) < 0.8), np.zeros(n_first + n_hits, bool)])
        # attribution: the visit's on its first row, direct on the rest (campaign URLs stay campaign)
        entry = is_first & (pv["num"][g] == 1)
        camp = v["campaign"][vis]
        matomo_row = pv["matomo"][g]
        visit_level = entry | matomo_row  # Matomo stores the visit's attribution on every hit
        has_camp = (camp >= 0) & (visit_level | (pv["num"][g] == 1))
        channel_dir = self.strings.add("direct")
        channel = np.where(
            has_camp, self.strings.add("campaign"), np.where(visit_level, v["channel"][vis], channel_dir)
        )
        camp_fields = [
            np.where(has_camp, self.strings.array([c[j] for c in CAMPAIGNS])[np.maximum(camp, 0)], 0) for j in range(3)
        ]
        s = self.strings
        source = self.sources[pv["site"][g]]
        return {
            "site": self.site_ids[pv["site"][g]],
            "day": pv["day"][g],
            "visitor_hash": v["visitor"][vis],
            "session_hash": v["session"][vis],
            "page_num": pv["num"][g].astype(np.uint32),
            "pageview_id": pv["id"][g],
            "source": source,
            "started_at": started,
            "last_at": last,
            "url": pv["url"][g],
            "referrer": np.where(is_first & (pv["num"][g] == 1), v["ref_url"][vis], 0),
            "title": np.where(is_first, pv["title"][g], 0),
            "browser": v["browser"][vis],
            "os": v["os"][vis],
            "device": v["device"][vis],
            "country": v["country"][vis],
            "screen_width": v["screen_w"][vis].astype(np.uint16),
            "screen_height": v["screen_h"][vis].astype(np.uint16),
            "doc_height": doc_height.astype(np.uint32),
            "scroll_bottom": scroll.astype(np.uint32),
            "clicks": clicks.astype(np.uint64),
            "events": counted.astype(np.uint64),
            "payloads": np.ones(len(g), np.uint64),
            "ended": ended.astype(np.uint8),
            "consent_source": v["consent"][vis].astype(np.uint16),
            "user_hash": np.where(is_first, v["user"][vis], 0),
            "channel": channel,
            "referrer_host": np.where(visit_level & ~has_camp, v["ref_host"][vis], 0),
            "referrer_name": np.where(visit_level & ~has_camp, v["ref_name"][vis], 0),
            "campaign_name": camp_fields[0],
            "campaign_source": camp_fields[1],
            "campaign_medium": camp_fields[2],
            "campaign_keyword": np.zeros(len(g), np.int64),
            "campaign_content": np.zeros(len(g), np.int64),
            "_strings": (
                "site",
                "source",
                "url",
                "referrer",
                "title",
                "browser",
                "os",
                "device",
                "country",
                "user_hash",
                "channel",
                "referrer_host",
                "referrer_name",
                "campaign_name",
                "campaign_source",
                "campaign_medium",
                "campaign_keyword",
                "campaign_content",
            ),
            "_ms": ("started_at", "last_at"),
            "_s": s,
        }

    def event_rows(self, v: dict[str, np.ndarray], pv: dict[str, np.ndarray], ev: dict[str, Any]) -> dict[str, Any]:
        g = ev["pv"]
        vis = pv["of"][g]
        kinds = ev["type"]
        names = {k: self.strings.add(TYPE_NAMES.get(int(k), f"type_{k}")) for k in np.unique(kinds).tolist()}
        lookup = np.zeros(int(kinds.max()) + 1, dtype=np.int64)
        for k, i in names.items():
            lookup[k] = i
        matomo = pv["matomo"][g]
        return {
            "site": self.site_ids[pv["site"][g]],
            "day": ev["ts"] // MS_DAY,
            "visitor_hash": v["visitor"][vis],
            "session_hash": v["session"][vis],
            "page_num": pv["num"][g].astype(np.uint32),
            "pageview_id": pv["id"][g],
            "ts": ev["ts"],
            "source": self.sources[pv["site"][g]],
            "type": kinds.astype(np.uint16),
            "name": lookup[kinds],
            "url": pv["url"][g],
            "x": ev["x"].astype(np.int32),
            "y": ev["y"].astype(np.int32),
            "target": ev["target"],
            "target_hash": ev["hash"],
            "target_tag": ev["tag"],
            "text": ev["text"],
            "link": ev["link"],
            "doc_width": np.where(matomo, 0, pv["doc_width"][g]).astype(np.uint32),
            "doc_height": np.where(matomo, 0, pv["doc_height"][g]).astype(np.uint32),
            "key": ev["key"],
            "value": ev["value"],
            "num": ev["num"],
            "data": ev["data"],
            "_strings": ("site", "source", "name", "url", "target_hash", "target_tag", "text", "link", "key", "value"),
            "_ms": ("ts",),
            "_s": self.strings,
        }

    def playback_rows(
        self,
        v: dict[str, np.ndarray],
        pv: dict[str, np.ndarray],
        clarity: np.ndarray,
        up: dict[str, np.ndarray],
        ev: dict[str, Any],
    ) -> dict[str, Any]:
        """One row per Clarity upload within the playback TTL, with a short synthetic payload: clarity-js's
        envelope (sequence, page time and duration of the upload, page number, end flag), its clicks and script
        errors (`a`), and its DOM stream (`p`; see `recorded`)."""
        keep = up["start"] >= self.playback_from_ms
        (a_text, a_count), (p_text, p_count) = self.recorded(pv, clarity, up, ev)
        a_end, p_end = np.cumsum(a_count), np.cumsum(p_count)
        g, seq, start = up["pv"][keep], up["seq"][keep], up["start"][keep]
        vis = pv["of"][g]
        k = len(g)
        rng = self.rng
        rel = (start - pv["start"][g]).tolist()
        # an upload's first one opens with the DOM snapshot (Discover, 5): the recordings list holds replayable visits
        payload = []
        for r, d, p, q, last, i in zip(
            rel,
            (up["end"][keep] - start).tolist(),
            pv["num"][g].tolist(),
            seq.tolist(),
            up["last"][keep].tolist(),
            np.flatnonzero(keep).tolist(),
            strict=True,
        ):
            dom = p_text[p_end[i] - p_count[i] : p_end[i]]
            payload.append(
                f'{{"e":["0.8.9",{q},{r},{d},"bench","u","s",{p},{int(last)},{int(last)},0,"url"],"a":['
                + ",".join(a_text[a_end[i] - a_count[i] : a_end[i]])
                + '],"p":['
                + ",".join([f'[{r},5,1,null,"HTML"]', *dom] if q == 1 else dom)
                + "]}"
            )
        return {
            "site": self.site_ids[pv["site"][g]],
            "day": pv["day"][g],
            "visitor_hash": v["visitor"][vis],
            "session_hash": v["session"][vis],
            "page_num": pv["num"][g].astype(np.uint32),
            "pageview_id": pv["id"][g],
            "ts": start,
            "sequence": seq.astype(np.uint32),
            "is_end": up["last"][keep].astype(np.uint8),
            "wire_bytes": rng.integers(1500, 30000, k).astype(np.uint32),
            "payload": payload,
            "_strings": ("site",),
            "_ms": ("ts",),
            "_s": self.strings,
        }


def _type_names() -> dict[int, str]:
    from ingest_schema.codes import EVENT_NAMES
    from ingest_schema.codes import MATOMO_EVENT_NAMES as MATOMO_NAMES

    return {**EVENT_NAMES, **MATOMO_NAMES}


TYPE_NAMES = _type_names()


# --- generation and storage ---------------------------------------------------------------------


def to_columns(table: str, rows: dict[str, Any]) -> tuple[list[str], list[Any], int]:
    """Column names and column data in the form clickhouse-connect writes fastest: numpy for numbers,
    Python lists for strings, epoch ints (days, milliseconds) for Date and DateTime64(3)."""
    strings: Strings = rows["_s"]
    names = [c for c in TABLES[table].column_names if c in rows]
    data: list[Any] = []
    for name in names:
        value = rows[name]
        if name in rows["_strings"]:
            value = strings.lookup(value)
        elif name in rows["_ms"] or name == "day":
            value = value.astype(np.int64).tolist()
        data.append(value)
    return names, data, len(data[0])


def insert(storage: Storage, table: str, rows: dict[str, Any]) -> int:
    names, data, n = to_columns(table, rows)
    for offset in range(0, n, MAX_INSERT_ROWS):
        part = [c[offset : offset + MAX_INSERT_ROWS] for c in data]
        storage.client.insert(storage.table(table), part, column_names=names, column_oriented=True)
    return n


@dataclass
class Generated:
    rows: dict[str, int]
    seconds: float
    insert_seconds: float
    optimize_seconds: float
    visits: int
    page_views: int


def generate(storage: Storage, events: int, days: int, seed: int, end_ms: int) -> Generated:
    gen = Generator(seed, days, end_ms, events)
    rows = dict.fromkeys(("pageviews", "events", "playback"), 0)
    visits = page_views = 0
    per_chunk = max(100, min(25_000, events // EVENTS_PER_VISIT_GUESS // 4))  # about 1M events at most
    started = time.perf_counter()
    insert_seconds = 0.0
    while rows["events"] < events:
        if visits:  # the last chunk only as large as the events still missing
            per_visit = rows["events"] / visits
            per_chunk = max(100, min(per_chunk, int((events - rows["events"]) / per_visit) + 1))
        chunk = gen.chunk(per_chunk)
        visits += per_chunk
        page_views += int(chunk["pageviews"]["pageview_id"].size and len(np.unique(chunk["pageviews"]["pageview_id"])))
        t0 = time.perf_counter()
        for table in ("events", "pageviews", "playback"):
            rows[table] += insert(storage, table, chunk[table])
        insert_seconds += time.perf_counter() - t0
        del chunk
        gc.collect()
        elapsed = time.perf_counter() - started
        print(
            f"\r  {rows['events']:,} events, {rows['pageviews']:,} page-view rows, {visits:,} visits "
            f"({sum(rows.values()) / elapsed:,.0f} rows/s)",
            end="",
            file=sys.stderr,
            flush=True,
        )
    print(file=sys.stderr)
    seconds = time.perf_counter() - started
    t0 = time.perf_counter()
    for table in BENCH_TABLES:
        storage.command(f"OPTIMIZE TABLE {storage.table(table)} FINAL")
    optimize = time.perf_counter() - t0
    return Generated(rows, seconds, insert_seconds, optimize, visits, page_views)


def disk(storage: Storage) -> dict[str, tuple[int, int, int]]:
    """table → (rows, bytes on disk, active parts)."""
    rows = storage.query_rows(
        "SELECT table, sum(rows), sum(bytes_on_disk), count() FROM system.parts WHERE database = {db:String} "
        "AND active GROUP BY table",
        {"db": storage.database},
    )
    return {str(t): (int(r), int(b), int(p)) for t, r, b, p in rows}


# --- timing ---------------------------------------------------------------------------------------


@dataclass
class Timing:
    label: str
    period: str
    filtered: bool
    view: list[float]
    raw: list[float]
    rows: int
    same: bool | None
    #: the machine's 1-minute load average before and after this row was timed (the machine is shared)
    load: tuple[float, float] = (0.0, 0.0)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def timed(fn: Callable[[], T], runs: int, warmup: int = 2) -> tuple[list[float], T]:
    """Milliseconds of each of `runs` calls after `warmup` (at least one) calls, and the first call's result."""
    result = fn()
    for _ in range(warmup - 1):
        fn()
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, result


CASES = (
    "overview",
    "timeseries",
    "top_pages",
    "sources",
    "heatmap_clicks",
    "recordings",
    "insights",
    "insights_trend",
    "insights_pages",
    "rage_clicks",
    "dead_clicks",
    "js_errors",
    "heatmap_areas",
    "heatmap_attention",
    "recordings_rage",
    "recordings_device",
    "recordings_dead",
    "goal_conversions",
    "funnel",
)
#: cases that run a panel with options: case name → (panel, options)
CASE_PANELS: dict[str, tuple[str, dict[str, str]]] = {
    "recordings_rage": ("recordings", {"signal": "rage_click"}),
    "recordings_device": ("recordings", {"device": "mobile"}),
    # the bench's payloads carry the clicks and DOM changes (a few percent of the clicks dead: docstring)
    "recordings_dead": ("recordings", {"signal": "dead_click"}),
}
#: issue 15 rows: (label, panel, extra parameters); "{segment}" is the id of the segment saved below
WORKBENCH_CASES = (
    ("overview, segmented", "overview", {"segment": "{segment}"}),
    ("timeseries, segmented", "timeseries", {"segment": "{segment}"}),
    ("visitor_log", "visitor_log", {"limit": "50"}),
    ("visitor_log, offset 5000", "visitor_log", {"limit": "50", "offset": "5000"}),
    ("visitor_log, segmented", "visitor_log", {"limit": "50", "segment": "{segment}"}),
)
#: a segment mixing a visit, a page and an event condition (AND over an OR group)
BENCH_SEGMENT = {
    "name": "mobile shoppers",
    "definition": {
        "match": "all",
        "conditions": [
            {"field": "device", "op": "is", "value": "mobile"},
            {
                "match": "any",
                "conditions": [
                    {"field": "page", "op": "prefix", "value": "/product/"},
                    {"field": "event", "op": "is", "value": "add_to_cart"},
                ],
            },
        ],
    },
}


def workbench_cases(segment: str) -> list[tuple[str, str, dict[str, str]]]:
    return [
        (label, panel, {k: v.replace("{segment}", segment) for k, v in extra.items()})
        for label, panel, extra in WORKBENCH_CASES
    ]


#: Goals and a 4-step funnel of the analyst workbench (issue 15), defined on the bench site before timing.
BENCH_GOALS = (
    {"name": "Checkout", "kind": "page", "match": "exact", "value": "/checkout", "revenue": 30},
    {"name": "Product", "kind": "page", "match": "prefix", "value": "/product/"},
    {"name": "Category", "kind": "page", "match": "pattern", "value": "^/category/[a-z]+-"},
    {"name": "Signed up", "kind": "custom_event", "value": "signup"},
    {"name": "Engaged", "kind": "duration", "value": 60},
    {"name": "Three pages", "kind": "pages", "value": 3},
)
BENCH_FUNNEL = {
    "name": "Home to checkout",
    "steps": [
        {"kind": "page", "match": "exact", "value": "/"},
        {"kind": "page", "match": "prefix", "value": "/product/"},
        {"kind": "custom_event", "value": "add_to_cart"},
        {"kind": "page", "match": "exact", "value": "/checkout"},
    ],
}


def define_workbench(storage: Storage) -> dict[str, dict[str, str]]:
    """The bench goals and funnel (kept when --reuse finds them); the panels' options that name them."""
    from dashboards import funnels, goals

    if not goals.STORE.all(storage, BENCH_SITE):
        for body in BENCH_GOALS:
            name, definition = goals.parse_goal(body)
            goals.STORE.save(storage, BENCH_SITE, "", name, definition, "bench")
    existing = funnels.STORE.all(storage, BENCH_SITE)
    if not existing:
        name, definition = funnels.parse_funnel(BENCH_FUNNEL)
        existing = [funnels.STORE.save(storage, BENCH_SITE, "", name, definition, "bench")]
    return {"funnel": {"funnel": existing[0].id}}


def measure(
    storage: Storage,
    runs: int,
    now: datetime,
    top_page: str,
    options: dict[str, dict[str, str]] | None = None,
    only: tuple[str, ...] = (),
    periods: tuple[str, ...] = ("7d", "30d"),
) -> list[Timing]:
    """Every case (or the `only` ones, by label) for 7 and 30 days, without and with the filter."""
    out = []
    segment = str(save_segment(storage, BENCH_SITE, None, BENCH_SEGMENT, "bench")["id"])
    for period in periods:
        query = parse_query(PANELS["overview"], {"site": BENCH_SITE, "period": period}, now=now)
        first, last = query.period.first_day, query.period.last_day
        sql = (
            "SELECT count() FROM `analytics`.`pageviews` WHERE site = {site:String} "
            "AND day BETWEEN {first:Date} AND {last:Date}"
        )
        params = {"site": BENCH_SITE, "first": first, "last": last}
        times, counted = timed(partial(storage.client.query, sql, parameters=params), runs)
        count = int(counted.result_rows[0][0])
        out.append(Timing("baseline: SELECT count() FROM pageviews", period, False, times, [], count, None))
        print(f"  {period:4} baseline count(): p50 {percentile(times, 0.5):.1f} ms", file=sys.stderr)
        cases = [(name, *CASE_PANELS.get(name, (name, {}))) for name in CASES]
        for label, name, extra in cases + workbench_cases(segment):
            if only and label not in only:
                continue
            for filtered in (False, True):
                raw = {"site": BENCH_SITE, "period": period, **extra}
                if PANELS[name].needs_page:
                    raw["page"] = top_page
                raw.update((options or {}).get(name, {}))
                if filtered:
                    raw[FILTER[0]] = FILTER[1]
                panel = PANELS[name]
                query = parse_query(panel, raw, now=now)
                results = {}
                timings = {}
                load_before = os.getloadavg()[0]
                for use_view in (True, False):
                    timings[use_view], results[use_view] = timed(
                        partial(run_panel, storage, panel, query, use_view=use_view), runs
                    )
                same = _same(results[True].rows, results[False].rows)
                load = (load_before, os.getloadavg()[0])
                t = Timing(label, period, filtered, timings[True], timings[False], len(results[True].rows), same, load)
                out.append(t)
                print(
                    f"  {period:4} {label:25} {'filtered' if filtered else '':8} "
                    f"view p50 {percentile(t.view, 0.5):7.1f} p95 {percentile(t.view, 0.95):7.1f} | "
                    f"no view p50 {percentile(t.raw, 0.5):7.1f} p95 {percentile(t.raw, 0.95):7.1f} ms"
                    f"{'' if same else '  (results differ!)'}",
                    file=sys.stderr,
                )
    return out


def _same(a: list[tuple[Any, ...]], b: list[tuple[Any, ...]]) -> bool:
    def norm(rows: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return sorted(tuple(round(x, 3) if isinstance(x, float) else x for x in r) for r in rows)

    try:
        return norm(a) == norm(b)
    except TypeError:
        return a == b


# --- report ---------------------------------------------------------------------------------------


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}"


def size_report(
    events: int,
    gen: Generated | None,
    parts: dict[str, tuple[int, int, int]],
    timings: list[Timing],
    runs: int,
    top_page: str,
    view: bool,
) -> list[str]:
    lines = [f"### {events:,} events", ""]
    if gen is not None:
        total = sum(gen.rows.values())
        lines += [
            f"Generated {gen.rows['events']:,} events, {gen.rows['pageviews']:,} page-view rows "
            f"({gen.page_views:,} page views, {gen.visits:,} visits) and {gen.rows['playback']:,} playback rows in "
            f"{gen.seconds:.0f} s: **{total / gen.seconds:,.0f} rows/s** "
            f"({gen.rows['events'] / gen.seconds:,.0f} events/s) including Python generation; the inserts alone "
            f"ran at {total / gen.insert_seconds:,.0f} rows/s (page-view rows merge to one per page view below). "
            f"OPTIMIZE FINAL of the four tables took {gen.optimize_seconds:.0f} s.",
            "",
        ]
    lines += [
        "| table | rows | parts | MB on disk | MB per million events | bytes per row |",
        "|---|---|---|---|---|---|",
    ]
    for table in BENCH_TABLES:
        rows, size, count = parts.get(table, (0, 0, 0))
        lines.append(
            f"| {table} | {rows:,} | {count} | {size / 1e6:,.1f} | {size / 1e6 / (events / 1e6):,.2f} | "
            f"{size / max(rows, 1):,.1f} |"
        )
    lines += [
        "",
        f"Panels through `run_panel` for site `{BENCH_SITE}`, {runs} runs each after 2 warm-ups, milliseconds; "
        f'filter = `{FILTER[0]}={FILTER[1]}`; heatmap_clicks on `{top_page}`; "no view" = use_view=False '
        "(visits aggregated from pageviews); load = the machine's 1-minute load average before and after the row "
        "(the 2 cores are shared with other work: compare each row with the overview of the same run)"
        + ("" if view else " (the view is missing here!)")
        + ":",
        "",
        "| panel | period | filter | p50 view | p95 view | p50 no view | p95 no view | rows | view = no view | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for t in timings:
        if not t.raw:
            lines.append(
                f"| {t.label} | {t.period} | | {percentile(t.view, 0.5):.1f} | {percentile(t.view, 0.95):.1f} "
                f"| | | {t.rows:,} | | |"
            )
            continue
        lines.append(
            f"| {t.label} | {t.period} | {'yes' if t.filtered else ''} | {percentile(t.view, 0.5):.1f} | "
            f"{percentile(t.view, 0.95):.1f} | {percentile(t.raw, 0.5):.1f} | {percentile(t.raw, 0.95):.1f} | "
            f"{t.rows} | "
            f"{'yes' if t.same else 'NO'} | {t.load[0]:.1f}-{t.load[1]:.1f} |"
        )
    return lines + [""]


def versus_rows(results: list[tuple[int, list[Timing]]]) -> list[str]:
    """Query time vs rows: p95 with the view, per panel (7d/30d, unfiltered), per size."""
    sizes = [n for n, _ in results]
    lines = [
        "### Query time vs rows (p95 ms, with the view, no filter)",
        "",
        "| panel | period | " + " | ".join(f"{n / 1e6:g}M events" for n in sizes) + " |",
        "|---|---|" + "---|" * len(sizes),
    ]
    keys = [(t.label, t.period) for t in results[0][1] if not t.filtered]
    for label, period in keys:
        cells = []
        for _, timings in results:
            t = next(x for x in timings if x.label == label and x.period == period and not x.filtered)
            cells.append(f"{percentile(t.view, 0.95):.1f}")
        lines.append(f"| {label} | {period} | " + " | ".join(cells) + " |")
    return lines + [""]


def append(output: Path | None, lines: list[str]) -> None:
    text = "\n".join(lines) + "\n"
    print(text)
    if output is not None:
        with output.open("a") as handle:
            handle.write(text)


# --- main -------------------------------------------------------------------------------------------


def top_page_of(storage: Storage, now: datetime) -> str:
    rows = storage.query_rows(
        "SELECT path(url) AS p, count() FROM (SELECT pageview_id, any(url) AS url FROM `analytics`.`pageviews` "
        "WHERE site = {site:String} GROUP BY pageview_id) GROUP BY p ORDER BY count() DESC LIMIT 1",
        {"site": BENCH_SITE},
    )
    return str(rows[0][0]) if rows else "/"


def archive_signals(storage: Storage, now: datetime) -> str:
    """Archive the frustration signals of every closed day (as the collector does in the background, with the
    default grace of an hour; `now` is the newest page view) and say what it cost."""
    c0, t0 = time.process_time(), time.perf_counter()
    days = archive_due(storage, now, timedelta(hours=1), view_available(storage))
    wall, cpu = (time.perf_counter() - t0) * 1000, (time.process_time() - c0) * 1000
    rows = int(storage.query_rows("SELECT count() FROM `analytics`.`signal_occurrences`")[0][0])
    return (
        f"Archived the frustration signals of {len(days)} site-days first (`--archive`; "
        f"dashboards/archive.py): {wall / 1000:,.1f} s wall, {cpu / 1000:,.1f} s CPU, "
        f"{wall / max(len(days), 1):,.0f} ms per site-day; signal_occurrences holds {rows:,} rows."
    )


def run_size(events: int, args: argparse.Namespace) -> tuple[list[str], list[Timing]]:
    folder = Path(args.data) if args.data else Path(tempfile.mkdtemp(prefix=f"bench-queries-{events}-"))
    if len(args.events) > 1 and args.data:
        folder = folder / f"{events}"
    try:
        storage = Storage(f"chdb://{folder / 'clickhouse'}", DATABASE)
        try:
            existing = 0
            storage.migrate()
            existing = int(storage.query_rows("SELECT count() FROM `analytics`.`events`")[0][0])
            gen = None
            if existing and args.reuse:
                print(f"reusing {folder}: {existing:,} events", file=sys.stderr)
                events = existing
            else:
                if existing:
                    sys.exit(f"{folder} already holds {existing:,} events: pass --reuse or an empty folder")
                print(f"generating {events:,} events into {folder}", file=sys.stderr)
                end_ms = int(time.time() * 1000)
                gen = generate(storage, events, args.days, args.seed, end_ms)
            parts = disk(storage)
            latest = storage.query_rows("SELECT max(last_at) FROM `analytics`.`pageviews`")[0][0]
            now = latest.replace(tzinfo=timezone.utc) if latest.tzinfo is None else latest
            top_page = top_page_of(storage, now)
            archived = archive_signals(storage, now) if args.archive else ""
            if archived:
                print(archived, file=sys.stderr)
            timings = measure(
                storage,
                args.runs,
                now,
                top_page,
                define_workbench(storage),
                tuple(args.case or ()),
                tuple(args.period or ("7d", "30d")),
            )
            lines = size_report(events, gen, parts, timings, args.runs, top_page, view_available(storage))
            return (lines[:2] + [archived, ""] + lines[2:] if archived else lines), timings
        finally:
            storage.close()
    finally:
        if not args.data and not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--events",
        type=int,
        action="append",
        help="rows of `events` to generate (repeat for query time vs rows); default 10,000,000",
    )
    parser.add_argument("--data", help="data folder (default: a temporary one, removed at the end)")
    parser.add_argument("--reuse", action="store_true", help="time the data already in --data instead of generating")
    parser.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    parser.add_argument(
        "--case",
        action="append",
        help="a case label to time (repeat; default: all), e.g. --case 'visitor_log, segmented'",
    )
    parser.add_argument("--period", action="append", help="a period to time (repeat; default: 7d and 30d)")
    parser.add_argument(
        "--archive", action="store_true", help="archive the closed days' frustration signals before timing"
    )
    parser.add_argument("--no-write", action="store_true", help="print only, do not append to --output")
    args = parser.parse_args()
    args.events = args.events or [10_000_000]
    output = None if args.no_write else args.output
    append(
        output,
        [
            "",
            f"## Queries, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
            "",
            f"Machine: {machine()}; embedded ClickHouse (chdb), one process; other work shared the 2 cores while this "
            "ran, so read p50 before p95. Generated by `python -m bench.bench_queries` (see its docstring for "
            "the traffic model); periods end at the newest generated page view.",
            "",
        ],
    )
    results = []
    for events in args.events:
        lines, timings = run_size(events, args)
        append(output, lines)
        results.append((events, timings))
    if len(results) > 1:
        append(output, versus_rows(results))


if __name__ == "__main__":
    main()
