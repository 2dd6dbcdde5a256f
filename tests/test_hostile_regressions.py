"""Hostile inputs the fuzzer found answering 500 (tests/test_fuzz.py), pinned as plain cases."""

from __future__ import annotations

import orjson

from tests.support.collector import DESKTOP_UA, ORIGIN, CollectorFactory, clarity_fixture, make_site
from tests.support.dashboard import SITE, dashboard_site, with_token

HEADERS = {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}


async def test_hostile_float_node_number_beyond_64_bits_is_stored_not_a_500(
    collector_factory: CollectorFactory,
) -> None:
    """orjson reads 2**64 as a float; the DOM reader turned it back into an int too large to write."""
    collector = await collector_factory(make_site(consent="loader"))
    document = clarity_fixture("default_001").document
    document["p"] = [[0, 5, 60, 6, "DIV", "class=x", 61, 60, "*T", "hello", 1.8446744073709552e19, 62, 60, "B"]]
    body = orjson.dumps(document)
    status, _, _ = await collector.post("/collect", body, HEADERS)
    assert status == 204
    await collector.flush()
    assert collector.count("playback") == 1


async def test_hostile_broken_content_encoding_is_a_400(collector_factory: CollectorFactory) -> None:
    """A Content-Encoding whose bytes do not decode made aiohttp's body reader raise (a 500)."""
    collector = await collector_factory(make_site(consent="loader"))
    for content_type in ("text/plain", "multipart/form-data; boundary=x"):
        status, text, _ = await collector.post(
            "/collect", b"not gzip at all", {**HEADERS, "Content-Encoding": "gzip", "Content-Type": content_type}
        )
        assert status == 400 and b"could not be read" in text, (content_type, status, text)
    assert await collector.send(clarity_fixture("default_002")) == 204, "the service keeps working"


async def test_hostile_superscript_digits_are_refused_not_a_500(collector_factory: CollectorFactory) -> None:
    """ "²".isdigit() is true but int("²") fails (the Reporting API answered 500): numbers in requests are
    read with isdecimal()."""
    collector = await collector_factory(dashboard_site())
    client = await with_token(collector)
    try:
        status, body, _ = await client.get(
            "/index.php",
            module="API",
            method="VisitsSummary.get",
            idSite="²",
            period="day",
            date="today",
            format="JSON",
        )
        assert status < 500 and b"error" in body, (status, body[:200])
        for panel, params in (
            ("top_pages", {"limit": "²"}),
            ("recordings", {"min_duration": "²"}),
            ("visitor_log", {"offset": "²"}),
        ):
            status, body, _ = await client.get(f"/dashboard/api/v1/{panel}", site=SITE, **params)
            assert status == 400, (panel, status, body[:200])
    finally:
        await client.close()
