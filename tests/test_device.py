"""Devices: ua-parser on the user agent, refined by the client hints matomo.js sends (`uadata`)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from collector.ingest.matomo.device import describe_hit_device
from tests.support.collector import CollectorFactory
from tests.support.matomo import SITE_ORIGIN, hit, matomo_site, visits

IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
IPAD = (
    "Mozilla/5.0 (iPad; CPU OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 "
    "Mobile/15E148 Safari/604.1"
)
ANDROID_TABLET = (
    "Mozilla/5.0 (Linux; Android 14; SM-X710) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
ANDROID_PHONE = (
    "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36"
)
WINDOWS_CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36"
)
MAC_FIREFOX = "Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:127.0) Gecko/20100101 Firefox/127.0"
EDGE_HINTS = {
    "fullVersionList": [
        {"brand": "Not/A)Brand", "version": "8.0.0.0"},
        {"brand": "Chromium", "version": "126.0.6478.127"},
        {"brand": "Microsoft Edge", "version": "126.0.2592.87"},
    ],
    "mobile": False,
    "platform": "Windows",
    "formFactors": ["Desktop"],
}
TABLET_HINTS = {
    "brands": [{"brand": "Google Chrome", "version": "126"}],
    "mobile": False,
    "platform": "Android",
    "formFactors": ["Tablet"],
}

CASES: dict[str, tuple[str, dict[str, Any], tuple[str, str, str]]] = {
    "iphone": (IPHONE, {}, ("Mobile Safari", "iOS", "mobile")),
    "ipad": (IPAD, {}, ("Mobile Safari", "iOS", "tablet")),
    "android_tablet": (ANDROID_TABLET, {}, ("Chrome", "Android", "tablet")),
    "android_phone": (ANDROID_PHONE, {}, ("Chrome Mobile", "Android", "mobile")),
    "windows_chrome": (WINDOWS_CHROME, {}, ("Chrome", "Windows", "desktop")),
    "mac_firefox": (MAC_FIREFOX, {}, ("Firefox", "Mac OS X", "desktop")),
    "edge_by_client_hints": (WINDOWS_CHROME, EDGE_HINTS, ("Edge", "Windows", "desktop")),
    "tablet_by_client_hints": (ANDROID_PHONE, TABLET_HINTS, ("Chrome", "Android", "tablet")),
    "no_user_agent": ("", {}, ("", "", "unknown")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_device_from_user_agent_and_client_hints(case: str) -> None:
    user_agent, hints, expected = CASES[case]
    device = describe_hit_device(user_agent, hints)
    assert (device.browser, device.os, device.device) == expected


async def test_device_of_matomo_hits_is_stored_without_the_user_agent(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    for index, case in enumerate(("iphone", "edge_by_client_hints", "tablet_by_client_hints", "mac_firefox")):
        user_agent, hints, _ = CASES[case]
        params = {"url": SITE_ORIGIN + "/", "_id": f"{index + 1:016x}", "send_image": 0, "res": "1280x800"}
        if hints:
            params["uadata"] = json.dumps(hints)
        assert (await hit(collector, params, headers={"User-Agent": user_agent}))[0] == 204
    await collector.flush()
    stored = {(v["browser"], v["os"], v["device"]) for v in visits(collector)}
    assert stored == {CASES[c][2] for c in ("iphone", "edge_by_client_hints", "tablet_by_client_hints", "mac_firefox")}
    assert collector.rows("SELECT DISTINCT screen_width, screen_height FROM {db}.pageviews") == [(1280, 800)]
    text = "\n".join(str(r) for r in collector.rows("SELECT * FROM {db}.visits"))
    assert "AppleWebKit" not in text and "Gecko" not in text
