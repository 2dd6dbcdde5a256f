"""COLLECTOR_WORKERS: 2 and 4 collector processes on one port and one data folder (the embedded engine).

Every upload goes over a new connection, so the kernel (SO_REUSEPORT) hands the uploads of one page
view to whichever worker it picks. What must hold whatever the spread: every consented upload stored
exactly once, every unconsented one dropped (a grant mid-page covers only what follows it), Matomo
visits whole, and a worker killed with SIGKILL under load loses no acknowledged upload. And the real
clients in Chromium (clarity-js, Matomo's matomo.js) against two workers.
"""

from __future__ import annotations

import asyncio
import os
import signal
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import orjson
import pytest

from collector.core.settings import Settings
from ingest_schema.hashing import Hasher, matomo_visitor_hash
from ingest_schema.storage import Storage
from tests.support.browser import UploadLog, wait_until
from tests.support.collector import DESKTOP_UA, ORIGIN, clarity_fixture, clarity_fixture_names
from tests.support.matomo_browser import SNIPPET, SiteServer
from tests.support.process import (
    port_of,
    post,
    process_env,
    start_process,
    stop_process,
    unique_upload,
    wait_for_acknowledged,
)

SITE = f'[[site]]\nid = "proj123"\norigins = ["{ORIGIN}"]\nconsent = "loader"\nmatomo_idsite = 1\n'
#: a page view granted at its start (4 uploads), and one refused at its start (track: false) whose 4th
#: upload grants explicitly at t=3871 (consentv2): only what follows the grant may be stored
CONSENTED, REFUSED = "relaxed_", "notrack_"
LATE_GRANT_MS = 3871


def page_view_uploads(prefix: str, number: int) -> list[bytes]:
    """A real page view's uploads, in order, under visitor and session ids of its own."""
    bodies = []
    for name in clarity_fixture_names(prefix):
        document = clarity_fixture(name).document
        envelope = list(document["e"])
        envelope[5], envelope[6] = f"{prefix}v{number}", f"{prefix}s{number}"
        bodies.append(orjson.dumps({**document, "e": envelope}))
    return bodies


def send_page_view(port: int, bodies: list[bytes]) -> list[int]:
    return [post(port, body) for body in bodies]


def matomo_hit(port: int, params: dict[str, Any]) -> int:
    query = urlencode({"idsite": 1, "rec": 1, "send_image": 0, **params})
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/matomo.php?{query}", headers={"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return int(response.status)


def send_matomo_visit(port: int, visitor: str, consented: bool, pages: int) -> list[int]:
    statuses = []
    for page in range(pages):
        params = {
            "_id": visitor,
            "action_name": f"page {page}",
            "url": f"{ORIGIN}/p{page}",
            "pv_id": f"{visitor[-4:]}{page:02d}",
        }
        statuses.append(matomo_hit(port, {**params, "consent": 1} if consented else params))
    return statuses


def query(folder: Path, sql: str) -> list[tuple[Any, ...]]:
    storage = Storage(f"chdb://{folder / 'data' / 'clickhouse'}", "analytics")
    try:
        return storage.query_rows(sql)
    finally:
        storage.close()


def worker_pids(primary: int) -> list[int]:
    children = Path(f"/proc/{primary}/task/{primary}/children").read_text().split()
    return [int(pid) for pid in children]


def wait_for_workers(primary: int, count: int) -> list[int]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        pids = worker_pids(primary)
        if len(pids) == count:
            return pids
        time.sleep(0.2)
    raise AssertionError(f"{count} workers did not start")


@pytest.mark.parametrize("workers", [2, 4])
def test_workers_consent_and_visits_hold_however_uploads_are_spread(tmp_path: Path, workers: int) -> None:
    env = process_env(tmp_path, SITE, workers=workers, batch_interval_ms=3_600_000)
    port = port_of(env)
    process = start_process(env)
    try:
        wait_for_workers(process.pid, workers - 1)
        page_views = 12
        matomo_visitors = [f"{n:016x}" for n in range(1, 9)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            clarity = [
                pool.submit(send_page_view, port, page_view_uploads(CONSENTED if n % 2 else REFUSED, n))
                for n in range(page_views)
            ]
            matomo = [
                pool.submit(send_matomo_visit, port, visitor, n % 2 == 1, 3)
                for n, visitor in enumerate(matomo_visitors)
            ]
            statuses = [s for f in clarity + matomo for s in f.result()]
        assert set(statuses) == {204}
        spools = [p for p in (tmp_path / "data" / "spool").rglob("segment-*.log")]
        folders_used = {p.parent.name for p in spools}
        assert len(folders_used) >= 2, f"uploads reached more than one worker: {folders_used}"
    finally:
        assert stop_process(process) == 0
    assert list((tmp_path / "data" / "spool").rglob("segment-*.log")) == [], "every spool drained at exit"

    hasher = Hasher(Settings.from_env(env).secret_key)
    playback = dict(query(tmp_path, "SELECT visitor_hash, count() FROM analytics.playback GROUP BY visitor_hash"))
    events = dict(
        query(
            tmp_path,
            "SELECT visitor_hash, count() FROM analytics.events WHERE source = 'clarity' GROUP BY visitor_hash",
        )
    )
    consented_uploads = clarity_fixture_names(CONSENTED)
    expected_events = sum(len(clarity_fixture(n).document["a"]) for n in consented_uploads)
    late_events = sum(
        1 for n in clarity_fixture_names(REFUSED) for e in clarity_fixture(n).document["a"] if e[0] >= LATE_GRANT_MS
    )
    for n in range(page_views):
        prefix = CONSENTED if n % 2 else REFUSED
        visitor = hasher.visitor("proj123", f"{prefix}v{n}")
        if prefix == CONSENTED:
            assert playback.get(visitor) == len(consented_uploads), f"page view {n}: every upload stored once"
            assert events.get(visitor) == expected_events
        else:
            assert playback.get(visitor) == 1, f"page view {n}: only the upload after the grant"
            assert events.get(visitor) == late_events, f"page view {n}: nothing before the grant"

    visits = query(
        tmp_path, "SELECT visitor_hash, count(), sum(pageviews) FROM analytics.visits FINAL GROUP BY visitor_hash"
    )
    by_visitor = {int(v): (int(c), int(p)) for v, c, p in visits}
    for n, visitor_id in enumerate(matomo_visitors):
        hashed = matomo_visitor_hash(hasher, "proj123", visitor_id)
        if n % 2:
            assert by_visitor.get(hashed) == (1, 3), f"Matomo visitor {n}: one visit of 3 page views"
        else:
            assert hashed not in by_visitor, f"Matomo visitor {n} gave no consent"


def test_workers_kill_9_of_a_worker_under_load_loses_no_acknowledged_upload(tmp_path: Path) -> None:
    env = process_env(tmp_path, SITE, workers=2, batch_interval_ms=300)
    port = port_of(env)
    process = start_process(env)
    uploads = 3000
    try:
        [worker] = wait_for_workers(process.pid, 1)
        with ThreadPoolExecutor(max_workers=8) as pool:
            futures = [pool.submit(post, port, unique_upload(n)) for n in range(uploads)]
            wait_for_acknowledged(futures)
            os.kill(worker, signal.SIGKILL)
            statuses = [future.result() for future in futures]
        restarted = wait_for_workers(process.pid, 1)
        assert restarted != [worker], "the primary started the worker again"
        assert post(port, unique_upload(uploads)) == 204
    finally:
        assert stop_process(process) == 0
    acknowledged = [n for n, status in enumerate(statuses) if status == 204]
    assert 100 < len(acknowledged) < uploads + 1
    assert set(statuses) <= {204, 0}, f"answers other than 204 or no answer: {sorted(set(statuses))}"
    hasher = Hasher(Settings.from_env(env).secret_key)
    stored = dict(query(tmp_path, "SELECT visitor_hash, count() FROM analytics.playback GROUP BY visitor_hash"))
    assert all(count == 1 for count in stored.values()), "no upload stored twice"
    missing = [n for n in acknowledged if hasher.visitor("proj123", f"u{n}") not in stored]
    assert missing == [], f"{len(missing)} acknowledged uploads lost"
    print(f"kill -9 of a worker: {len(acknowledged)} of {uploads} acknowledged, {len(stored)} stored, 0 lost")


GRANT = "clarity('consentv2', {ad_Storage: 'denied', analytics_Storage: 'granted'})"


def matomo_page(name: str, tracker: str) -> str | None:
    """Two pages with Matomo's own matomo.js: `yes` grants consent before its page view, `no` never does."""
    calls = {"yes": "_paq.push(['requireConsent']); _paq.push(['setConsentGiven']);", "no": ""}.get(name)
    if calls is None:
        return None
    snippet = SNIPPET.format(calls=calls, tracker=tracker, idsite=1, script="'/vendor/matomo.js'")
    button = "<button id='event' onclick=\"_paq.push(['trackEvent', 'Video', 'Play'])\">play</button>"
    return f"<!doctype html><html><head><title>{name}</title>{snippet}</head><body>{button}</body></html>"


def spool_folders_with_segments(folder: Path) -> set[str]:
    return {p.parent.name for p in (folder / "data" / "spool").rglob("segment-*.log")}


async def clarity_page_view(new_page: Any, port: int, consented: bool) -> tuple[UploadLog, int]:
    """One page view of the collector's demo page with the real clarity-js in a fresh browser context;
    granted: consent given (`consentv2`), then a click that an upload answered with 204 carries. The page
    time of the grant as the wire shows it (Consent 47 granting analytics from an explicit source, not
    clarity-js's implicit source 0 state at start), 0 when none was sent."""
    page = await new_page()
    log = UploadLog().attach(page.context)
    await page.goto(f"http://127.0.0.1:{port}/demo?site=proj123&clarity=1")
    await page.wait_for_function("window.clarity && window.clarity.v")
    if consented:
        await page.evaluate(GRANT)
    await page.click("#buy")
    clicked = lambda: any(u.status == 204 and any(e[1] == 9 for e in u.document.get("a", [])) for u in log.uploads)  # noqa: E731
    assert await wait_until(clicked, seconds=90), "clarity-js uploaded the click and the collector answered"
    grants = [e[0] for e in log.consent_events() if len(e) >= 5 and e[2] != 0 and e[4] == 1]
    assert bool(grants) == consented, log.consent_events()
    return log, min(grants, default=0)


def hit_of(response: Any) -> dict[str, list[str]]:
    """A matomo.js request's parameters, sent in the URL (an image or GET) or in a POST body (a beacon)."""
    request = response.request
    return parse_qs(urlsplit(request.url).query) | parse_qs(request.post_data or "")


async def matomo_visit(browser: Any, site: SiteServer, name: str) -> str:
    """A visit of one page with matomo.js and one event; the visitor id matomo.js sent."""
    context = await browser.new_context(user_agent=DESKTOP_UA)
    try:
        page = await context.new_page()
        async with page.expect_response(lambda r: "/matomo.php" in r.url, timeout=90_000) as viewed:
            await page.goto(f"{site.origin}/{name}.html")
        assert (await viewed.value).status in (200, 204)
        is_event = lambda r: "/matomo.php" in r.url and "e_c" in hit_of(r)  # noqa: E731
        async with page.expect_response(is_event, timeout=90_000) as played:
            await page.click("#event")
        response = await played.value
        assert response.status in (200, 204)
        return hit_of(response)["_id"][0]
    finally:
        await context.close()


@pytest.mark.browser
async def test_workers_real_clarity_js_and_matomo_js_in_chromium(tmp_path: Path, browser: Any, new_page: Any) -> None:
    """A 2-worker collector driven by Chromium: clarity-js page views (consented or not) in fresh contexts
    (new connections, spread by the kernel) until both workers spooled uploads, and Matomo's matomo.js
    visits (forwarded to the primary). Consented page views stored exactly once, unconsented ones not."""
    site = SiteServer(matomo_page)
    await site.start()
    env = process_env(tmp_path, workers=2, batch_interval_ms=3_600_000)
    port = port_of(env)
    Path(env["COLLECTOR_SITES_FILE"]).write_text(
        f'[[site]]\nid = "proj123"\norigins = ["http://127.0.0.1:{port}"]\nconsent = "explicit"\n\n'
        f'[[site]]\nid = "shop"\norigins = ["{site.origin}"]\nmatomo_idsite = 1\n'
    )
    site.tracker = f"127.0.0.1:{port}"
    process = await asyncio.to_thread(start_process, env)
    clarity: list[tuple[UploadLog, int]] = []
    matomo: dict[str, bool] = {}
    try:
        await asyncio.to_thread(wait_for_workers, process.pid, 1)
        while len(spool_folders_with_segments(tmp_path)) < 2 or len(clarity) < 4:
            assert len(clarity) < 24, f"uploads reached one worker only: {spool_folders_with_segments(tmp_path)}"
            clarity.append(await clarity_page_view(new_page, port, consented=True))
            clarity.append(await clarity_page_view(new_page, port, consented=False))
        for name in ("yes", "no", "yes", "no"):
            matomo[await matomo_visit(browser, site, name)] = name == "yes"
    finally:
        assert await asyncio.to_thread(stop_process, process) == 0
        await site.stop()

    hasher = Hasher(Settings.from_env(env).secret_key)
    storage = Storage(f"chdb://{tmp_path / 'data' / 'clickhouse'}", "analytics")
    try:
        check_stored_rows(storage, hasher, clarity, matomo)
    finally:
        storage.close()


def check_stored_rows(
    storage: Storage, hasher: Hasher, clarity: list[tuple[UploadLog, int]], matomo: dict[str, bool]
) -> None:
    def query(sql: str) -> list[tuple[Any, ...]]:
        return [tuple(row) for row in storage.query_rows(sql)]

    for log, grant in clarity:
        [visitor] = {u.document["e"][5] for u in log.uploads}
        hashed = hasher.visitor("proj123", visitor)
        where = f"WHERE visitor_hash = {hashed}"
        if not grant:
            for table in ("pageviews", "events", "playback"):
                assert query(f"SELECT count() FROM analytics.{table} {where}") == [(0,)], table
            continue
        assert query(f"SELECT count() FROM analytics.pageviews FINAL {where}") == [(1,)]
        stored = query(f"SELECT sequence, count() FROM analytics.playback {where} GROUP BY sequence")
        acked = {u.document["e"][1] for u in log.uploads if u.status == 204}
        assert stored and all(count == 1 for _, count in stored), f"every upload stored once: {stored}"
        assert {sequence for sequence, _ in stored} <= acked
        clicks = sum(1 for u in log.uploads if u.status == 204 for e in u.document["a"] if e[1] == 9 and e[0] >= grant)
        assert query(f"SELECT count() FROM analytics.events {where} AND type = 9") == [(clicks,)]
    for visitor_id, consented in matomo.items():
        hashed = matomo_visitor_hash(hasher, "shop", visitor_id)
        where = f"WHERE visitor_hash = {hashed}"
        visits = query(f"SELECT count(), sum(pageviews) FROM analytics.visits FINAL {where}")
        events = query(f"SELECT countIf(name = 'event'), count() > 0 FROM analytics.events {where}")
        assert (visits, events) == (([(1, 1)], [(1, 1)]) if consented else ([(0, 0)], [(0, 0)])), visitor_id
