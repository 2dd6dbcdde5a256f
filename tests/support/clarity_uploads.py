"""Hand-made clarity-js uploads: the captured fixture page (with its DOM snapshot) under ids, a URL and events the
test chooses, for tests that need known clicks, scrolls, errors or custom events through the real /collect."""

from __future__ import annotations

from typing import Any

import orjson

from tests.support.collector import DESKTOP_UA, ORIGIN, RunningCollector, clarity_fixture

MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.4 Mobile/15E148 Safari/604.1"
)


def click(t: int, target: int, x: int, y: int, element: str, tag: str = "DIV", link: str = "") -> list[Any]:
    """A clarity-js Click event (fields as clarity-js 0.8 sends them: target, page x/y, ..., text 10, link 11,
    selector hashes 12, ..., tag 17)."""
    return [t, 9, target, x, y, 100, 100, 0, 1, 0, "", link, f"a{element}.b{element}", 1, 0, 40, 20, tag]


def clarity_upload(
    user: str,
    session: str,
    page_num: int,
    path: str,
    events: list[list[Any]],
    duration: int = 6000,
    snapshot: bool = True,
) -> bytes:
    """One page view's upload: the fixture's analytics plus `events`; its DOM snapshot, or (snapshot=False) a
    Resize in its place, so the page view cannot be replayed."""
    document = clarity_fixture("default_001").document
    envelope = list(document["e"])
    envelope[3], envelope[5], envelope[6], envelope[7] = duration, user, session, page_num
    envelope[11] = ORIGIN + path
    playback = document["p"] if snapshot else [[57, 11, 1000, 700]]
    return orjson.dumps({"e": envelope, "a": document["a"] + events, "p": playback})


async def post_upload(collector: RunningCollector, body: bytes, mobile: bool = False) -> None:
    headers = {"Origin": ORIGIN, "User-Agent": MOBILE_UA if mobile else DESKTOP_UA}
    status, _, _ = await collector.post("/collect", body, headers)
    assert status == 204
