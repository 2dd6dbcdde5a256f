"""Referrer classification (collector/attribution.py), on Matomo hits and on Clarity page views."""

from __future__ import annotations

import orjson
import pytest

from collector.ingest.attribution import classify, hosts_of
from tests.support.collector import DESKTOP_UA, ORIGIN, CollectorFactory, clarity_fixture, make_site
from tests.support.matomo import SITE_ORIGIN, hit, matomo_site, pageviews, visits

PAGE = "https://shop.example/products"
OWN = hosts_of(frozenset({"https://shop.example", "https://www.shop.example"}))

REFERRERS = {
    "": ("direct", "", ""),
    "https://www.google.com/": ("search", "google.com", "Google"),
    "https://www.google.co.uk/search?q=shoes": ("search", "google.co.uk", "Google"),
    "android-app://com.google.android.googlequicksearchbox/": (
        "search",
        "com.google.android.googlequicksearchbox",
        "Google",
    ),
    "https://duckduckgo.com/": ("search", "duckduckgo.com", "DuckDuckGo"),
    "https://www.bing.com/search?q=x": ("search", "bing.com", "Bing"),
    "https://yandex.ru/search/?text=x": ("search", "yandex.ru", "Yandex"),
    "https://www.ecosia.org/search?q=x": ("search", "ecosia.org", "Ecosia"),
    "https://l.facebook.com/l.php?u=x": ("social", "l.facebook.com", "Facebook"),
    "https://t.co/abc": ("social", "t.co", "X (Twitter)"),
    "https://www.linkedin.com/feed/": ("social", "linkedin.com", "LinkedIn"),
    "https://old.reddit.com/r/x": ("social", "old.reddit.com", "Reddit"),
    "https://news.ycombinator.com/item?id=1": ("social", "news.ycombinator.com", "Hacker News"),
    "https://blog.example.org/post": ("website", "blog.example.org", ""),
    "https://notgoogle.example/": ("website", "notgoogle.example", ""),
    "https://shop.example/cart": ("direct", "", ""),
    "https://www.shop.example/": ("direct", "", ""),
    "file:///etc/passwd": ("direct", "", ""),
    "not a url at all": ("direct", "", ""),
    "http://[::1": ("direct", "", ""),
}


@pytest.mark.parametrize("referrer", sorted(REFERRERS))
def test_referrer_channel_host_and_name(referrer: str) -> None:
    attribution = classify(PAGE, referrer, OWN)
    assert (attribution.channel, attribution.referrer_host, attribution.referrer_name) == REFERRERS[referrer]


def test_referrer_on_the_page_host_is_internal_without_a_site_list() -> None:
    assert classify("https://other.example/a", "https://other.example/b").channel == "direct"


async def test_referrer_of_matomo_hits_is_classified_and_stored_without_query(
    collector_factory: CollectorFactory,
) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="tracker_requires_consent"))
    cases = {
        "00000000000000e1": "https://www.google.de/search?q=jane+doe+diagnosis",
        "00000000000000e2": "https://www.facebook.com/some/page?fbclid=abc",
        "00000000000000e3": "https://blog.example.org/review?ref=1",
        "00000000000000e4": "",
    }
    for visitor, referrer in cases.items():
        assert (await hit(collector, {"url": SITE_ORIGIN + "/", "urlref": referrer, "_id": visitor, "send_image": 0}))[
            0
        ] == 204
    await collector.flush()
    stored = {(v["channel"], v["referrer_host"], v["referrer_name"]) for v in visits(collector)}
    assert stored == {
        ("search", "google.de", "Google"),
        ("social", "facebook.com", "Facebook"),
        ("website", "blog.example.org", ""),
        ("direct", "", ""),
    }
    referrers = {p["referrer"] for p in pageviews(collector)}
    assert "https://www.google.de/search" in referrers and not any("diagnosis" in r for r in referrers)


def _clarity_payload(url: str, referrer: str | None) -> bytes:
    """The captured first upload of a page view, with its URL, a referrer Dimension and an explicit grant."""
    document = clarity_fixture("default_001").document
    document["e"][11] = url
    extra: list[list[object]] = [[5, 47, 5, 1, 1]]
    if referrer is not None:
        extra.append([6, 1, 2, [referrer]])
    document["a"] = document["a"] + extra
    return orjson.dumps(document)


async def test_referrer_and_campaign_of_clarity_page_views(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(make_site())
    headers = {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
    payload = _clarity_payload(
        ORIGIN + "/page.html?utm_source=newsletter&utm_medium=email&utm_campaign=launch", "https://mail.example.net/"
    )
    assert (await collector.post("/collect", payload, headers))[0] == 204
    await collector.flush()
    [row] = collector.rows(
        "SELECT max(channel), max(referrer_host), max(campaign_name), max(campaign_source), max(campaign_medium) "
        "FROM {db}.pageviews WHERE source = 'clarity'"
    )
    assert row == ("campaign", "mail.example.net", "launch", "newsletter", "email")


async def test_referrer_search_engine_on_a_clarity_page_view(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(make_site())
    payload = _clarity_payload(ORIGIN + "/page.html", "https://www.qwant.com/?q=x")
    assert (await collector.post("/collect", payload, {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}))[0] == 204
    await collector.flush()
    [row] = collector.rows("SELECT max(channel), max(referrer_name), max(referrer_host) FROM {db}.pageviews")
    assert row == ("search", "Qwant", "qwant.com")
