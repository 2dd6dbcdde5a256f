"""The recordings list against ground truth computed here from the stored rows: which visits are listed (replayable,
newest first, paged), their page views, clicks and device, and each visit's frustration signals, with and without
a `signal` filter, a device filter and a small limit.

Visits are sent through the real collector as clarity-js uploads (the captured fixture page with its DOM snapshot)
carrying clicks, scrolls and errors the test chose; the signals are then recomputed in Python from the stored
click, scroll, error and page-view rows and the stored payloads, by the rules of docs/insights.md, independently of
the SQL that lists them.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import orjson

from tests.support.clarity_uploads import clarity_upload, click, post_upload
from tests.support.collector import CollectorFactory, RunningCollector
from tests.support.dashboard import SITE, dashboard_site, log_in

SIGNALS = ("rage_click", "dead_click", "quick_back", "excessive_scroll", "js_error")
COLUMNS = ("rage_clicks", "dead_clicks", "quick_backs", "excessive_scrolls", "js_errors")
FORM_TAGS = ("input", "select", "textarea", "option", "label")


@dataclass
class Page:
    url: str
    events: list[list[Any]] = field(default_factory=list)
    duration: int = 6000


@dataclass
class Visit:
    name: str
    pages: list[Page]
    mobile: bool = False
    snapshot: bool = True


def visits() -> list[Visit]:
    burst = [click(1000 + 200 * i, 12, 300, 400, "buy") for i in range(4)]
    return [
        Visit("rage", [Page("/a", [*burst, click(4000, 14, 600, 900, "far")])]),
        Visit("back", [Page("/a", [click(900, 12, 50, 60, "t")]), Page("/b"), Page("/a")], mobile=True),
        Visit(
            "scroll",
            [
                Page(
                    "/a",
                    [[800 + 300 * i, 10, 1, 0, y, "h"] for i, y in enumerate((800, 100, 900, 50, 60))]
                    + [[3000, 31, "boom", 12, 3, "", "http://127.0.0.1:8765/app.js"]],
                )
            ],
        ),
        Visit("hidden", [Page("/a", burst)], snapshot=False),
        Visit(
            "links", [Page("/c", [click(700, 16, 10, 10, "l", "A", "/next"), click(2500, 16, 10, 10, "l", "A", "/n")])]
        ),
        Visit("jitter", [Page("/a", [click(1000 + 300 * i, 20 + i, 200 + 20 * i, 300, f"j{i}") for i in range(3)])]),
        Visit(
            "errors",
            [
                Page("/d", [[500, 31, "first", 1, 1, "", "http://127.0.0.1:8765/x.js"]]),
                Page("/e", [[700, 31, "second", 2, 2, "", "http://127.0.0.1:8765/y.js"]]),
            ],
            mobile=True,
        ),
    ]


async def send(collector: RunningCollector, planned: list[Visit]) -> None:
    for visit in planned:
        for page_num, page in enumerate(visit.pages, 1):
            body = clarity_upload(
                f"rl{visit.name}", f"rls{visit.name}", page_num, page.url, page.events, page.duration, visit.snapshot
            )
            await post_upload(collector, body, visit.mobile)
    await collector.flush()


# --- ground truth, from the stored rows ---------------------------------------------------------------------


def rage(clicks: list[tuple[int, int, int, str]]) -> int:
    """Bursts of >= 3 clicks, each <= 1000 ms after the previous one and on its element or within 60 px."""
    bursts, run = 0, 0
    previous: tuple[int, int, int, str] | None = None
    for t, x, y, element in sorted(clicks):
        follows = (
            previous is not None
            and t - previous[0] <= 1000
            and (
                (element != "" and element == previous[3])
                or (abs(x - previous[1]) <= 60 and abs(y - previous[2]) <= 60)
            )
        )
        if not follows:
            bursts += run >= 3
            run = 0
        run += 1
        previous = (t, x, y, element)
    return bursts + (run >= 3)


def reversals(ys: list[int]) -> int:
    """Direction changes between legs of >= 200 px of the scroll positions, from the top."""
    legs: list[int] = []
    last = 0
    for y in ys:
        step = y - last
        last = y
        if step == 0:
            continue
        if legs and (legs[-1] > 0) == (step > 0):
            legs[-1] += step
        else:
            legs.append(step)
    kept = [leg for leg in legs if abs(leg) >= 200]
    return sum(1 for a, b in zip(kept[:-1], kept[1:], strict=True) if (a > 0) != (b > 0))


def dead(payloads: list[dict[str, Any]], rows: list[tuple[int, int, int, str, str]]) -> int:
    """Clicks of one page view with no DOM change within 1000 ms that did not lead away, on no link or form field
    (the page view's click rows tell the link and tag of each clicked spot)."""
    events = [e for p in payloads for e in p["a"] + p["p"]]
    mutations = [e[0] for e in events if e[1] == 6]
    clicks = [(e[0], e[2], e[3], e[4]) for e in events if e[1] == 9]
    end = max(p["e"][2] + p["e"][3] for p in payloads)
    last = max((c[0] for c in clicks), default=-1)
    kind = {(target, x, y): (link, tag) for target, x, y, link, tag in rows}
    count = 0
    for t, target, x, y in clicks:
        link, tag = kind[(target, x, y)]
        quiet = not any(t <= m <= t + 1000 for m in mutations)
        left = t == last and t + 1000 >= end
        count += quiet and not left and link == "" and tag.lower() not in FORM_TAGS
    return count


def truth(collector: RunningCollector) -> list[dict[str, Any]]:
    """Every replayable visit, newest first, with what the list must show about it."""
    visits = collector.rows(
        "SELECT session_hash, lower(hex(session_hash)), min(started_at) AS s, uniqExact(pageview_id), "
        "argMin(device, started_at) FROM {db}.pageviews GROUP BY session_hash ORDER BY s DESC, session_hash DESC"
    )
    uploads = collector.rows("SELECT session_hash, pageview_id, sequence, payload FROM {db}.playback")
    replayable = {s for s, _, seq, p in uploads if seq == 1 and (orjson.loads(p)["p"] or [[0, 0]])[0][1] == 5}
    payloads: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for _, pv, _, p in uploads:
        payloads[pv].append(orjson.loads(p))
    events = collector.rows(
        "SELECT session_hash, pageview_id, type, toUnixTimestamp64Milli(ts), target, x, y, target_hash, link, "
        "target_tag FROM {db}.events WHERE type IN (9, 10, 31) ORDER BY ts"
    )
    pages = collector.rows(
        "SELECT session_hash, pageview_id, min(started_at) AS t, path(any(url)) FROM {db}.pageviews "
        "GROUP BY session_hash, pageview_id ORDER BY t"
    )
    out = []
    for session, recording, _, views, device in visits:
        if session not in replayable:
            continue
        mine = [e for e in events if e[0] == session]
        counts = dict.fromkeys(SIGNALS, 0)
        for pv in {e[1] for e in mine}:
            on = [e for e in mine if e[1] == pv]
            counts["rage_click"] += rage([(e[3], e[5], e[6], e[7]) for e in on if e[2] == 9])
            counts["excessive_scroll"] += reversals([e[6] for e in on if e[2] == 10]) >= 3
            counts["js_error"] += sum(1 for e in on if e[2] == 31)
            if any(e[2] == 9 for e in on):
                counts["dead_click"] += dead(payloads[pv], [(e[4], e[5], e[6], e[8], e[9]) for e in on if e[2] == 9])
        seq = [(pv, path) for s, pv, _, path in pages if s == session]
        counts["quick_back"] = sum(
            1
            for i in range(1, len(seq) - 1)
            if seq[i + 1][1] == seq[i - 1][1] and seq[i][1] != seq[i - 1][1]  # within seconds: sent back to back
        )
        out.append(
            {
                "recording": recording,
                "pageviews": views,
                "clicks": sum(1 for e in mine if e[2] == 9),
                "device": device,
                **{c: counts[s] for s, c in zip(SIGNALS, COLUMNS, strict=True)},
                "tags": [s for s in SIGNALS if counts[s]],
            }
        )
    return out


def shown(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("recording", "pageviews", "clicks", "device", *COLUMNS, "tags")
    return [{k: r[k] for k in keys} for r in rows]


async def test_recordings_list_equals_ground_truth_with_and_without_filters(
    collector_factory: CollectorFactory,
) -> None:
    collector = await collector_factory(dashboard_site())
    planned = visits()
    await send(collector, planned)
    expected = truth(collector)
    assert len(expected) == len(planned) - 1, "every visit but the one without a snapshot is replayable"
    assert {s for r in expected for s in r["tags"]} == set(SIGNALS), "the data shows every signal"
    analyst = await log_in(collector)
    try:
        listed = (await analyst.api("recordings", site=SITE, period="today"))["rows"]
        assert shown(listed) == expected
        assert shown((await analyst.api("recordings", site=SITE, period="today", limit=3))["rows"]) == expected[:3]
        for signal, column in zip(SIGNALS, COLUMNS, strict=True):
            rows = (await analyst.api("recordings", site=SITE, period="today", signal=signal))["rows"]
            assert shown(rows) == [r for r in expected if r[column] > 0], signal
        only_one = (await analyst.api("recordings", site=SITE, period="today", signal="rage_click", limit=1))["rows"]
        assert shown(only_one) == [r for r in expected if r["rage_clicks"] > 0][:1]
        for device in ("mobile", "desktop"):
            rows = (await analyst.api("recordings", site=SITE, period="today", device=device))["rows"]
            assert shown(rows) == [r for r in expected if r["device"] == device], device
            assert rows, device
        # the newest visits cannot be replayed: a small page looks past them
        await send(collector, [Visit(f"late{i}", [Page("/a")], snapshot=False) for i in range(4)])
        assert truth(collector) == expected
        for limit in (1, 2):
            rows = (await analyst.api("recordings", site=SITE, period="today", limit=limit))["rows"]
            assert shown(rows) == expected[:limit], limit
    finally:
        await analyst.close()
