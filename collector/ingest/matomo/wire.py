"""The Matomo tracking request on the wire: single hits and bulk requests, and Matomo's replies.

Parameters come from the query string merged with a form body (the query wins, as PHP's
`$_GET + $_POST`). A body containing `"requests"` is a bulk request whatever its Content-Type
(matomo.js sends bulk JSON as form-urlencoded); items are `"?a=1&b=2"` strings or objects.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from aiohttp import web

from collector.core.errors import BadEnvelope, TooManyEvents

#: Matomo's 1×1 transparent GIF (core/Tracker/Response.php).
GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAAAAACH5BAEAAAAALAAAAAABAAEAAAICRAEAOw==")
MAX_PARAM_CHARS = 1 << 20  # one query or form body beyond this is not a tracking request
ABOUT = "This resource is a Matomo-compatible tracking endpoint of a privacy-first analytics collector."

Params = dict[str, str]


@dataclass
class TrackingRequest:
    """The hits of one HTTP request and how to answer it."""

    hits: list[Params]
    bulk: bool
    send_image: bool
    token_auth: str = ""


def parse_params(text: str) -> Params:
    """`a=1&b=2` → dict (the last value of a repeated key wins, as PHP's parse_str)."""
    if len(text) > MAX_PARAM_CHARS:
        raise BadEnvelope("parameters too long")
    return dict(parse_qsl(text.lstrip("?"), keep_blank_values=True))


def _bulk_item(item: Any) -> Params:
    if isinstance(item, str):
        return parse_params(item.partition("?")[2] if "?" in item else item)
    if isinstance(item, dict):
        return {
            str(k): v
            if isinstance(v, str)
            else orjson.dumps(v).decode()
            if isinstance(v, (dict, list))
            else ""
            if v is None
            else str(int(v) if isinstance(v, bool) else v)
            for k, v in item.items()
        }
    raise BadEnvelope("each bulk request must be a query string or an object")


def _bulk(body: bytes, form: Params, max_hits: int) -> TrackingRequest:
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        # a form-encoded bulk body: the JSON is the value (or the key) of one form field
        candidates = [v for v in form.values() if '"requests"' in v] + [k for k in form if '"requests"' in k]
        try:
            document = orjson.loads(candidates[0]) if candidates else None
        except orjson.JSONDecodeError:
            document = None
    if not isinstance(document, dict) or not isinstance(document.get("requests"), list):
        raise BadEnvelope("bulk body must be JSON with a requests list")
    items = document["requests"]
    if len(items) > max_hits:
        raise TooManyEvents(f"more than {max_hits} requests in one bulk request")
    token = document.get("token_auth")
    hits = [_bulk_item(item) for item in items]
    if isinstance(token, str) and token:
        for hit in hits:
            hit.setdefault("token_auth", token)
    send_image = document.get("send_image", 1) not in (0, "0", False, None)
    return TrackingRequest(hits=hits, bulk=True, send_image=send_image)


def parse_request(query: str, body: bytes, max_hits: int) -> TrackingRequest:
    """The hits of a request; raises BadEnvelope for a broken bulk body or form."""
    params = parse_params(query)
    form: Params = {}
    if body:
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadEnvelope("body is not UTF-8") from exc
        if '"requests"' in text:
            return _bulk(body, parse_params(text) if not text.lstrip().startswith("{") else {}, max_hits)
        form = parse_params(text)
    merged = {**form, **params}
    send_image = merged.get("send_image") != "0"
    return TrackingRequest(hits=[merged] if merged else [], bulk=False, send_image=send_image)


def hit_response(send_image: bool, status: int = 200) -> web.Response:
    """Matomo's answer to one hit: 204 when `send_image=0`, else the 1×1 GIF (never cached)."""
    if not send_image:
        return web.Response(status=204 if status == 200 else status)
    return web.Response(status=status, body=GIF, content_type="image/gif", headers={"Cache-Control": "no-store"})


def bulk_response(request: TrackingRequest, tracked: int, invalid: int) -> web.Response:
    if not request.send_image:
        return web.Response(status=204)
    return web.json_response({"status": "success", "tracked": tracked, "invalid": invalid})
