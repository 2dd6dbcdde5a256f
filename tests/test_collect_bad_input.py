"""Hostile and broken uploads get a short 4xx, never a 5xx, and the service keeps working."""

from __future__ import annotations

import gzip
from typing import Any

import orjson
import pytest

from tests.support.collector import DESKTOP_UA, ORIGIN, CollectorFactory, RunningCollector, clarity_fixture

HEADERS = {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}


def _document() -> dict[str, Any]:
    return clarity_fixture("default_001").document


def _with_envelope(index: int, value: Any) -> bytes:
    document = _document()
    document["e"][index] = value
    return orjson.dumps(document)


BAD_BODIES = {
    "not_json": (b"this is not json", 400),
    "empty": (b"", 400),
    "json_array": (b"[1,2,3]", 400),
    "no_envelope": (b'{"a": []}', 400),
    "truncated_gzip": (clarity_fixture("default_001").body[:200], 400),
    "corrupt_gzip": (b"\x1f\x8b" + b"\x00" * 50, 400),
    "envelope_too_short": (orjson.dumps({"e": ["0.8.70", 1], "a": []}), 400),
    "sequence_is_string": (_with_envelope(1, "1"), 400),
    "page_num_is_bool": (_with_envelope(7, True), 400),
    "project_id_is_number": (_with_envelope(4, 123), 400),
    "user_id_too_long": (_with_envelope(5, "x" * 500), 400),
    "events_not_array": (orjson.dumps({**_document(), "a": {"x": 1}}), 400),
    "event_time_is_string": (orjson.dumps({**_document(), "a": [["0", 9]]}), 400),
    "event_type_negative": (orjson.dumps({**_document(), "a": [[1, -9]]}), 400),
    "event_too_short": (orjson.dumps({**_document(), "a": [[1]]}), 400),
    "unknown_site": (_with_envelope(4, "nosuchsite"), 403),
    "deeply_nested": (b'{"e":' + b"[" * 5000 + b"]" * 5000 + b"}", 400),
}


@pytest.mark.parametrize("case", sorted(BAD_BODIES))
async def test_collect_limit_bad_input_gets_4xx_with_reason(collector: RunningCollector, case: str) -> None:
    body, expected = BAD_BODIES[case]
    status, text, _ = await collector.post("/collect", body, HEADERS)
    assert status == expected, (case, text)
    assert 0 < len(text) <= 200 and b"Traceback" not in text
    assert await collector.send(clarity_fixture("default_002")) == 204, "the service keeps working"


async def test_collect_limit_gzip_bomb_is_refused_at_the_cap(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(max_decompressed_bytes=1 << 20)
    bomb = gzip.compress(b'{"e":["' + b"A" * (200 << 20) + b'"]}', compresslevel=9)
    assert len(bomb) < 1 << 20
    status, text, _ = await collector.post("/collect", bomb, HEADERS)
    assert status == 413 and b"decompressed" in text


async def test_collect_limit_body_over_limit_is_413(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(max_body_bytes=10_000)
    status, _, _ = await collector.post("/collect", b"x" * 20_000, HEADERS)
    assert status == 413
    assert await collector.send(clarity_fixture("default_001")) == 204


async def test_collect_limit_too_many_events_is_413(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(max_events=100)
    document = _document()
    document["a"] = [[i, 25, 1] for i in range(101)]
    status, text, _ = await collector.post("/collect", orjson.dumps(document), HEADERS)
    assert status == 413 and b"events" in text


async def test_collect_limit_origin_not_listed_is_403_without_cors(collector: RunningCollector) -> None:
    status, _, headers = await collector.post(
        "/collect",
        clarity_fixture("default_001").body,
        {"Origin": "https://attacker.example", "User-Agent": DESKTOP_UA},
    )
    assert status == 403
    assert "Access-Control-Allow-Origin" not in headers


async def test_collect_limit_refusals_are_counted_by_reason(collector: RunningCollector) -> None:
    await collector.post("/collect", b"nope", HEADERS)
    await collector.post("/collect", _with_envelope(4, "nosuchsite"), HEADERS)
    async with collector.http.get(collector.url + "/metrics") as response:
        text = await response.text()
    assert 'collector_dropped_total{reason="bad_payload",unit="payload"} 1.0' in text
    assert 'collector_dropped_total{reason="forbidden",unit="payload"} 1.0' in text
