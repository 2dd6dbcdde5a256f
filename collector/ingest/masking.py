"""Server-side masking: applied to every event before anything is written, whatever the client did.

Three layers, strongest first:
1. input values are always replaced by bullets (only a length bucket survives);
2. the site's mode (strict / balanced / relaxed) masks text and attributes;
3. in every mode, e-mail addresses, card numbers, phone numbers and IBANs are masked in every
   text and URL field, and sensitive query parameters are removed from URLs.
"""

from __future__ import annotations

import re
from typing import Any, Callable
from urllib.parse import parse_qsl, quote, unquote, urlsplit, urlunsplit

BULLET = "•"
LETTER_MASK = "▪"
DIGIT_MASK = "▫"

_EMAIL = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_EMAIL_ENCODED = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+%40[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_CARD = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")
_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ ]?[A-Za-z0-9]){11,30}(?![A-Za-z0-9])")
_PHONE = re.compile(
    r"(?<![\w/.])(?:(?:\+|00)\d{1,3}[ .\-]?)?(?:\(\d{1,5}\)[ .\-]?)?\d{1,8}(?:[ .\-]\d{1,8}){1,6}(?![\w.])"
    r"|(?<![\w/.])(?:\+|00)\d{8,15}(?![\w.])"
    r"|(?<![\w/.])0\d{9,11}(?![\w.])"
)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}(?:[ T]\d{2})?")
_MANY_DIGITS = re.compile(r"(?:\d\D{0,3}){7}")
_WORD_NEEDS_MASK = re.compile(r"[\d@]")
_NOT_SPACE = re.compile(r"\S")
_CURRENCY = re.compile(r"[$€£¥₹₩₽¢]")


def _luhn_ok(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if position % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    if not 15 <= len(compact) <= 34:
        return False
    rearranged = compact[4:] + compact[:4]
    try:
        return int("".join(str(int(ch, 36)) for ch in rearranged)) % 97 == 1
    except ValueError:
        return False


def shape_mask(text: str) -> str:
    """Letters to ▪ and digits to ▫, punctuation kept: the shape of a value, never its content."""
    return "".join(LETTER_MASK if c.isalpha() else DIGIT_MASK if c.isalnum() else c for c in text)


def _mask_card(match: re.Match[str]) -> str:
    """Mask card numbers (Luhn) inside a run of digit groups: any run of whole groups holding 13-19
    digits is a candidate, so a stray number next to a card cannot hide it, while a solid run of
    digits (an order id) is only masked when it is itself a valid card number."""
    text = match.group(0)
    groups = [(m.start(), m.end()) for m in re.finditer(r"\d+", text)]
    chars = list(text)
    first = 0
    while first < len(groups):
        for last in range(len(groups) - 1, first - 1, -1):
            digits = "".join(text[a:b] for a, b in groups[first : last + 1])
            if 13 <= len(digits) <= 19 and _luhn_ok(digits):
                span = slice(groups[first][0], groups[last][1])
                chars[span] = shape_mask(text[span])
                first = last + 1
                break
        else:
            first += 1
    return "".join(chars)


def _mask_iban(match: re.Match[str]) -> str:
    return shape_mask(match.group(0)) if _iban_ok(match.group(0)) else match.group(0)


def _mask_phone(match: re.Match[str]) -> str:
    text = match.group(0)
    digits = sum(c.isdigit() for c in text)
    international = text.startswith(("+", "00"))
    if _ISO_DATE.match(text):
        return text
    return shape_mask(text) if digits >= (8 if international else 9) else text


def mask_pii(text: str) -> str:
    """Mask e-mail addresses, card numbers (Luhn), IBANs (mod 97) and phone numbers in any text."""
    if "@" in text:
        text = _EMAIL.sub(lambda m: shape_mask(m.group(0)), text)
    if "%40" in text:
        text = _EMAIL_ENCODED.sub(lambda m: shape_mask(m.group(0)), text)
    if _MANY_DIGITS.search(text):
        text = _CARD.sub(_mask_card, text)
        text = _IBAN.sub(_mask_iban, text)
        text = _PHONE.sub(_mask_phone, text)
    return text


def mask_input_value(value: str) -> str:
    """An input's value becomes bullets in a length bucket; only checkbox/radio booleans survive."""
    if value in ("true", "false"):
        return value
    if not value:
        return ""
    length = (len(value) // 5 + 1) * 5
    return (BULLET * 5 + (" " + BULLET * 4) * ((length - 5) // 5))[: max(length, 5)]


def bullets(text: str) -> str:
    """Every non-space character to a bullet (Clarity's mask for data-* and placeholders). `\\S` is
    exactly `not str.isspace()` (both use Python's Unicode whitespace table)."""
    return _NOT_SPACE.sub(BULLET, text)


def redact_words(text: str) -> str:
    """Balanced mode: words that hold a digit or '@' are shape-masked, other words stay."""
    if not _WORD_NEEDS_MASK.search(text):
        return text
    parts = re.split(r"(\s+)", text)
    return "".join(shape_mask(p) if _WORD_NEEDS_MASK.search(p) and not _CURRENCY.search(p) else p for p in parts)


def mangle_text(text: str) -> str:
    """Strict mode text node: only the length survives (base 36, whitespace kept), as clarity-js does."""
    stripped = text.strip()
    if not stripped:
        return text
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :]
    return f"{lead}{_base36(len(stripped))}{trail}"


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _clean_pairs(query: str, sensitive: frozenset[str]) -> str:
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(k, mask_pii(v)) for k, v in pairs if k.lower() not in sensitive]
    return "&".join(f"{quote(k, safe='[]*-._~')}={quote(v, safe='*-._~/:')}" for k, v in kept)


def clean_url(url: str, sensitive: frozenset[str], drop_query: bool = False) -> str:
    """Remove sensitive query parameters (or the whole query), then mask personal data anywhere."""
    if not url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return mask_pii(url)
    query = "" if drop_query else _clean_pairs(parts.query, sensitive) if parts.query else ""
    fragment = parts.fragment
    if fragment and "=" in fragment:
        fragment = "" if drop_query else _clean_pairs(fragment.lstrip("!/?"), sensitive)
    netloc = parts.netloc.rpartition("@")[2]  # user:password@ never kept
    path, fragment = _mask_encoded(parts.path, "/"), _mask_encoded(fragment, "/=&?!")
    cleaned = urlunsplit((parts.scheme, netloc, path, query, fragment))
    return mask_pii(cleaned)


def _mask_encoded(part: str, safe: str) -> str:
    """Personal data written percent-encoded in a URL part (`jane%40x.org`, `4111%201111…`) is
    masked in its decoded form; a part without any stays exactly as it came."""
    if "%" not in part:
        return part
    decoded = unquote(part)
    masked = mask_pii(decoded)
    return part if masked == decoded else quote(masked, safe=safe + ":@!$'()*+,;~-._")


def mask_strings_deep(value: Any, fn: Callable[[str], str], key_fn: Callable[[str], str] | None = None) -> Any:
    """Apply `fn` to every string inside nested lists, tuples and dicts, dict keys included (with
    `key_fn` when keys have a structure of their own): a structure a client sent (unknown event
    shapes, custom variables) may carry personal data in its names too."""
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [mask_strings_deep(v, fn, key_fn) for v in value]
    if isinstance(value, tuple):
        return tuple(mask_strings_deep(v, fn, key_fn) for v in value)
    if isinstance(value, dict):
        return {
            (key_fn or fn)(k) if isinstance(k, str) else k: mask_strings_deep(v, fn, key_fn) for k, v in value.items()
        }
    return value
