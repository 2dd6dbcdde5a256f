"""The `matomo-tracker` npm client (Matomo's own Node.js tracker) sends real requests to the collector."""

from __future__ import annotations

import asyncio
import json
import shutil

import pytest

from tests.support.collector import ROOT, CollectorFactory
from tests.support.matomo import events_by_type, matomo_site, pageviews, visitor_hash, visits

NODE = shutil.which("node") or "node"
SCRIPT = r"""
const http = require('http');
const MatomoTracker = require('matomo-tracker');
// the client's track() has no callback: once its GET is answered (stored), send the bulk
const get = http.get;
let afterPageView = null;
http.get = function () {
  const request = get.apply(this, arguments);
  request.on('response', (response) => { response.resume(); afterPageView && afterPageView(); });
  return request;
};
const tracker = new MatomoTracker(1, process.argv[1]);
tracker.on('error', (error) => { console.error('tracker error ' + error); process.exitCode = 3; });
const ua = 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) ' +
  'Chrome/126.0.0.0 Safari/537.36';
const visitor = { _id: '0123456789abcdef', ua: ua, lang: 'en-US', res: '1920x1080' };
tracker.track(Object.assign({ url: 'https://example.org/blog/hello?utm_campaign=autumn&utm_source=newsletter',
  action_name: 'Blog / Hello', urlref: 'https://newsletter.example.net/', pv_id: 'AbC123', dimension1: 'blue',
  apiv: 1, rand: 12345, _idts: 1700000000, _idvc: 2 }, visitor));
afterPageView = () => tracker.trackBulk([
  Object.assign({ url: 'https://example.org/blog/hello', pv_id: 'AbC123', e_c: 'Video', e_a: 'Play',
    e_n: 'intro.mp4', e_v: 3.5, ca: 1 }, visitor),
  Object.assign({ url: 'https://example.org/checkout', action_name: 'Checkout', pv_id: 'XyZ789' }, visitor),
  Object.assign({ url: 'https://example.org/checkout', pv_id: 'XyZ789', idgoal: 0, ec_id: 'A-1', revenue: 42.5,
    ec_items: JSON.stringify([['SKU9', 'Hat', 'Clothes', 42.5, 1]]) }, visitor),
  Object.assign({ url: 'https://example.org/x', cid: 'not-a-visitor-id' }, visitor),
], (body) => { console.log(body); process.exit(); });  // keep-alive sockets would hold the process open
"""


async def run_node(tracker_url: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        NODE, "-e", SCRIPT, tracker_url, cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    return int(process.returncode or 0), stdout.decode(), stderr.decode()


async def test_matomo_node_tracker_client_sends_page_views_events_and_orders(
    collector_factory: CollectorFactory,
) -> None:
    if not (ROOT / "node_modules" / "matomo-tracker").exists():
        pytest.fail("matomo-tracker is not installed: run `npm ci` (package.json devDependencies)")
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    status, stdout, stderr = await run_node(collector.url + "/matomo.php")
    assert status == 0, stderr
    answer = json.loads(stdout.strip().splitlines()[-1])
    assert answer == {"status": "success", "tracked": 3, "invalid": 1}, "a cid not 16 hex: Matomo's invalid count"
    await collector.flush()

    [visit] = visits(collector)
    assert visit["visitor_hash"] == visitor_hash(collector, "0123456789abcdef")
    assert (visit["pageviews"], visit["goals"], visit["revenue"]) == (2, 1, 42.5)
    assert (visit["channel"], visit["campaign_name"], visit["campaign_source"]) == ("campaign", "autumn", "newsletter")
    assert (visit["browser"], visit["os"], visit["device"]) == ("Chrome", "Windows", "desktop")
    assert {p["title"] for p in pageviews(collector)} == {"Blog / Hello", "Checkout"}
    assert events_by_type(collector) == {1001: 1, 1006: 1}
    [(key, num, data)] = collector.rows("SELECT key, num, data FROM {db}.events WHERE type = 1006")
    assert (key, num) == ("A-1", 42.5) and json.loads(data)["items"][0]["sku"] == "SKU9"
