"""Mask every Clarity event on the server, by event type and the site's masking mode.

clarity-js masks in the browser, but a client can be misconfigured or forged: nothing here
trusts that. Input values are always bullets; text and attributes follow the site's mode;
personal data patterns and sensitive URL parameters go in every mode.

The masking is structural: fields with a meaning (input values, URLs, page text, user ids) get
their own treatment, and then every other string of every event, at any depth, keys and names
included, goes through the site's free-text mask, so a field nobody listed cannot slip past.
"""

from __future__ import annotations

import re
from collections.abc import Set as AbstractSet
from typing import Any, Callable

from collector.ingest.clarity.dom import TEXT_TAG, append_node, iter_nodes
from collector.ingest.masking import bullets, mangle_text, mask_input_value, mask_strings_deep
from collector.ingest.policy import MaskPolicy
from ingest_schema import codes as ev

DROPPED_EVENTS = frozenset({ev.EXTRACT})
RAW_TEXT_PARENTS = frozenset({"STYLE"})
#: a text node clarity-js mangled: its trimmed length in base 36, whitespace around kept (up to 46,655 characters;
#: three characters of a forged node say nothing personal)
CLIENT_MANGLED = re.compile(r"\s*[0-9a-z]{1,3}\s*")


def _mask_node(
    numbers: list[int], tag: str, strings: list[str], policy: MaskPolicy, parents: dict[int, str]
) -> list[str]:
    """The masked tag and strings of one node (`numbers` may be negated: strict text); the strings the
    node carries after its tag are masked in place."""
    base_tag = tag.split("~")[0]
    if len(numbers) > 1:
        parents[abs(numbers[0])] = base_tag
    if base_tag == TEXT_TAG:
        # clarity-js sends one string per text node; a forged node may carry more, and each is page text
        if strings and numbers[0] >= 0:
            parent_tag = parents.get(numbers[1], "") if len(numbers) > 1 else ""
            if parent_tag in RAW_TEXT_PARENTS:
                strings[:] = [policy.free(value) for value in strings]
            elif policy.mode == "strict" and any(value.strip() for value in strings):
                numbers[0] = -numbers[0]
                strings[:] = [mangle_text(value) for value in strings]
            else:
                strings[:] = [policy.text(value) for value in strings]
        elif strings:  # marked mangled by the client (a negative id): kept only if it is a length, as clarity-js writes
            strings[:] = [value if CLIENT_MANGLED.fullmatch(value) else mangle_text(value) for value in strings]
    elif base_tag == "STYLE":
        last = len(strings) - 1
        for index, token in enumerate(strings):
            strings[index] = policy.free(token) if index == last and "=" not in token[:40] else policy.attribute(token)
    else:
        attribute = policy.attribute
        for index, token in enumerate(strings):
            strings[index] = attribute(token)
    return [policy.free(tag), *strings]


def _mask_dom(event: list[Any], policy: MaskPolicy, parents: dict[int, str]) -> list[Any]:
    """Read, mask and re-encode a DOM event node by node (plain lists, no node objects in between)."""
    out: list[Any] = [event[0], event[1]]
    seen: dict[str, int] = {}
    for numbers, strings in iter_nodes(event):
        if strings:
            values = _mask_node(numbers, strings[0], strings[1:], policy, parents)
        else:
            values = _mask_node(numbers, "", strings, policy, parents)
        append_node(out, seen, numbers, values)
    return out


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


_NONE: AbstractSet[int] = frozenset()
_CLICK_FIELDS, _INPUT_FIELDS, _CHANGE_FIELDS, _ERROR_FIELDS = (
    frozenset({10, 11}),
    frozenset({3}),
    frozenset({4, 5}),
    frozenset({6}),
)


def _mask_fields(event: list[Any], policy: MaskPolicy) -> AbstractSet[int]:
    """The fields with a meaning of their own, by event type; returns the indexes it masked."""
    kind = event[1]
    if kind == ev.CLICK or kind == ev.CONTEXT_MENU:
        _at(event, 10, policy.text)
        _at(event, 11, policy.url)
        return _CLICK_FIELDS
    if kind == ev.INPUT:
        _at(event, 3, mask_input_value)
        return _INPUT_FIELDS
    if kind == ev.CHANGE:
        _at(event, 4, mask_input_value)
        if len(event) > 5:
            event[5] = ""
        return _CHANGE_FIELDS
    if kind == ev.DIMENSION:
        return _mask_pairs(event, _dimension_value(policy), policy.free)
    if kind == ev.VARIABLE:
        return _mask_pairs(event, _variable_value(policy), policy.free)
    if kind == ev.SCRIPT_ERROR:
        _at(event, 6, policy.url)
        return _ERROR_FIELDS
    return _NONE


def mask_event(event: list[Any], policy: MaskPolicy, parents: dict[int, str]) -> list[Any] | None:
    """Masked copy of one event, or None when the event is never stored (Extract).

    After the typed fields, every other string (nested, dict keys too) gets the free-text mask:
    no event type or field is stored unmasked because nobody listed it here."""
    kind = event[1]
    if kind in DROPPED_EVENTS:
        return None
    if kind in ev.DOM_EVENTS:
        # our beacon's DOM-change marker [t, 6, kind] holds no node and no text: kept as it is
        return list(event) if len(event) == 3 and type(event[2]) is int else _mask_dom(event, policy, parents)
    event = list(event)
    done = _mask_fields(event, policy)
    free = policy.free
    for index in range(2, len(event)):
        value = event[index]
        kind = type(value)
        if kind is int or kind is float or index in done:
            continue  # numbers (most fields of most events) need nothing
        if kind is str:
            event[index] = free(value)
        elif isinstance(value, (str, list, dict)):
            event[index] = mask_strings_deep(value, free)
    return event


def mask_events(events: list[list[Any]], policy: MaskPolicy) -> list[list[Any]]:
    parents: dict[int, str] = {}
    out = []
    for event in events:
        masked = mask_event(event, policy, parents)
        if masked is not None:
            out.append(masked)
    return out
