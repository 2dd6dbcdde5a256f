"""Strict masking: the page title and every attribute outside the short structural allow-list
(collector/ingest/policy.py STRICT_KEPT_ATTRIBUTES) are masked like page text, on the server.

Shown with the real clarity-js in Chromium on a strict site, with a forged upload for the
attributes clarity-js itself leaves out (title, alt, aria-label), and with a Matomo page title.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from tests.support.browser import UploadLog, all_stored_text, wait_until
from tests.support.collector import DESKTOP_UA, ORIGIN, CollectorFactory, RunningCollector, make_site
from tests.support.masking import forged_payload
from tests.support.matomo import hit, matomo_site

#: Recognisable words, one per place a strict site must not keep.
WORDS = {
    "title": "Quokkatitle",
    "onmouseover": "Quokkahandler",
    "data-note": "Quokkadata",
    "aria-label": "Quokkaaria",
    "title-attr": "Quokkatooltip",
    "alt": "Quokkaalt",
    "placeholder": "Quokkaholder",
    "aria-description": "Quokkadescribed",
    "lang-like": "Quokkacustom",
    "text": "Quokkatext",
}
KEPT = ("keepid", "keepclass")  # structural attributes a replay needs stay


def strict_page(collector_url: str) -> str:
    w = WORDS
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{w["title"]} shop</title>
<script src="{collector_url}/clarity.js"></script>
<script>clarity("start", {{projectId: "proj123", upload: "{collector_url}/collect"}});
clarity("consentv2", {{ad_Storage: "denied", analytics_Storage: "granted"}});</script></head>
<body><div id="keepid" class="keepclass" onmouseover="{w["onmouseover"]}()" data-note="{w["data-note"]}"
 aria-label="{w["aria-label"]}" title="{w["title-attr"]}" aria-description="{w["aria-description"]}"
 itemprop="{w["lang-like"]}"><p>{w["text"]} words</p>
<img alt="{w["alt"]}" src="/x.png?who=someone" width="10" height="10">
<input id="q" type="search" name="q" placeholder="{w["placeholder"]}"></div></body></html>"""


def payload_text(collector: RunningCollector) -> str:
    """The stored playback payloads as the replay reads them (JSON decoded and re-encoded)."""
    rows = collector.rows("SELECT payload FROM {db}.playback")
    return "\n".join(orjson.dumps(orjson.loads(payload)).decode() for (payload,) in rows)


@pytest.mark.browser
async def test_strict_masking_clarity_js_title_and_unlisted_attributes(
    collector_factory: CollectorFactory,
    new_page: Any,
    page_server: Any,  # noqa: F811
) -> None:
    urls: dict[str, str] = {}
    site_url = await page_server(lambda: strict_page(urls["collector"]))
    collector = await collector_factory(make_site(origins=[site_url.rstrip("/")], masking="strict"))
    urls["collector"] = collector.url
    page = await new_page()
    log = UploadLog().attach(page.context)
    await page.goto(site_url)

    def sent() -> str:
        return " ".join(orjson.dumps(u.document).decode() for u in log.uploads if u.status == 204)

    assert await wait_until(lambda: "Quokkahandler" in sent(), seconds=30), "clarity-js sent the attributes"
    on_the_wire = [w for w in WORDS.values() if w in sent()]
    assert {"Quokkatitle", "Quokkahandler", "Quokkadata", "Quokkacustom"} <= set(on_the_wire), on_the_wire
    assert await wait_until(lambda: collector.count("playback") >= 1 and collector.count("pageviews") >= 1)
    await collector.flush()
    [(title,)] = collector.rows("SELECT max(title) FROM {db}.pageviews")
    assert title and set(title) <= {"•", " "}, f"the title is masked like page text: {title!r}"
    stored = payload_text(collector) + all_stored_text(collector)
    assert [w for w in WORDS.values() if w in stored] == []
    assert all(k in payload_text(collector) for k in KEPT), "structural attributes stay for the replay"
    assert "who=someone" not in stored and "x.png" in stored, "URLs lose their query in strict mode"


async def test_strict_masking_forged_title_alt_and_label_attributes(collector_factory: CollectorFactory) -> None:
    """What clarity-js leaves out itself (title, alt, aria-label), a forged client can send."""
    collector = await collector_factory(make_site(masking="strict"))
    document = forged_payload()
    document["p"][0][2:2] = [
        70,
        60,
        "IMG",
        "alt=Quokkaalt",
        "title=Quokkatooltip",
        "onclick=Quokkahandler()",
        "aria-description=Quokkadescribed",
        "id=keepid",
        "class=keepclass",
    ]
    headers = {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
    status, _, _ = await collector.post("/collect", orjson.dumps(document), headers)
    assert status == 204
    await collector.flush()
    stored = payload_text(collector) + all_stored_text(collector)
    planted = ("Quokkaalt", "Quokkatooltip", "Quokkahandler", "Quokkadescribed", "Pagename")
    assert [w for w in planted if w in stored] == []
    assert "keepid" in stored and "keepclass" in stored


async def test_strict_masking_matomo_title(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(masking="strict"))
    params = {"consent": 1, "send_image": 0, "url": "https://shop.test/p", "action_name": "Quokkatitle page"}
    assert (await hit(collector, params))[0] == 204
    await collector.flush()
    assert "Quokkatitle" not in all_stored_text(collector)
    [(title,)] = collector.rows("SELECT max(title) FROM {db}.pageviews")
    assert set(title) <= {"•", " "} and len(title) == len("Quokkatitle page")
