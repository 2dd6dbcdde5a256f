"""The one query layer: every panel by name, request parameters → `Query`, and `run_panel`.

The HTML pages, the JSON/CSV API and `dashboards.dataframe` all call `run_panel`, so they show the
same numbers. Values reach ClickHouse only as bound parameters.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Mapping

from dashboards import (
    chart_annotations,
    funnels,
    goals,
    heatmaps,
    insights,
    matomo_reports,
    recordings,
    segments,
    traffic,
    visitor_log,
)
from dashboards.errors import BadQuery
from dashboards.labels import with_labels
from dashboards.model import FILTER_NAMES, MAX_FILTER_CHARS, Context, Filters, Panel, Query, Result
from dashboards.periods import parse_period
from dashboards.selections import Selector, parse_selectors, resolve_selections
from ingest_schema.storage import Storage

PANELS: dict[str, Panel] = {
    p.name: p
    for p in (
        *traffic.PANELS,
        *heatmaps.PANELS,
        *recordings.PANELS,
        *visitor_log.PANELS,
        *segments.PANELS,
        *chart_annotations.PANELS,
        *matomo_reports.PANELS,
        *goals.PANELS,
        *funnels.PANELS,
        *insights.PANELS,
    )
}
#: Session selectors of the filter parser: request parameters that pre-select visits from a stored
#: definition, in every panel. A funnel step's drop-off (`funnel=<id>&step=<n>&dropped=1`) registers here.
SELECTORS: tuple[Selector, ...] = (
    segments.SELECTOR,
    funnels.SELECTOR,  # funnel=<id>&step=<n>&dropped=1: the visits that reached (and left after) a step
)
SELECTOR_PARAMETERS = tuple(name for s in SELECTORS for name in s.parameters)
COMMON_PARAMETERS = ("site", "period", "from", "to", "limit", "format", *FILTER_NAMES, *SELECTOR_PARAMETERS)
DEFAULT_LIMIT, MAX_LIMIT = 10, 1000


def panel_named(name: str) -> Panel:
    panel = PANELS.get(name)
    if panel is None:
        raise BadQuery(f"unknown panel {name[:40]!r}; see /dashboard/api/openapi.json")
    return panel


def _limit(raw: str, default: int) -> int:
    if not raw:
        return default
    if not raw.isdecimal() or not 1 <= int(raw) <= MAX_LIMIT:
        raise BadQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return int(raw)


def parse_query(panel: Panel, raw: Mapping[str, str], timezone: str = "UTC", now: datetime | None = None) -> Query:
    """A validated `Query` from request parameters (the site itself is checked by the caller)."""
    unknown = sorted(set(raw) - set(COMMON_PARAMETERS) - set(panel.options))
    if unknown:
        raise BadQuery(f"unknown parameter {unknown[0][:40]!r}")
    site = raw.get("site", "")
    if not site:
        raise BadQuery("site is required")
    for name in (*FILTER_NAMES, *SELECTOR_PARAMETERS):
        if len(raw.get(name, "")) > MAX_FILTER_CHARS:
            raise BadQuery(f"{name} is longer than {MAX_FILTER_CHARS} characters")
    filters = Filters(**{name: raw.get(name, "").strip() for name in FILTER_NAMES})
    if panel.needs_page and not filters.page:
        raise BadQuery(f"{panel.name} needs a page (a path such as /pricing)")
    for name in panel.required:
        if not raw.get(name, "").strip():
            raise BadQuery(f"{name} is required by {panel.name}")
    period = parse_period(raw.get("period", "30d"), raw.get("from", ""), raw.get("to", ""), timezone, now)
    default = 50 if panel.name in ("recordings", "heatmap_areas") else DEFAULT_LIMIT
    options = {name: raw[name].strip()[:MAX_FILTER_CHARS] for name in panel.options if raw.get(name)}
    selectors = parse_selectors(SELECTORS, raw)
    return Query(site, period, filters, _limit(raw.get("limit", ""), default), options, selectors)


def run_panel(storage: Storage, panel: Panel, query: Query, use_view: bool = True) -> Result:
    """Run one panel (blocking: async callers use `await storage.run(run_panel, …)`): the query's
    selectors resolved (a saved segment, a funnel step; unknown → NotFound), the panel's stored
    definitions read (goals, a funnel), the rows it is built on (`choose`), the SQL, the shape, the labels."""
    query = resolve_query(storage, query)
    if panel.prepare is not None:
        query = panel.prepare(storage, query)
    ctx = Context(storage.database, use_view)
    if panel.choose is not None:
        first = panel.choose(ctx, query)
        query = replace(
            query, definitions={**query.definitions, "chosen": storage.query_rows(first.text, first.params)}
        )
    sql = panel.build(ctx, query)
    rows: list[tuple[Any, ...]] = storage.query_rows(sql.text, sql.params)
    if panel.shape is not None:
        rows = panel.shape(query, rows)
    return Result(panel.name, panel.column_names, with_labels(panel, rows))


def resolve_query(storage: Storage, query: Query) -> Query:
    """The query with its session selectors (saved segment, funnel step) read from storage (blocking)."""
    return resolve_selections(SELECTORS, storage, query)


def view_available(storage: Storage) -> bool:
    """Whether the visit_stats view exists here (a cluster converged without it reads pageviews)."""
    rows = storage.query_rows(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = 'visit_stats_mv'",
        {"db": storage.database},
    )
    return bool(rows and rows[0][0])
