"""Device and bot facts derived from the User-Agent in memory; the string itself is never stored.

Uses maintained libraries: `ua-parser` (browser, OS, device) and `crawlerdetect` (bots).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from crawlerdetect import CrawlerDetect
from ua_parser import parse as parse_user_agent

_TABLET_HINTS = ("ipad", "tablet", "kindle", "silk", "playbook")
_crawler_detect = CrawlerDetect()


@dataclass(frozen=True)
class Device:
    browser: str
    os: str
    device: str  # desktop | mobile | tablet | unknown


@lru_cache(maxsize=4096)
def describe_device(user_agent: str) -> Device:
    if not user_agent:
        return Device("", "", "unknown")
    parsed = parse_user_agent(user_agent)
    browser = parsed.user_agent.family if parsed.user_agent else ""
    os_name = parsed.os.family if parsed.os else ""
    lowered = user_agent.lower()
    if any(h in lowered for h in _TABLET_HINTS) or ("android" in lowered and "mobile" not in lowered):
        device = "tablet"
    elif "mobi" in lowered or os_name in ("iOS", "Android"):
        device = "mobile"
    else:
        device = "desktop"
    return Device(
        browser="" if browser == "Other" else browser, os="" if os_name == "Other" else os_name, device=device
    )


@lru_cache(maxsize=4096)
def is_bot(user_agent: str) -> bool:
    """Crawlers, headless browsers and HTTP libraries (an empty UA counts as a bot)."""
    if not user_agent:
        return True
    return bool(_crawler_detect.isCrawler(user_agent))
