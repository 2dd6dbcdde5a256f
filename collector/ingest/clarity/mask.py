"""Mask every Clarity event on the server, by event type and the site's masking mode.

clarity-js masks in the browser, but a client can be misconfigured or forged: nothing here
trusts that. Input values are always bullets; text and attributes follow the site's mode;
personal data patterns and sensitive URL parameters go in every mode.

The masking is structural: fields with a meaning (input values, URLs, page text, user ids) get
their own treatment, and then every other string of every event, at any depth, keys and names
included, goes through the site's free-text mask, so a field nobody listed cannot slip past.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from collector.core.sites import MaskingMode
from collector.ingest.clarity import events as ev
from collector.ingest.clarity.dom import Node, read_nodes, write_event
from collector.ingest.masking import (
    bullets,
    clean_url,
    mangle_text,
    mask_input_value,
    mask_pii,
    mask_strings_deep,
    redact_words,
)
from ingest_schema.hashing import Hasher

URL_ATTRIBUTES = frozenset({"href", "src", "srcset", "action", "formaction", "poster", "cite", "*b", "background"})
LABEL_ATTRIBUTES = frozenset({"title", "alt", "aria-label", "label", "content", "summary", "aria-description"})
#: Strict mode: the only attributes not masked like page text. They carry layout and structure a
#: replay needs (or clarity-js's own markers, `*O`), not words meant for a reader; URL attributes
#: are cleaned (query dropped) instead. Everything else (title, alt, aria-*, data-*, placeholder,
#: event handlers, meta content, ...) becomes bullets. docs/privacy.md explains the choice.
STRICT_KEPT_ATTRIBUTES = frozenset({
    "id", "class", "style", "type", "name", "role", "rel", "lang", "dir", "for", "width", "height", "size",
    "colspan", "rowspan", "span", "tabindex", "hidden", "disabled", "checked", "selected", "multiple",
    "readonly", "required", "open", "media", "sizes", "charset", "target", "method", "loading", "*o",
    "viewbox", "xmlns", "d", "fill", "stroke", "stroke-width", "points", "transform", "x", "y", "cx", "cy", "r",
    "rx", "ry", "x1", "x2", "y1", "y2", "preserveaspectratio", "version",
})
DROPPED_EVENTS = frozenset({ev.EXTRACT})
RAW_TEXT_PARENTS = frozenset({"STYLE"})


#: Masked forms of recent strings per site policy: the same page text and attributes arrive from
#: every visitor of a page, so most masking becomes a dictionary lookup. Held in memory only,
#: bounded, and cleared when full; typed input values never enter it.
MEMO_LIMIT = 50_000


@dataclass(frozen=True)
class MaskPolicy:
    mode: MaskingMode
    sensitive_params: frozenset[str]
    max_chars: int
    hasher: Hasher
    site: str
    _memo: dict[tuple[str, str], str] = field(default_factory=dict, compare=False, repr=False)

    def cut(self, text: str) -> str:
        return text if len(text) <= self.max_chars else text[: self.max_chars]

    def _remember(self, key: tuple[str, str], value: str) -> str:
        if len(self._memo) >= MEMO_LIMIT:
            self._memo.clear()
        self._memo[key] = value
        return value

    def text(self, value: str) -> str:
        """Visible page text (text nodes, click text, labels)."""
        hit = self._memo.get(("text", value))
        if hit is not None:
            return hit
        if self.mode == "strict":
            masked = bullets(value)
        elif self.mode == "balanced":
            masked = mask_pii(redact_words(value))
        else:
            masked = mask_pii(value)
        return self._remember(("text", value), self.cut(masked))

    def url(self, value: str) -> str:
        hit = self._memo.get(("url", value))
        if hit is not None:
            return hit
        masked = clean_url(value, self.sensitive_params, drop_query=self.mode == "strict")
        return self._remember(("url", value), self.cut(masked))

    def page_url(self, value: str) -> str:
        """The page's own URL keeps its non-sensitive query (campaign parameters) in every mode."""
        hit = self._memo.get(("page", value))
        if hit is not None:
            return hit
        return self._remember(("page", value), self.cut(clean_url(value, self.sensitive_params)))

    def title(self, value: str) -> str:
        """The page's title: page text in strict mode, free text (personal data masked) otherwise."""
        return self.text(value) if self.mode == "strict" else self.free(value)

    def free(self, value: str) -> str:
        """Free text a page script chose to send (custom events, variables, errors)."""
        hit = self._memo.get(("free", value))
        if hit is not None:
            return hit
        return self._remember(("free", value), self.cut(mask_pii(value)))

    def attribute(self, token: str) -> str:
        """A DOM `name=value` attribute; input values are bulleted without touching the memo."""
        if token.startswith("value="):
            return "value=" + bullets(token[6:])
        hit = self._memo.get(("attr", token))
        if hit is not None:
            return hit
        return self._remember(("attr", token), _mask_attribute(token, self))


def _mask_attribute(token: str, policy: MaskPolicy) -> str:
    if token.startswith("#") and "=" not in token:
        return token  # masked-image size, not content
    name, sep, value = token.partition("=")
    if not sep:
        return policy.free(token)
    key = name.lower()
    name = policy.free(name)  # a forged attribute name is client text like any other
    if key == "value":
        masked = bullets(value)
    elif key in URL_ATTRIBUTES:
        masked = policy.url(value) if key != "srcset" else policy.free(value)
    elif policy.mode == "strict" and key not in STRICT_KEPT_ATTRIBUTES:
        masked = policy.text(value)
    elif key == "placeholder" or key.startswith("data-"):
        masked = policy.free(value) if policy.mode == "relaxed" else bullets(value)
    elif key in LABEL_ATTRIBUTES:
        masked = policy.text(value)
    else:
        masked = policy.free(value)
    return f"{name}={masked}"


def _mask_node(node: Node, policy: MaskPolicy, parents: dict[int, str]) -> None:
    tag = node.base_tag
    node.tag = policy.free(node.tag)
    if len(node.numbers) > 1:
        parents[node.id] = tag
    if node.is_text:
        if not node.strings or node.numbers[0] < 0:
            return
        parent_tag = parents.get(node.numbers[1], "") if len(node.numbers) > 1 else ""
        value = node.strings[-1]
        if parent_tag in RAW_TEXT_PARENTS:
            node.strings[-1] = policy.free(value)
        elif policy.mode == "strict" and value.strip():
            node.numbers[0] = -node.numbers[0]
            node.strings[-1] = mangle_text(value)
        else:
            node.strings[-1] = policy.text(value)
        return
    last = len(node.strings) - 1
    for index, token in enumerate(node.strings):
        if tag == "STYLE" and index == last and "=" not in token[:40]:
            node.strings[index] = policy.free(token)
        else:
            node.strings[index] = policy.attribute(token)


def _mask_dom(event: list[Any], policy: MaskPolicy, parents: dict[int, str]) -> list[Any]:
    nodes = read_nodes(event)
    for node in nodes:
        _mask_node(node, policy, parents)
    return write_event(event[0], event[1], nodes)


def _at(event: list[Any], index: int, fn: Callable[[str], str]) -> None:
    if len(event) > index and isinstance(event[index], str):
        event[index] = fn(event[index])


def _mask_pairs(event: list[Any], fn: Callable[[int | str, str], str], free: Callable[[str], str]) -> set[int]:
    """Dimension/Variable layout: key, [values], key, [values], ...; a string key (a custom tag's
    name) is client text too. Returns the indexes it masked."""
    done: set[int] = set()
    for index in range(2, len(event) - 1, 2):
        key, values = event[index], event[index + 1]
        if isinstance(values, list):
            event[index + 1] = [fn(key, v) if isinstance(v, str) else mask_strings_deep(v, free) for v in values]
        elif isinstance(values, str):
            event[index + 1] = fn(key, values)
        else:
            continue
        if isinstance(key, str):
            event[index] = free(key)
        done.update((index, index + 1))
    return done


def _dimension_value(policy: MaskPolicy) -> Callable[[int | str, str], str]:
    def mask(key: int | str, value: str) -> str:
        if key == ev.DIM_USER_AGENT:
            return ""  # never stored: device facts come from the parsed header instead
        if key in (ev.DIM_URL, ev.DIM_REFERRER, 33):
            return policy.page_url(value)
        if key == ev.DIM_TITLE:
            return policy.title(value)
        return policy.free(value)

    return mask


def _variable_value(policy: MaskPolicy) -> Callable[[int | str, str], str]:
    def mask(key: int | str, value: str) -> str:
        if key == "userId":
            return policy.hasher.user(policy.site, value)
        if key == "userHint" and policy.mode != "relaxed":
            return bullets(value)
        return policy.free(value)

    return mask


def _mask_fields(event: list[Any], policy: MaskPolicy) -> set[int]:
    """The fields with a meaning of their own, by event type; returns the indexes it masked."""
    kind = event[1]
    if kind in (ev.CLICK, ev.CONTEXT_MENU):
        _at(event, 10, policy.text)
        _at(event, 11, policy.url)
        return {10, 11}
    if kind == ev.INPUT:
        _at(event, 3, mask_input_value)
        return {3}
    if kind == ev.CHANGE:
        _at(event, 4, mask_input_value)
        if len(event) > 5:
            event[5] = ""
        return {4, 5}
    if kind == ev.DIMENSION:
        return _mask_pairs(event, _dimension_value(policy), policy.free)
    if kind == ev.VARIABLE:
        return _mask_pairs(event, _variable_value(policy), policy.free)
    if kind == ev.SCRIPT_ERROR:
        _at(event, 6, policy.url)
        return {6}
    return set()


def mask_event(event: list[Any], policy: MaskPolicy, parents: dict[int, str]) -> list[Any] | None:
    """Masked copy of one event, or None when the event is never stored (Extract).

    After the typed fields, every other string (nested, dict keys too) gets the free-text mask:
    no event type or field is stored unmasked because nobody listed it here."""
    kind = event[1]
    if kind in DROPPED_EVENTS:
        return None
    if kind in ev.DOM_EVENTS:
        return _mask_dom(event, policy, parents)
    event = list(event)
    done = _mask_fields(event, policy)
    return [
        v if index < 2 or index in done or not isinstance(v, (str, list, dict)) else mask_strings_deep(v, policy.free)
        for index, v in enumerate(event)
    ]


def mask_events(events: list[list[Any]], policy: MaskPolicy) -> list[list[Any]]:
    parents: dict[int, str] = {}
    out = []
    for event in events:
        masked = mask_event(event, policy, parents)
        if masked is not None:
            out.append(masked)
    return out
