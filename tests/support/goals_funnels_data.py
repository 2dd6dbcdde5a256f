"""Generated Matomo visits with known answers, for the goal and funnel tests.

A seeded plan of visits (pages, Matomo events, a Matomo goal with revenue; a device, a country and a
channel each; times spaced by seconds) is sent through the real tracking API (bulk requests over a
socket, `cdt` and `country` allowed by the configured token_auth). The plan itself is the reference:
expected conversions, funnel steps, drop-offs and medians are computed from it here, in plain Python,
independently of the query layer.
"""

from __future__ import annotations

import random
import re
import statistics
import time
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import urlencode, urlsplit

import orjson

from tests.support.collector import DESKTOP_UA
from tests.support.matomo import SITE_ORIGIN, matomo_site

SITE = "shop"
TOKEN = "goals-test-token"
MOBILE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Mobile/15E148 Safari/604.1"
)
UAS = {"desktop": DESKTOP_UA, "mobile": MOBILE_UA}
LANDINGS = ("/", "/blog/post", "/product/shoe-1")
PRODUCTS = ("/product/shoe-1", "/product/shoe-2", "/product/hat")


@dataclass
class Act:
    at: float  # unix seconds
    kind: str  # page | event | goal
    url: str = ""  # path with query, for pages
    event: tuple[str, str, str] = ("", "", "")
    revenue: float = 0.0


@dataclass
class Visit:
    visitor: str
    device: str
    country: str
    channel: str
    acts: list[Act] = field(default_factory=list)

    @property
    def pages(self) -> list[Act]:
        return [a for a in self.acts if a.kind == "page"]

    @property
    def duration(self) -> float:
        return self.acts[-1].at - self.acts[0].at

    @property
    def landing(self) -> str:
        return urlsplit(self.pages[0].url).path


def plan(seed: int = 15, visits: int = 48) -> list[Visit]:
    """Visits over the last two hours, none crossing midnight UTC; visits 0 and 1 are one returning visitor."""
    rng = random.Random(seed)
    now = time.time()
    out: list[Visit] = []
    for i in range(visits):
        start = now - 7200 + i * 120 + rng.uniform(0, 20)
        midnight = (start // 86400 + 1) * 86400
        if start < midnight < start + 1500:
            start = midnight + 5  # a visit never spans midnight (Matomo starts a new one there)
        visitor = "00000000000000a0" if i == 1 else f"{i + 1:016x}"
        if i == 1:
            start = out[0].acts[0].at + 2400  # the same visitor, 40 minutes later: a second visit
        visit = Visit(
            visitor,
            rng.choice(("desktop", "mobile")),
            rng.choice(("DE", "FR", "US")),
            rng.choice(("direct", "search", "campaign")),
        )
        if i == 0:
            visit.visitor = "00000000000000a0"
        t = start
        journey = [rng.choice(LANDINGS)]
        behaviour = rng.random()
        if behaviour < 0.75:
            journey.append(rng.choice(PRODUCTS))
            if rng.random() < 0.6:
                journey.append("cart")
            if rng.random() < 0.2:
                journey.append("video")
            if rng.random() < 0.55:
                journey.append("/checkout")
                if rng.random() < 0.6:
                    journey += ["/thanks?order=1", "goal"]
        elif behaviour < 0.85:
            journey += ["/checkout", rng.choice(PRODUCTS)]  # out of order
        for step in journey:
            if step == "cart":
                visit.acts.append(Act(t, "event", event=("Cart", "Add", "shoe")))
            elif step == "video":
                visit.acts.append(Act(t, "event", event=("Video", "Play", "intro")))
            elif step == "goal":
                visit.acts.append(Act(t, "goal", revenue=float(rng.choice((20, 35.5, 50)))))
            else:
                visit.acts.append(Act(t, "page", url=step))
            t += rng.choice((4, 10, 30, 75, 200, 320))
        if visit.acts[-1].at > now - 5:
            raise AssertionError("the plan must stay in the past")
        out.append(visit)
    return out


def goals_site() -> Any:
    return matomo_site(id=SITE, timezone="UTC")


def _hits(visit: Visit) -> list[str]:
    """The visit's tracker requests, each with the pv_id of its page (events and goals join their page)."""
    hits = []
    page_id, page_url = "", "/"
    for n, act in enumerate(visit.acts):
        params: dict[str, Any] = {
            "idsite": 1,
            "rec": 1,
            "_id": visit.visitor,
            "cdt": f"{act.at:.3f}",
            "country": visit.country.lower(),
            "send_image": 0,
            "consent": 1,
        }
        if act.kind == "page":
            page_id = f"p{n:05d}"
            url = act.url
            if n == 0 and visit.channel == "campaign":
                url += ("&" if "?" in url else "?") + "mtm_campaign=spring"
            params.update(url=SITE_ORIGIN + url, action_name=url)
            page_url = url
            if n == 0 and visit.channel == "search":
                params["urlref"] = "https://www.google.com/search?q=shoes"
        else:
            params["url"] = SITE_ORIGIN + page_url  # the page the event or goal happened on
        params["pv_id"] = page_id
        if act.kind == "event":
            params.update(e_c=act.event[0], e_a=act.event[1], e_n=act.event[2])
        elif act.kind == "goal":
            params.update(idgoal=1, revenue=act.revenue)
        hits.append("?" + urlencode(params))
    return hits


async def send(collector: Any, visits: list[Visit]) -> None:
    """One bulk request per device class (the user agent is per request), then a flush."""
    for device, ua in UAS.items():
        requests = [h for v in visits if v.device == device for h in _hits(v)]
        body = orjson.dumps({"requests": requests, "token_auth": TOKEN})
        async with collector.http.post(
            collector.url + "/matomo.php", data=body, headers={"User-Agent": ua, "Content-Type": "application/json"}
        ) as response:
            assert response.status == 200, (response.status, await response.text())
    await collector.flush()


# --- the reference answers ------------------------------------------------------------------------

Test = Callable[[Act], bool]


def page(match: str, value: str) -> Test:
    def test(act: Act) -> bool:
        if act.kind != "page":
            return False
        path = urlsplit(act.url).path
        if match == "exact":
            return path == value
        if match == "prefix":
            return path.startswith(value)
        return re.search(value, act.url) is not None

    return test


def event(category: str = "", action: str = "", name: str = "") -> Test:
    def test(act: Act) -> bool:
        wanted = (category, action, name)
        return act.kind == "event" and all(not w or w == got for w, got in zip(wanted, act.event, strict=True))

    return test


def matomo_goal(act: Act) -> bool:
    return act.kind == "goal"


def converted(visit: Visit, test: Test) -> bool:
    return any(test(a) for a in visit.acts)


@dataclass
class StepRef:
    test: Test
    optional: bool = False


def _chain_reached(acts: list[Act], tests: list[Test], window: float) -> bool:
    """windowFunnel: some occurrence of the first test starts a chain done in order within the window."""
    for s, start in enumerate(acts):
        if not tests[0](start):
            continue
        level, position = 1, s
        for test in tests[1:]:
            nxt = next(
                (
                    j
                    for j in range(position + 1, len(acts))
                    if tests and test(acts[j]) and acts[j].at <= start.at + window
                ),
                None,
            )
            if nxt is None:
                break
            level, position = level + 1, nxt
        if level == len(tests):
            return True
    return False


def funnel_reference(visits: list[Visit], steps: list[StepRef], window: float = 1e9) -> list[dict[str, Any]]:
    """Per step: visits, dropped, median seconds (as docs/dashboards-goals-funnels.md defines them)."""
    required = [i for i, s in enumerate(steps) if not s.optional]

    def chain(i: int) -> list[Test]:
        return [steps[j].test for j in required if j < i] + [steps[i].test]

    out = []
    for i, _ in enumerate(steps):
        after = next((j for j in required if j > i), None)
        previous = max((j for j in required if j < i), default=None)
        reached = [v for v in visits if _chain_reached(v.acts, chain(i), window)]
        dropped = None
        if after is not None:
            dropped = sum(1 for v in reached if not _chain_reached(v.acts, chain(i) + [steps[after].test], window))
        gaps = []
        if previous is not None:
            for v in reached:
                times = greedy_times(v.acts, steps)
                if times[i] and times[previous]:
                    gaps.append(times[i] - times[previous])
        out.append(
            {"visits": len(reached), "dropped": dropped, "median": round(statistics.median(gaps), 1) if gaps else None}
        )
    return out


def greedy_times(acts: list[Act], steps: list[StepRef]) -> list[float]:
    """First time each step was reached after the previous required step's first time (0: never)."""
    times: list[float] = []
    last_required = 0.0
    for i, step in enumerate(steps):
        if i == 0:
            t = next((a.at for a in acts if step.test(a)), 0.0)
        else:
            t = next((a.at for a in acts if step.test(a) and a.at >= last_required), 0.0) if last_required else 0.0
        times.append(t)
        if not step.optional:
            last_required = t
    return times
