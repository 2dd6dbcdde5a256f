"""No client-supplied string is stored unmasked: an e-mail, a card number and a phone number planted
in every field a client can fill (names and keys as much as values) appear nowhere, neither in any
String/Array/Map/JSON column of any table (found through system.columns) nor in the spool on disk.

Matomo is driven with raw tracking requests for every field, then with Matomo's own matomo.js in
Chromium; Clarity with the real clarity-js in Chromium. The spool is read while the acknowledged
rows are still on disk (a long batch interval keeps the segment open), then the rows are inserted
and the database scanned. A harmless marker word planted beside the personal data must be found by
the same scans: it shows they read what was stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

import orjson
import pytest

from collector.core.keys import SETTINGS
from tests.support.browser import UploadLog, all_stored_text, wait_until
from tests.support.collector import FIXTURES, CollectorFactory, RunningCollector, make_site
from tests.support.matomo import hit, matomo_site

EMAIL = "privacy.probe@example.org"
CARD = "4111 1111 1111 1111"  # Luhn-valid test card
PHONE = "+44 20 7946 0958"
PLANTED = f"{EMAIL} {CARD} {PHONE}"
MARKER = "Zanzibarquux"  # stored verbatim in every mode: the scans must find it
MATOMO_JS = FIXTURES / "matomo_js" / "matomo.js"
#: Long enough that the spool segment is neither sealed nor drained before the test reads it.
KEEP_SPOOL = {"batch_interval_ms": 600_000}


def planted_forms() -> tuple[str, ...]:
    """The three values as they could be stored: raw, without separators, URL-encoded (once and
    twice, `%20` and `+` for spaces), and the distinctive pieces of each."""
    forms = {EMAIL, "privacy.probe", "probe@example", "probe%40example", "probe%2540example"}
    for value in (CARD, PHONE):
        forms |= {value, value.replace(" ", ""), quote(value), quote_plus(value), quote(quote(value))}
    forms |= {"4111 1111", "1111 1111", "41111111", "4111%201111", "4111+1111", "1111%201111", "1111+1111"}
    forms |= {"7946 0958", "79460958", "7946%200958", "7946+0958", "%2B44", "+44 20", "+44+20", "20 7946"}
    return tuple(sorted(forms))


def spool_text(collector: RunningCollector) -> str:
    """Every file under the collector's data folder (the spool segments), as text."""
    folder: Path = collector.app[SETTINGS].data_dir
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert any(p.name.startswith("segment-") for p in files), f"no spool segment in {folder}"
    return "\n".join(p.read_bytes().decode("utf-8", "replace") for p in files)


def assert_nothing_planted(text: str, where: str) -> None:
    assert MARKER in text, f"the scan of {where} did not see the marker: it did not read the stored data"
    leaked = [form for form in planted_forms() if form in text]
    assert not leaked, f"planted personal data in {where}: {leaked}"


async def assert_spool_then_database_clean(collector: RunningCollector) -> None:
    """Scan the spool while the rows are on disk, then insert them and scan every table."""
    assert_nothing_planted(spool_text(collector), "the spool")
    await collector.flush()
    assert_nothing_planted(all_stored_text(collector), "the database")


def matomo_hits() -> list[dict[str, Any]]:
    """One tracking request per kind of action, every client string in it holding the planted values."""
    text, enc = f"{MARKER} {PLANTED}", quote(PLANTED)
    url = f"https://shop.test/p/{enc}/{quote(EMAIL)}?q={enc}&{quote(EMAIL)}={enc}&utm_source={enc}#{enc}"
    link = f"https://ext.test/{enc}?who={quote(EMAIL)}&c={quote(CARD)}"
    cvar = orjson.dumps({"1": [text, text], "2": [EMAIL, CARD], "3": [PHONE, "v"]}).decode()
    base = {
        "_id": "0718293041526374",
        "consent": 1,
        "send_image": 0,
        "url": url,
        "urlref": link,
        "action_name": text,
        "uid": EMAIL,
        "_rcn": text,
        "_rck": text,
        "dimension1": text,
        "dimension2": CARD,
        "_cvar": cvar,
        "cvar": cvar,
        "res": "1280x800",
        "pf_net": 5,
        "pf_srv": 7,
        "pf_onl": 9,
        "pv_id": "abc123",
    }
    item = [text, text, [text, EMAIL], 9.5, 1]
    return [
        base,
        {**base, "e_c": text, "e_a": text, "e_n": text, "e_v": 2, "e_cvar": cvar},
        {**base, "search": text, "search_cat": text, "search_count": 3},
        {**base, "c_n": text, "c_p": text, "c_t": link},
        {**base, "c_n": text, "c_p": text, "c_t": link, "c_i": text},
        {**base, "idgoal": 0, "ec_id": text, "revenue": 19, "ec_items": orjson.dumps([item, item]).decode()},
        {**base, "idgoal": 0, "revenue": 9.5, "ec_items": orjson.dumps([item]).decode()},
        {**base, "link": link},
        {**base, "download": link + "/file.pdf"},
        {**base, "idgoal": 1, "revenue": 3},
        {**base, "ping": 1},
    ]


@pytest.mark.parametrize("mode", ["strict", "balanced", "relaxed"])
async def test_privacy_scan_matomo_every_field_of_every_hit_kind(
    collector_factory: CollectorFactory, mode: str
) -> None:
    collector = await collector_factory(matomo_site(matomo_consent="consent_param", masking=mode), **KEEP_SPOOL)
    for params in matomo_hits():
        assert (await hit(collector, params))[0] == 204, params
    await assert_spool_then_database_clean(collector)
    kinds = {r[0] for r in collector.rows("SELECT DISTINCT type FROM {db}.events WHERE source = 'matomo'")}
    assert kinds >= {1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010}, "every kind was stored"
    [(dimensions,)] = collector.rows("SELECT dimensions FROM {db}.visits FINAL")
    assert len([k for k in dimensions if k.startswith("cvar.visit.")]) == 3, "the variables were kept, masked"


async def test_privacy_scan_issue_reproduction_custom_variable_name(collector_factory: CollectorFactory) -> None:
    """The issue's request: an e-mail as a visit custom variable's name."""
    collector = await collector_factory(matomo_site(matomo_consent="consent_param"), **KEEP_SPOOL)
    params = {
        "send_image": 0,
        "consent": 1,
        "_id": "0718293041526374",
        "url": "https://shop.test/x",
        "_cvar": orjson.dumps({"2": ["someone@example.org", "v"], "3": [MARKER, "v"]}).decode(),
    }
    assert (await hit(collector, params))[0] == 204
    spool = spool_text(collector)
    assert MARKER in spool and "someone@example.org" not in spool
    await collector.flush()
    [(dimensions,)] = collector.rows("SELECT dimensions FROM {db}.visits FINAL")
    assert f"cvar.visit.{MARKER}" in dimensions and not [k for k in dimensions if "someone" in k]


def matomo_page(tracker: str) -> str:
    """A page with Matomo's snippet (tracker URL changed) and the calls a real site makes."""
    text = f"{MARKER} {PLANTED}"
    calls = f"""
  _paq.push(['requireConsent']); _paq.push(['setConsentGiven']);
  _paq.push(['setDocumentTitle', {text!r}]);
  _paq.push(['setCustomVariable', 1, {text!r}, {text!r}, 'visit']);
  _paq.push(['setCustomVariable', 2, {EMAIL!r}, {CARD!r}, 'page']);
  _paq.push(['setCustomDimension', 1, {text!r}]);
  _paq.push(['setUserId', {EMAIL!r}]);
  _paq.push(['trackPageView']);
  _paq.push(['trackEvent', {text!r}, {text!r}, {text!r}, 4]);
  _paq.push(['trackSiteSearch', {text!r}, {text!r}, 7]);
  _paq.push(['trackContentImpression', {text!r}, {text!r}, 'https://ext.test/{quote(PLANTED)}']);
  _paq.push(['trackContentInteraction', {text!r}, {text!r}, {text!r}, 'https://ext.test/{quote(EMAIL)}']);
  _paq.push(['addEcommerceItem', {text!r}, {text!r}, [{text!r}, {EMAIL!r}], 9.5, 2]);
  _paq.push(['trackEcommerceOrder', {text!r}, 19, 19]);
  _paq.push(['trackLink', 'https://ext.test/{quote(PLANTED)}?m={quote(EMAIL)}', 'link']);
  _paq.push(['trackLink', 'https://shop.test/{quote(CARD)}.pdf', 'download']);
  _paq.push([function () {{ window.trackerDone = true; }}]);"""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{text}</title><script>
  var _paq = window._paq = window._paq || [];{calls}
  (function() {{
    var u="//{tracker}/";
    _paq.push(['setTrackerUrl', u+'matomo.php']);
    _paq.push(['setSiteId', '1']);
    var d=document, g=d.createElement('script'), s=d.getElementsByTagName('script')[0];
    g.async=true; g.src=u+'matomo.js'; s.parentNode.insertBefore(g,s);
  }})();
</script></head><body><p>shop</p></body></html>"""


@pytest.mark.browser
async def test_privacy_scan_matomo_js_calls_of_a_real_site(
    collector_factory: CollectorFactory,
    new_page: Any,
    page_server: Any,  # noqa: F811
) -> None:
    """Matomo's own matomo.js (vendored, unchanged) stands in for the collector's /matomo.js."""
    urls: dict[str, str] = {}
    site_url = await page_server(lambda: matomo_page(urls["tracker"]))
    collector = await collector_factory(matomo_site(origins=[site_url.rstrip("/")]), **KEEP_SPOOL)
    urls["tracker"] = collector.url.removeprefix("http://")
    page = await new_page()
    await page.context.route(
        f"{collector.url}/matomo.js",
        lambda route: route.fulfill(path=str(MATOMO_JS), content_type="application/javascript"),
    )
    sent: list[str] = []
    answered: list[int] = []
    page.on("request", lambda r: sent.append(r.url + " " + (r.post_data or "")) if "matomo.php" in r.url else None)
    page.on("requestfinished", lambda r: answered.append(1) if "matomo.php" in r.url else None)
    await page.goto(site_url)
    await page.wait_for_function("window.trackerDone === true && window.Matomo && Matomo.getAsyncTracker")
    # page view, event, search, bulk content impression+interaction, order, outlink, download
    assert await wait_until(lambda: len(sent) >= 7 and len(answered) >= len(sent), seconds=30), len(sent)
    assert any(quote_plus(EMAIL) in s or quote(EMAIL, safe="") in s for s in sent), "matomo.js sent the raw values"
    await assert_spool_then_database_clean(collector)
    kinds = {r[0] for r in collector.rows("SELECT DISTINCT type FROM {db}.events")}
    assert kinds >= {1001, 1002, 1003, 1004, 1006, 1008}, kinds


def clarity_page(collector_url: str) -> str:
    text = f"{MARKER} {PLANTED}"
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>{text}</title>
<script src="{collector_url}/clarity.js"></script>
<script>clarity("start", {{projectId: "proj123", upload: "{collector_url}/collect"}});
clarity("consentv2", {{ad_Storage: "denied", analytics_Storage: "granted"}});
clarity("set", {text!r}, {text!r});
clarity("set", {EMAIL!r}, [{CARD!r}, {PHONE!r}]);
clarity("event", {text!r});
clarity("identify", {EMAIL!r}, {PHONE!r}, {CARD!r}, {text!r});</script></head>
<body><h1>{MARKER} shop</h1><p data-note="{text}" title="{text}">{text}</p>
<a id="go" href="/next?who={quote(EMAIL)}" aria-label="{text}">{text}</a></body></html>"""


@pytest.mark.browser
@pytest.mark.parametrize("mode", ["balanced", "relaxed"])
async def test_privacy_scan_clarity_js_set_event_identify_and_title(
    collector_factory: CollectorFactory,
    new_page: Any,
    page_server: Any,
    mode: str,  # noqa: F811
) -> None:
    urls: dict[str, str] = {}
    site_url = await page_server(lambda: clarity_page(urls["collector"]))
    collector = await collector_factory(make_site(origins=[site_url.rstrip("/")], masking=mode), **KEEP_SPOOL)
    urls["collector"] = collector.url
    page = await new_page()
    log = UploadLog().attach(page.context)
    await page.goto(site_url)
    await page.evaluate(f"document.title = {PLANTED + ' again'!r}; clarity('event', {EMAIL!r})")

    def custom_events_answered() -> int:
        """Custom events (24) the collector acknowledged; the last one, named by the e-mail, comes last."""
        return sum(1 for u in log.uploads if u.status == 204 for e in u.document.get("a", []) if e[1] == 24)

    assert await wait_until(lambda: custom_events_answered() >= 2, seconds=30), "both custom events acknowledged"
    assert any(EMAIL in orjson.dumps(u.document).decode() for u in log.uploads), "clarity-js sent the raw values"
    assert await wait_until(lambda: collector.count("events") == 0 and MARKER in spool_text(collector))
    await assert_spool_then_database_clean(collector)
    assert collector.count("events", "type = 24") >= 2 and collector.count("playback") >= 1
    assert collector.rows("SELECT max(user_hash) != '' FROM {db}.pageviews") == [(1,)]
