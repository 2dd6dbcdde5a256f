"""Session selectors: request parameters that pre-select visits from a stored definition (a saved
segment, a funnel step's drop-off), for every panel alike.

The filter parser (`dashboards.queries.parse_query`) keeps each selector's raw parameters after a
syntax check; `run_panel` resolves them once per request (reading the definition; unknown → 404) into
`Selection`s, and `visits_sql` adds each one's condition to the visit set every panel starts from.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Callable, Mapping, Sequence

from dashboards.model import Query, Selection
from ingest_schema.storage import Storage


@dataclass(frozen=True)
class Selector:
    name: str
    #: query parameters it reads, with their OpenAPI descriptions
    parameters: Mapping[str, str]
    #: syntax check of the raw parameters (BadQuery → 400); no storage access
    check: Callable[[Mapping[str, str]], None]
    #: the selection the parameters name, read from storage (NotFound → 404)
    resolve: Callable[[Storage, str, Mapping[str, str]], Selection]


def parse_selectors(selectors: Sequence[Selector], raw: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The raw parameters of every selector the request names, each checked."""
    chosen: dict[str, dict[str, str]] = {}
    for selector in selectors:
        values = {name: raw[name].strip() for name in selector.parameters if raw.get(name, "").strip()}
        if values:
            selector.check(values)
            chosen[selector.name] = values
    return chosen


def resolve_selections(selectors: Sequence[Selector], storage: Storage, query: Query) -> Query:
    """The query with its selectors resolved (blocking: reads the definitions)."""
    if not query.selectors or len(query.selections) == len(query.selectors):
        return query
    by_name = {s.name: s for s in selectors}
    resolved = tuple(by_name[name].resolve(storage, query.site, values) for name, values in query.selectors.items())
    return replace(query, selections=resolved)
