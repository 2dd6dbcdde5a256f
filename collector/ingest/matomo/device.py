"""Browser, OS and device class of a Matomo hit: `ua-parser` on the User-Agent, refined by the
User-Agent Client Hints matomo.js sends as `uadata` (Chromium freezes its UA string, so only
the hints tell Edge from Chrome or a tablet from a phone). Nothing here is stored but the result.
"""

from __future__ import annotations

from typing import Any

from collector.ingest.enrich import Device, describe_device

#: Client-hint brand → the family name ua-parser uses, most specific first (GREASE brands skipped).
BRANDS = {
    "Microsoft Edge": "Edge",
    "Opera": "Opera",
    "Brave": "Brave",
    "Vivaldi": "Vivaldi",
    "YaBrowser": "Yandex Browser",
    "Samsung Internet": "Samsung Internet",
    "Google Chrome": "Chrome",
    "Chromium": "Chromium",
}
PLATFORMS = {
    "Windows": "Windows",
    "macOS": "Mac OS X",
    "Linux": "Linux",
    "Android": "Android",
    "Chrome OS": "Chrome OS",
    "Chromium OS": "Chrome OS",
    "iOS": "iOS",
}


def _brand(hints: dict[str, Any]) -> str:
    brands = hints.get("fullVersionList") or hints.get("brands") or []
    names = {b.get("brand") for b in brands if isinstance(b, dict) and isinstance(b.get("brand"), str)}
    return next((family for brand, family in BRANDS.items() if brand in names), "")


def _device_class(hints: dict[str, Any], fallback: str) -> str:
    factors = hints.get("formFactors")
    if isinstance(factors, list):
        lowered = {str(f).lower() for f in factors}
        for name in ("tablet", "mobile", "desktop"):
            if name in lowered:
                return name
    if hints.get("mobile") is True:
        return "mobile"
    return fallback


def describe_hit_device(user_agent: str, hints: dict[str, Any]) -> Device:
    """Device facts for one hit; client hints win over the frozen UA string where they say more."""
    device = describe_device(user_agent)
    if not hints:
        return device
    brand = _brand(hints)
    platform = PLATFORMS.get(str(hints.get("platform", "")), "")
    browser = brand if brand and brand != "Chromium" or not device.browser else device.browser
    return Device(
        browser=browser,
        os=platform or device.os,
        device=_device_class(hints, device.device if user_agent else "unknown"),
    )
