"""Campaign attribution: Matomo (`mtm_*`, `pk_*`, `matomo_*`), Google (`utm_*`) and the campaign
matomo.js remembers in its `_pk_ref` cookie (`_rcn`/`_rck`)."""

from __future__ import annotations

import pytest

from collector.ingest.attribution import classify
from tests.support.collector import CollectorFactory
from tests.support.matomo import SITE_ORIGIN, hit, matomo_site, pageviews, visits

CAMPAIGN_URLS = {
    "?mtm_campaign=Spring&mtm_kwd=shoes&mtm_source=news&mtm_medium=email&mtm_content=hero": (
        "spring",
        "shoes",
        "news",
        "email",
        "hero",
    ),
    "?utm_campaign=launch&utm_term=boots&utm_source=google&utm_medium=cpc&utm_content=ad1": (
        "launch",
        "boots",
        "google",
        "cpc",
        "ad1",
    ),
    "?pk_campaign=old-style&pk_kwd=kw": ("old-style", "kw", "", "", ""),
    "?matomo_campaign=m&matomo_kwd=k": ("m", "k", "", "", ""),
    "#mtm_campaign=in-fragment": ("in-fragment", "", "", "", ""),
    "?utm_source=only-a-source": ("", "", "only-a-source", "", ""),
    "?MTM_CAMPAIGN=upper": ("upper", "", "", "", ""),
}


@pytest.mark.parametrize("query", sorted(CAMPAIGN_URLS))
def test_campaign_parameters_of_the_landing_page(query: str) -> None:
    attribution = classify("https://shop.example/" + query, "https://www.google.com/")
    assert attribution.channel == "campaign"
    assert (
        attribution.campaign_name,
        attribution.campaign_keyword,
        attribution.campaign_source,
        attribution.campaign_medium,
        attribution.campaign_content,
    ) == CAMPAIGN_URLS[query]
    assert attribution.referrer_name == "Google", "the referrer is kept beside the campaign"


def test_campaign_values_are_masked_and_bounded() -> None:
    attribution = classify("https://shop.example/?utm_campaign=for+jane.doe%40example.com&utm_content=" + "x" * 400, "")
    assert "jane.doe" not in attribution.campaign_name and "@" in attribution.campaign_name
    assert len(attribution.campaign_content) == 250


def test_campaign_remembered_by_the_tracker_applies_when_the_url_has_none() -> None:
    remembered = classify("https://shop.example/page", "", campaign_name="spring", campaign_keyword="promo")
    assert (remembered.channel, remembered.campaign_name, remembered.campaign_keyword) == (
        "campaign",
        "spring",
        "promo",
    )
    url_wins = classify("https://shop.example/?mtm_campaign=summer", "", campaign_name="spring")
    assert (url_wins.campaign_name, url_wins.campaign_keyword) == ("summer", "")


def test_campaign_absent_means_referrer_channel() -> None:
    assert classify("https://shop.example/?page=2&utm_campaign=", "").channel == "direct"


async def test_campaign_of_matomo_hits_reaches_page_views_and_visits(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    landing = SITE_ORIGIN + "/?utm_campaign=launch&utm_source=newsletter&utm_medium=email&email=jane@example.com"
    await hit(collector, {"url": landing, "_id": "00000000000000f1", "pv_id": "p1", "send_image": 0})
    await hit(
        collector,
        {
            "url": SITE_ORIGIN + "/next",
            "_id": "00000000000000f1",
            "pv_id": "p2",
            "send_image": 0,
            "_rcn": "launch",
            "_rck": "",
        },
    )
    await hit(
        collector,
        {"url": SITE_ORIGIN + "/", "_id": "00000000000000f2", "_rcn": "spring", "_rck": "promo", "send_image": 0},
    )
    await collector.flush()
    direct, launch = sorted(visits(collector), key=lambda v: v["campaign_name"])
    assert (launch["campaign_name"], launch["campaign_source"], launch["campaign_medium"], launch["pageviews"]) == (
        "launch",
        "newsletter",
        "email",
        2,
    )
    assert (direct["channel"], direct["campaign_name"]) == ("direct", ""), (
        "a remembered campaign (_rcn/_rck) only credits conversions; the visit is classified by its own referrer"
    )
    first = [p for p in pageviews(collector) if p["session_hash"] == launch["session_hash"]]
    assert [p["campaign_name"] for p in first] == ["launch", "launch"], "every page view carries its visit's campaign"
    assert "jane" not in first[0]["url"], "the sensitive parameter is removed, the campaign kept"
    assert "utm_campaign=launch" in first[0]["url"]
