"""POST /collect with the real clarity-js payloads: decoding, replies, CORS, stored rows."""

from __future__ import annotations

import gzip
import json
from typing import Any

import orjson
import pytest

from collector.ingest.clarity.wire import Limits, parse_payload
from tests.support.collector import (
    CLARITY_FIXTURES,
    DESKTOP_UA,
    ORIGIN,
    RunningCollector,
    clarity_fixture,
    clarity_fixture_names,
    replay_headers,
)
from tests.support.dom import read_nodes

REFERENCE = {
    json.loads(line)["file"]: json.loads(line)["decoded"]
    for line in (CLARITY_FIXTURES / "decoded_reference.jsonl").read_text().splitlines()
}
LIMITS = Limits(max_decompressed_bytes=32 << 20, max_events=20000)


def _node_as_reference(node: Any) -> dict[str, Any]:
    """Our node in clarity-decode's shape (its `process()`), to compare field by field."""
    out: dict[str, Any] = {
        "id": node.id,
        "parent": node.numbers[1] if len(node.numbers) > 1 else None,
        "previous": node.numbers[2] if len(node.numbers) > 2 else None,
        "tag": node.base_tag,
    }
    attributes: dict[str, str] = {}
    value = None
    for index, token in enumerate(node.strings):
        if index == len(node.strings) - 1 and node.base_tag == "STYLE":
            value = token
        elif node.base_tag != "*T" and token.startswith("#") and "=" not in token:
            continue
        elif node.base_tag != "*T" and token.find("=") > 0:
            key, _, attribute = token.partition("=")
            attributes[key] = attribute
        elif node.base_tag == "*T":
            value = token
    if attributes:
        out["attributes"] = attributes
    if value and node.numbers[0] > 0:
        out["value"] = value
    return out


@pytest.mark.parametrize("name", clarity_fixture_names())
def test_collect_decoding_matches_clarity_decode_reference(name: str) -> None:
    """Every captured payload (gzip or text) decodes to clarity-decode's envelope, clicks and DOM."""
    payload = parse_payload((CLARITY_FIXTURES / f"{name}.bin").read_bytes(), LIMITS)
    reference = REFERENCE[f"{name}.json"]
    envelope = reference["envelope"]
    assert payload.envelope.sequence == envelope["sequence"]
    assert payload.envelope.project_id == envelope["projectId"]
    assert payload.envelope.user_id == envelope["userId"]
    assert payload.envelope.session_id == envelope["sessionId"]
    assert payload.envelope.page_num == envelope["pageNum"]
    assert payload.envelope.end == envelope["end"]
    assert payload.envelope.url == envelope["url"]
    events = payload.analytics + payload.playback
    clicks = [e for e in events if e[1] == 9]
    assert [(c[3], c[4]) for c in clicks] == [(c["data"]["x"], c["data"]["y"]) for c in reference.get("click", [])]
    consent = [e for e in events if e[1] == 47]
    assert len(consent) == len(reference.get("consent", []))
    dom_events = sorted((e for e in events if e[1] in (5, 6, 43)), key=lambda e: e[0])
    assert len(dom_events) == len(reference.get("dom", []))
    for event, expected in zip(dom_events, reference.get("dom", []), strict=True):
        ours = [_node_as_reference(n) for n in read_nodes(event)]
        theirs = [
            {k: v for k, v in node.items() if not (k == "value" and node["id"] and _masked(event, node))}
            for node in expected["data"]
        ]
        assert ours == theirs


def _masked(event: list[Any], node: dict[str, Any]) -> bool:
    """clarity-decode expands mangled (negative id) text into bullets; we keep the wire form."""
    return -node["id"] in event


async def test_collect_replies_204_empty_with_cors_for_allowed_origin(loader_collector: RunningCollector) -> None:
    payload = clarity_fixture("default_001")
    status, body, headers = await loader_collector.post("/collect", payload.body, replay_headers(payload))
    assert status == 204 and body == b""
    assert headers["Access-Control-Allow-Origin"] == ORIGIN
    assert headers["Access-Control-Allow-Credentials"] == "true"
    assert "Vary" in headers and "Origin" in headers["Vary"]


async def test_collect_preflight_allows_listed_origin_only(collector: RunningCollector) -> None:
    async with collector.http.options(
        collector.url + "/collect", headers={"Origin": ORIGIN, "Access-Control-Request-Method": "POST"}
    ) as response:
        assert response.status == 204
        assert response.headers["Access-Control-Allow-Origin"] == ORIGIN
        assert response.headers["Access-Control-Allow-Credentials"] == "true"
        assert "POST" in response.headers["Access-Control-Allow-Methods"]
    async with collector.http.options(
        collector.url + "/collect", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"}
    ) as response:
        assert response.status == 403
        assert "Access-Control-Allow-Origin" not in response.headers


async def test_collect_replays_every_consented_fixture_into_rows(loader_collector: RunningCollector) -> None:
    """A loader-mode site: every payload of a page view with consent at start lands as rows."""
    page_views: dict[tuple[str, str, int], list[dict[str, Any]]] = {}
    for name in (
        clarity_fixture_names("default_") + clarity_fixture_names("mutation_") + clarity_fixture_names("strict_")
    ):
        payload = clarity_fixture(name)
        assert await loader_collector.send(payload) == 204
        envelope = payload.document["e"]
        page_views.setdefault((envelope[5], envelope[6], envelope[7]), []).append(payload.document)
    await loader_collector.flush()
    expected_events = sum(len(d.get("a", [])) for docs in page_views.values() for d in docs)
    assert loader_collector.count("events") == expected_events
    assert loader_collector.count("playback") == sum(len(docs) for docs in page_views.values())
    rows = loader_collector.rows(
        "SELECT pageview_id, max(ended), sum(payloads), max(url), sum(clicks) FROM {db}.pageviews GROUP BY pageview_id"
    )
    assert len(rows) == len(page_views)
    assert all(row[1] == 1 and row[3].startswith("http://127.0.0.1:8765/page.html") for row in rows)
    fixture_clicks = [(e[3], e[4]) for docs in page_views.values() for d in docs for e in d.get("a", []) if e[1] == 9]
    stored_clicks = loader_collector.rows("SELECT x, y, target_hash FROM {db}.events WHERE type = 9 ORDER BY ts")
    assert sorted((x, y) for x, y, _ in stored_clicks) == sorted(fixture_clicks)
    assert all(h for _, _, h in stored_clicks), "heatmaps need the target selector hash"


async def test_collect_playback_rows_replay_in_order_and_decode(loader_collector: RunningCollector) -> None:
    for name in clarity_fixture_names("mutation_"):
        await loader_collector.send(clarity_fixture(name))
    await loader_collector.flush()
    rows = loader_collector.rows(
        "SELECT sequence, payload FROM {db}.playback ORDER BY session_hash, page_num, sequence"
    )
    assert [r[0] for r in rows] == [1, 2, 3, 4]
    stored = [orjson.loads(r[1]) for r in rows]
    originals = [clarity_fixture(n).document for n in clarity_fixture_names("mutation_")]
    for ours, original in zip(stored, originals, strict=True):
        assert len(ours["p"]) == len(original.get("p", []))
        assert ours["e"][5] != original["e"][5], "the client user id is replaced by its keyed hash"
        for event, original_event in zip(ours["p"], original.get("p", []), strict=True):
            assert [n.id for n in read_nodes(event)] == [n.id for n in read_nodes(original_event)]


async def test_collect_keeps_unknown_event_types_as_typed_raw_rows(loader_collector: RunningCollector) -> None:
    document = clarity_fixture("default_001").document
    document["a"].append([500, 777, "future-field", 42, [1, 2]])
    await loader_collector.post("/collect", orjson.dumps(document), {"Origin": ORIGIN, "User-Agent": DESKTOP_UA})
    await loader_collector.flush()
    rows = loader_collector.rows("SELECT name, data FROM {db}.events WHERE type = 777")
    assert rows == [("type_777", '["future-field",42,[1,2]]')]


async def test_collect_accepts_plain_text_and_gzip_of_the_same_payload(loader_collector: RunningCollector) -> None:
    document = clarity_fixture("default_001").document
    text = orjson.dumps(document)
    headers = {"Origin": ORIGIN, "User-Agent": DESKTOP_UA}
    assert (await loader_collector.post("/collect", gzip.compress(text), headers))[0] == 204
    document["e"][5] = "otheruser"
    headers = {**headers, "Content-Type": "text/plain;charset=UTF-8"}
    assert (await loader_collector.post("/collect", orjson.dumps(document), headers))[0] == 204
    await loader_collector.flush()
    assert loader_collector.count("playback") == 2
