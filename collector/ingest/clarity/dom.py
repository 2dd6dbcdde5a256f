"""Read and re-write the DOM node stream of Discover/Mutation/Snapshot events.

The stream replaces repeated strings by back-references (absolute indexes into the event), so
masking cannot edit strings in place: we expand every node, mask it, and encode the event again
with the client's own back-reference scheme, which clarity-decode and clarity-visualize read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

TEXT_TAG = "*T"


#: Node numbers are within Int64 (a float token outside is not a node number).
I64 = 2**63


def iter_nodes(event: list[Any]) -> Iterator[tuple[list[int], list[str]]]:
    """Each node of an event's tokens (after time and type) as (numbers, strings), back-references
    resolved; the first string is the tag. Fresh lists each time: a caller may change them.

    A node starts at the first number after a non-number (clarity-decode's rule); tokens are
    dispatched on their exact JSON type because this runs for every DOM event.
    """
    numbers: list[int] = []
    strings: list[str] = []
    after_number = False
    size = len(event)
    for token in event[2:]:
        kind = type(token)
        if kind is int or kind is float:
            if kind is float and not -I64 <= token < I64:
                continue  # not a node number (orjson reads 1e19 as a float); as an int it could not be written
            if not after_number:
                if numbers:
                    yield numbers, strings
                numbers, strings = [], []
                after_number = True
            numbers.append(int(token))
            continue
        after_number = False
        if kind is str:
            strings.append(token)
        elif kind is list:
            for index in token:
                value = event[index] if type(index) is int and 0 <= index < size else None
                strings.append(value if type(value) is str else "")
        else:
            strings.append("" if token is None else str(token).lower())
    if numbers:
        yield numbers, strings


def append_node(out: list[Any], seen: dict[str, int], numbers: list[int], values: list[str]) -> None:
    """Append one node to a token array as clarity-js encodes it: its numbers, then each string, or a
    back-reference to where the same string was written before (`seen`: string → index in `out`);
    consecutive references share one array."""
    out.extend(numbers)
    reference: list[int] | None = None
    for value in values:
        index = seen.get(value)
        if index is None:
            reference = None
            seen[value] = len(out)
            out.append(value)
        elif reference is None:
            reference = [index]
            out.append(reference)
        else:
            reference.append(index)
