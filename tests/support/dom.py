"""DOM nodes as objects, for tests that compare the collector's node stream with clarity-decode's or
round-trip it: built on the product's own reader (`iter_nodes`) and writer (`append_node`), which work on
plain lists because they run for every DOM event."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from collector.ingest.clarity.dom import append_node, iter_nodes


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
    def base_tag(self) -> str:
        return self.tag.split("~")[0]


def read_nodes(event: list[Any]) -> list[Node]:
    """Split an event's tokens (after time and type) into nodes, back-references resolved."""
    return [Node(numbers, strings[0] if strings else "", strings[1:]) for numbers, strings in iter_nodes(event)]


def write_event(time: int, event_type: int, nodes: list[Node]) -> list[Any]:
    """Encode nodes back into a token array, deduplicating strings as clarity-js does."""
    out: list[Any] = [time, event_type]
    seen: dict[str, int] = {}
    for node in nodes:
        append_node(out, seen, node.numbers, [node.tag, *node.strings])
    return out
