"""Turn an upload body into a validated Clarity payload, refusing anything malformed.

Bodies are gzip (sniffed by magic bytes, there is no Content-Encoding) or plain JSON text;
the decompressed size is capped so a gzip bomb costs us at most the cap.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

import orjson

from collector.core.errors import BadEnvelope, TooLarge, TooManyEvents

GZIP_MAGIC = b"\x1f\x8b"
Event = list[Any]


@dataclass(frozen=True)
class Limits:
    max_decompressed_bytes: int
    max_events: int


@dataclass(frozen=True)
class Envelope:
    version: str
    sequence: int
    start: int
    duration: int
    project_id: str
    user_id: str
    session_id: str
    page_num: int
    upload: int
    end: int
    platform: int
    url: str


@dataclass
class Payload:
    envelope: Envelope
    analytics: list[Event]
    playback: list[Event]
    wire_bytes: int


def gunzip_capped(body: bytes, cap: int) -> bytes:
    """Decompress a gzip body, refusing output over `cap` bytes and truncated streams."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, cap + 1)
    except zlib.error as exc:
        raise BadEnvelope("corrupt gzip body") from exc
    if len(out) > cap or inflater.unconsumed_tail:
        raise TooLarge(f"decompressed body over {cap} bytes")
    if not inflater.eof:
        raise BadEnvelope("truncated gzip body")
    return out


def body_text(body: bytes, limits: Limits) -> bytes:
    if body[:2] == GZIP_MAGIC:
        return gunzip_capped(body, limits.max_decompressed_bytes)
    if len(body) > limits.max_decompressed_bytes:
        raise TooLarge(f"body over {limits.max_decompressed_bytes} bytes")
    return body


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _int_field(values: list[Any], index: int, name: str, low: int, high: int) -> int:
    value = values[index]
    if not _is_int(value) or not low <= value <= high:
        raise BadEnvelope(f"envelope {name} must be an integer in [{low}, {high}]")
    return int(value)


def _str_field(values: list[Any], index: int, name: str, max_len: int, required: bool = True) -> str:
    value = values[index] if index < len(values) else ""
    if not isinstance(value, str) or len(value) > max_len or (required and not value):
        raise BadEnvelope(f"envelope {name} must be a string of at most {max_len} characters")
    return value


def parse_envelope(values: Any) -> Envelope:
    """Validate the flat envelope array (10 elements before 0.7.58, 12 since)."""
    if not isinstance(values, list) or not 10 <= len(values) <= 13:
        raise BadEnvelope("envelope 'e' must be an array of 10 to 13 elements")
    platform = values[10] if len(values) > 10 else 0
    if not _is_int(platform):
        raise BadEnvelope("envelope applicationPlatform must be an integer")
    return Envelope(
        version=_str_field(values, 0, "version", 32),
        sequence=_int_field(values, 1, "sequence", 1, 1_000_000),
        start=_int_field(values, 2, "start", 0, 2**40),
        duration=_int_field(values, 3, "duration", 0, 2**40),
        project_id=_str_field(values, 4, "projectId", 64),
        user_id=_str_field(values, 5, "userId", 32),
        session_id=_str_field(values, 6, "sessionId", 32),
        page_num=_int_field(values, 7, "pageNum", 1, 1_000_000),
        upload=_int_field(values, 8, "upload", 0, 1),
        end=_int_field(values, 9, "end", 0, 1),
        platform=int(platform),
        url=_str_field(values, 11, "url", 8192, required=False),
    )


def _events(value: Any, name: str) -> list[Event]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadEnvelope(f"'{name}' must be an array of events")
    for event in value:
        # exact types: orjson makes exact lists and ints (bool is not int here), and this runs per event
        if (
            type(event) is not list
            or len(event) < 2
            or type(event[0]) is not int
            or type(event[1]) is not int
            or event[0] < 0
            or not 0 <= event[1] < 1000
        ):
            raise BadEnvelope(f"every event in '{name}' must be [time, type, ...] with integer time and type")
    return value


def parse_payload(body: bytes, limits: Limits) -> Payload:
    """Body bytes (gzip or text) to a validated payload; raises a PayloadError subtype."""
    if not body:
        raise BadEnvelope("empty body")
    text = body_text(body, limits)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        raise BadEnvelope("body is not JSON") from exc
    if not isinstance(document, dict) or "e" not in document:
        raise BadEnvelope("body must be a JSON object with an envelope 'e'")
    envelope = parse_envelope(document["e"])
    analytics = _events(document.get("a"), "a")
    playback = _events(document.get("p"), "p")
    if len(analytics) + len(playback) > limits.max_events:
        raise TooManyEvents(f"more than {limits.max_events} events in one upload")
    return Payload(envelope, analytics, playback, wire_bytes=len(body))
