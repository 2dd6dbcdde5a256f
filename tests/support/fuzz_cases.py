"""Hypothesis strategies for hostile requests to the tracking endpoints, shared by tests/test_fuzz*.py
and bench/fuzz_collect.py, plus a small keep-alive HTTP client that sends them.

A `Case` is one request (method, path, headers, body) and the personal data planted in it
(`secrets`): e-mail addresses and Luhn-valid card numbers in text, input values, attributes,
custom events and URLs, which masking must remove before anything is stored.
"""

from __future__ import annotations

import gzip
import http.client
import json
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

from tests.support.collector import DESKTOP_UA, ORIGIN, clarity_fixture

MATOMO_ORIGIN = "http://127.0.0.1:18081"


@dataclass
class Case:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""
    secrets: list[str] = field(default_factory=list)


# ---- building blocks ------------------------------------------------------------------------------

LOWER = "abcdefghijklmnopqrstuvwxyz"
#: built from plain draws rather than st.from_regex, which is several times slower to generate
emails = st.builds(
    lambda first, rest, domain, tld: f"{first}{rest}@{domain}.{tld}",
    st.sampled_from(LOWER),
    st.text(LOWER + "0123456789._", min_size=2, max_size=15),
    st.text(LOWER, min_size=2, max_size=10),
    st.sampled_from(["com", "org", "fr", "de", "example"]),
)
ids = st.text(LOWER + "0123456789", min_size=1, max_size=12)
hex_ids = st.text("0123456789abcdef", min_size=16, max_size=16)


@st.composite
def cards(draw: st.DrawFn) -> str:
    """A Luhn-valid card number (Visa or Mastercard shape), compact, spaced or dashed."""
    prefix = draw(st.sampled_from(["4", "51", "52", "53", "54", "55"]))
    body = prefix + "".join(
        str(d) for d in draw(st.lists(st.integers(0, 9), min_size=15 - len(prefix), max_size=15 - len(prefix)))
    )
    total = 0
    for index, char in enumerate(reversed(body)):
        digit = int(char)
        if index % 2 == 0:
            digit = digit * 2 - 9 if digit * 2 > 9 else digit * 2
        total += digit
    number = body + str((10 - total % 10) % 10)
    separator = draw(st.sampled_from(["", " ", "-"]))
    return separator.join(number[i : i + 4] for i in range(0, 16, 4))


#: text around a secret: anything but digits, '@' and '%' (which would merge with the secret itself)
words = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Nd"), blacklist_characters="@%"), max_size=30)
secrets = st.one_of(emails, cards())

junk_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=50),
    st.sampled_from(["", "\x00", "\u202e", "\ud7ff", "😀" * 20, "<script>alert(1)</script>", "A" * 5000]),
)
junk_values = st.recursive(
    junk_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=6), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=25,
)


def to_json(document: Any) -> bytes:
    """JSON as a hostile client would write it: NaN, Infinity and 2**70 pass through unquoted."""
    return json.dumps(document, allow_nan=True, ensure_ascii=False).encode("utf-8", "surrogatepass")


@st.composite
def planted(draw: st.DrawFn, found: list[str]) -> str:
    """A piece of text with a secret inside it, noted in `found`."""
    secret = draw(secrets)
    found.append(secret)
    return f"{draw(words)} {secret}{draw(st.sampled_from(['', ' ', '.', ',', ')', '!']))} {draw(words)}"


# ---- clarity-js uploads (POST /collect, and the beacon's text/plain sendBeacon) ---------------------

BASE = clarity_fixture("default_001").document


@st.composite
def envelopes(draw: st.DrawFn, found: list[str]) -> list[Any]:
    envelope = list(BASE["e"])
    envelope[5] = draw(ids)
    envelope[6] = draw(ids)
    envelope[1] = draw(st.integers(1, 50))
    email = draw(emails)
    found.append(email)
    envelope[11] = f"{ORIGIN}/page.html?q={quote(draw(planted(found)))}&email={quote(email)}"
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 2]))):  # the occasional wrong type or hostile value
        envelope[draw(st.integers(0, len(envelope) - 1))] = draw(junk_values)
    return envelope


@st.composite
def clarity_event(draw: st.DrawFn, found: list[str]) -> list[Any]:
    """One analytics event of a shape clarity-js sends, carrying planted text, or a junk event."""
    node = draw(st.integers(1, 60))
    when = draw(st.integers(0, 10**6))
    shape = draw(st.integers(0, 6))
    if shape == 0:  # input
        return [when, 27, node, draw(planted(found)), 1]
    if shape == 1:  # click
        email = draw(emails)
        found.append(email)
        return [
            when,
            9,
            node,
            10,
            20,
            1,
            1,
            0,
            0,
            0,
            draw(planted(found)),
            f"https://x.example/?email={email}",
            "a.b",
            1,
            1,
            10,
            10,
            "div",
            "",
            "",
            0,
        ]
    if shape == 2:  # custom event
        return [when, 24, draw(words), draw(planted(found))]
    if shape == 3:  # variables
        return [when, 34, "hint", [draw(planted(found))], "userId", ["a" * 64]]
    if shape == 4:  # script error
        return [when, 31, draw(planted(found)), 1, 1, "stack", "https://x.example/app.js"]
    if shape == 5:  # change
        return [when, 42, node, "text", draw(planted(found)), "3riq8z"]
    return [when, draw(st.integers(0, 999)), *draw(st.lists(junk_values, max_size=6))]


@st.composite
def clarity_events(draw: st.DrawFn, found: list[str]) -> list[Any]:
    events = draw(st.lists(clarity_event(found), min_size=1, max_size=6))
    if draw(st.integers(0, 9)):  # mostly with a consent grant first (else everything is dropped unread)
        events.insert(0, [0, 47, draw(st.sampled_from([0, 5])), 1, 1])
    return events


@st.composite
def dom_events(draw: st.DrawFn, found: list[str]) -> list[Any]:
    text = draw(planted(found))
    value = draw(planted(found))
    dom = [
        draw(st.integers(0, 500)),
        5,
        60,
        6,
        "DIV",
        f"title={draw(planted(found))}",
        "class=profile",
        61,
        60,
        "*T",
        text,
        62,
        60,
        61,
        "INPUT",
        "type=text",
        f"value={value}",
        *draw(st.lists(junk_values, max_size=4)),
    ]
    return [dom]


@st.composite
def clarity_documents(draw: st.DrawFn) -> tuple[Any, list[str]]:
    found: list[str] = []
    document: dict[str, Any] = {"e": draw(envelopes(found)), "a": draw(clarity_events(found))}
    if draw(st.booleans()):
        document["p"] = draw(dom_events(found))
    if draw(st.integers(0, 9)) == 0:  # a wrong shape at the top
        document[draw(st.sampled_from(["e", "a", "p"]))] = draw(junk_values)
    return document, found


def _encoded(draw: st.DrawFn, raw: bytes) -> bytes:
    how = draw(st.sampled_from(["json", "json", "gzip", "gzip", "truncated_gzip", "bad_crc_gzip"]))
    if how == "json":
        return raw
    packed = gzip.compress(raw, compresslevel=1)
    if how == "truncated_gzip":
        return packed[: draw(st.integers(2, max(2, len(packed) - 1)))]
    if how == "bad_crc_gzip":
        return packed[:-8] + b"\x00" * 8
    return packed


@st.composite
def clarity_uploads(draw: st.DrawFn) -> Case:
    """POST /collect as clarity-js sends it (XHR, gzip or JSON), shapes and values hostile."""
    document, found = draw(clarity_documents())
    headers = {"Origin": ORIGIN, "User-Agent": DESKTOP_UA, "Content-Type": "application/json"}
    return Case("POST", "/collect", headers, _encoded(draw, to_json(document)), found)


@st.composite
def beacon_uploads(draw: st.DrawFn) -> Case:
    """POST /collect as our beacon's sendBeacon sends it: text/plain JSON, maybe from a foreign origin."""
    document, found = draw(clarity_documents())
    origin = draw(st.sampled_from([ORIGIN, ORIGIN, "https://evil.example", "null", ""]))
    headers = {
        "Content-Type": "text/plain;charset=UTF-8",
        "User-Agent": DESKTOP_UA,
        "Sec-Fetch-Mode": "no-cors",
        "Sec-GPC": draw(st.sampled_from(["", "1"])),
    }
    if origin:
        headers["Origin"] = origin
    return Case("POST", "/collect", headers, to_json(document), found)


GZIP_BOMB = gzip.compress(b'{"e":["' + b"A" * (64 << 20) + b'"]}', compresslevel=9)
DEFLATE_BOMB = zlib.compress(b"[" * (8 << 20), 9)


@st.composite
def raw_collect_bodies(draw: st.DrawFn) -> Case:
    """Bodies no client would send: random bytes, bombs, deep nesting, a lying Content-Encoding."""
    body = draw(
        st.one_of(
            st.binary(max_size=2000),
            st.sampled_from(
                [
                    GZIP_BOMB,
                    DEFLATE_BOMB,
                    b"\x1f\x8b",
                    b"\x1f\x8b" + b"\xff" * 100,
                    b'{"e":' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                    b"[" * 300_000,
                    b'{"e": [' + b"1e999," * 12 + b"1]}",
                    b'{"e": NaN, "a": Infinity}',
                    b'{"e": ["0.8", 99999999999999999999999999999999, 0, 0, "p", "u", "s", 1, 0, 0]}',
                ]
            ),
            st.text(max_size=500).map(lambda t: t.encode("utf-8", "surrogatepass")),
        )
    )
    content_type = draw(
        st.sampled_from(
            [
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
                "application/octet-stream",
            ]
        )
    )
    headers = {"Origin": ORIGIN, "User-Agent": DESKTOP_UA, "Content-Type": content_type}
    if draw(st.integers(0, 5)) == 0:
        headers["Content-Encoding"] = draw(st.sampled_from(["gzip", "deflate", "br", "zstd", "identity, gzip"]))
    return Case("POST", "/collect", headers, body)


# ---- Matomo tracking API (query, form body, bulk JSON) -----------------------------------------------

MATOMO_TEXT_PARAMS = ("action_name", "e_c", "e_a", "e_n", "search", "search_cat", "dimension1", "c_n", "c_p")
MATOMO_OTHER_PARAMS = (
    "e_v",
    "h",
    "m",
    "s",
    "res",
    "cdt",
    "_idts",
    "_idvc",
    "gt_ms",
    "revenue",
    "idgoal",
    "ec_id",
    "send_image",
    "ca",
    "ping",
    "new_visit",
    "lang",
    "uadata",
    "_cvar",
    "ec_items",
    "cip",
    "uid",
    "bots",
    "rand",
    "pv_id",
    "link",
    "download",
    "urlref",
    "token_auth",
    "country",
    "ua",
)


@st.composite
def matomo_params(draw: st.DrawFn, found: list[str]) -> dict[str, str]:
    email = draw(emails)
    found.append(email)
    params: dict[str, str] = {
        "idsite": draw(st.sampled_from(["1", "1", "1", "2", "-1", "abc", "1e9"])),
        "rec": draw(st.sampled_from(["1", "1", "0", "true"])),
        "url": f"{MATOMO_ORIGIN}/p?q={quote(draw(planted(found)))}&email={email}",
        "_id": draw(hex_ids),
    }
    for name in draw(st.lists(st.sampled_from(MATOMO_TEXT_PARAMS), max_size=4, unique=True)):
        params[name] = draw(planted(found))
    for name in draw(st.lists(st.sampled_from(MATOMO_OTHER_PARAMS), max_size=5, unique=True)):
        params[name] = draw(
            st.one_of(
                st.text(max_size=40),
                st.integers(-(2**70), 2**70).map(str),
                st.sampled_from(["NaN", "Infinity", "-0", "1e308", "[]", "{", '{"1":["a",']),
            )
        )
    return {k: v.encode("utf-8", "surrogatepass").decode("utf-8", "replace") for k, v in params.items()}


@st.composite
def matomo_requests(draw: st.DrawFn) -> Case:
    found: list[str] = []
    headers = {"User-Agent": DESKTOP_UA, "Origin": MATOMO_ORIGIN}
    path = draw(st.sampled_from(["/matomo.php", "/matomo.php", "/piwik.php", "/js/", "/js/tracker.php"]))
    how = draw(st.sampled_from(["get", "form", "bulk", "bulk_junk"]))
    if how == "get":
        return Case("GET", f"{path}?{urlencode(draw(matomo_params(found)))}", headers, b"", found)
    if how == "form":
        headers["Content-Type"] = "application/x-www-form-urlencoded; charset=UTF-8"
        return Case("POST", path, headers, urlencode(draw(matomo_params(found))).encode(), found)
    if how == "bulk":
        hits = draw(st.lists(matomo_params(found), min_size=1, max_size=5))
        document: Any = {"requests": ["?" + urlencode(hit) for hit in hits]}
    else:
        document = draw(
            st.one_of(
                junk_values,
                st.fixed_dictionaries({"requests": junk_values}),
                st.fixed_dictionaries({"requests": st.lists(junk_values, max_size=4)}),
            )
        )
    headers["Content-Type"] = "application/json"
    return Case("POST", path, headers, to_json(document), found)


all_cases = st.one_of(clarity_uploads(), beacon_uploads(), raw_collect_bodies(), matomo_requests())


# ---- sending ------------------------------------------------------------------------------------------


class KeepAliveClient:
    """http.client on one kept-alive connection, reconnecting when the server closed it (it does so
    after a 408 or 413); two failures in a row for one request are an error: the server is down."""

    def __init__(self, port: int, timeout: float = 60) -> None:
        self.port = port
        self.timeout = timeout
        self._connection: http.client.HTTPConnection | None = None

    def send(self, case: Case) -> int:
        for attempt in range(2):
            if self._connection is None:
                self._connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
            try:
                self._connection.request(case.method, case.path, body=case.body or None, headers=case.headers)
                response = self._connection.getresponse()
                response.read()
                if response.will_close:
                    self.close()
                return int(response.status)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None
