"""Read and re-write the DOM node stream of Discover/Mutation/Snapshot events.

The stream replaces repeated strings by back-references (absolute indexes into the event), so
masking cannot edit strings in place: we expand every node, mask it, and encode the event again
with the client's own back-reference scheme, which clarity-decode and clarity-visualize read.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

TEXT_TAG = "*T"


@dataclass
class Node:
    """One node: `numbers` = id[, parent[, previous]] (a negative id means masked text)."""

    numbers: list[int]
    tag: str
    strings: list[str] = field(default_factory=list)

    @property
    def id(self) -> int:
        return abs(self.numbers[0])

    @property
    def is_text(self) -> bool:
        return self.tag.split("~")[0] == TEXT_TAG

    @property
    def base_tag(self) -> str:
        return self.tag.split("~")[0]


def _resolve(tokens: list[Any], reference: list[Any]) -> list[str]:
    out = []
    for index in reference:
        if isinstance(index, int) and not isinstance(index, bool) and 0 <= index < len(tokens):
            value = tokens[index]
            out.append(value if isinstance(value, str) else "")
        else:
            out.append("")
    return out


def read_nodes(event: list[Any]) -> list[Node]:
    """Split an event's tokens (after time and type) into nodes, resolving back-references."""
    nodes: list[Node] = []
    numbers: list[int] = []
    strings: list[str] = []
    last_kind = ""

    def close() -> None:
        if numbers:
            nodes.append(Node(list(numbers), strings[0] if strings else "", strings[1:]))

    for token in event[2:]:
        if isinstance(token, bool) or token is None:
            kind, token = "str", str(token).lower()
        elif isinstance(token, (int, float)):
            kind = "num"
        elif isinstance(token, str):
            kind = "str"
        elif isinstance(token, list):
            kind = "ref"
        else:
            kind, token = "str", ""
        if kind == "num":
            if last_kind not in ("num", ""):
                close()
                numbers, strings = [], []
            numbers.append(int(token))
        elif kind == "str":
            strings.append(token)
        else:
            strings.extend(_resolve(event, token))
        last_kind = kind
    close()
    return nodes


def write_event(time: int, event_type: int, nodes: list[Node]) -> list[Any]:
    """Encode nodes back into a token array, deduplicating strings like clarity-js does."""
    out: list[Any] = [time, event_type]
    seen: dict[str, int] = {}
    reference: list[int] | None = None
    for node in nodes:
        reference = None
        out.extend(node.numbers)
        for value in [node.tag, *node.strings]:
            index = seen.get(value)
            if index is not None:
                if reference is None:
                    reference = [index]
                    out.append(reference)
                else:
                    reference.append(index)
            else:
                reference = None
                seen[value] = len(out)
                out.append(value)
    return out
