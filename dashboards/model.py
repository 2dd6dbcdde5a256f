"""The typed pieces of the query layer: filters, a query, bound SQL parameters, panels and results.

Every panel (traffic, heatmaps, recordings) is a `Panel`: a name, typed columns and a function that
turns a `Query` into SQL whose values are all bound parameters. Pages, the API and pandas run the
same panels through `dashboards.queries.run_panel`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable, Mapping, Protocol

from dashboards.periods import Period

#: Filters that apply to every panel; all but `page` select visits by their first page view.
FILTER_NAMES = ("page", "source", "channel", "country", "device", "browser", "os")
MAX_FILTER_CHARS = 500


@dataclass(frozen=True)
class Filters:
    """`page` is a path (`/pricing`) or a prefix ending in `*` (`/blog/*`): visits that viewed it."""

    page: str = ""
    source: str = ""
    channel: str = ""
    country: str = ""
    device: str = ""
    browser: str = ""
    os: str = ""

    def active(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


class Selection(Protocol):
    """A session pre-selection resolved from stored definitions (a saved segment, a funnel step's
    drop-off): a condition on one visit row of `visits_sql`, exact, over the days read."""

    @property
    def attributes(self) -> tuple[str, ...]:
        """Visit attributes (VISIT_ATTRIBUTES names) the condition reads."""

    def condition(self, ctx: "Context", params: "Params", site: str, start: datetime, end: datetime) -> str: ...


@dataclass(frozen=True)
class Query:
    """One panel request: a site, a period, filters, a row limit and panel-specific options.

    `selectors` holds the raw parameters of each session selector the request names (a segment id,
    a funnel step); `run_panel` resolves them into `selections` before the panel's SQL is built.
    A panel's `prepare` step puts the stored definitions it reads (goals, a funnel) into `definitions`, and its
    `choose` query the rows its SQL is built on (`definitions["chosen"]`)."""

    site: str
    period: Period
    filters: Filters = Filters()
    limit: int = 10
    options: Mapping[str, str] = field(default_factory=dict)
    selectors: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    selections: tuple[Selection, ...] = ()
    definitions: Mapping[str, Any] = field(default_factory=dict)

    def option(self, name: str, default: str = "") -> str:
        return self.options.get(name, default)

    def described_filters(self) -> dict[str, str]:
        """The filters and selector parameters as the JSON document echoes them."""
        described = self.filters.active()
        for values in self.selectors.values():
            described.update(values)
        return described


class Params:
    """Collects bound parameters: `p(value, "String")` returns the `{pN:String}` placeholder."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}

    def p(self, value: Any, type_: str) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f"{{{name}:{type_}}}"

    def instant(self, value: datetime) -> str:
        text = value.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
        return self.p(text, "DateTime64(3, 'UTC')")

    def day(self, value: date) -> str:
        return self.p(value.isoformat(), "Date")


@dataclass(frozen=True)
class Context:
    """Where a panel's SQL runs: the database, and whether the visit_stats view can be used."""

    database: str
    use_view: bool = True

    def table(self, name: str) -> str:
        return f"`{self.database}`.`{name}`"


@dataclass(frozen=True)
class Sql:
    text: str
    params: dict[str, Any]


@dataclass(frozen=True)
class Column:
    """`label` names a labeller of dashboards.labels and the column it reads: the SQL does not return
    such a column, `run_panel` fills it (a country's name, a duration with units) for JSON, CSV and pandas."""

    name: str
    type: str  # string | integer | number | datetime | boolean | array
    description: str
    label: tuple[str, str] | None = None  # (labeller, source column)


@dataclass(frozen=True)
class Panel:
    name: str
    title: str
    description: str
    columns: tuple[Column, ...]
    build: Callable[[Context, Query], Sql]
    #: reshapes the rows the SQL returned (figures with their previous values, a filled time series)
    shape: Callable[[Query, list[tuple[Any, ...]]], list[tuple[Any, ...]]] | None = None
    needs_page: bool = False
    options: tuple[str, ...] = ()
    #: options the panel cannot run without (a visit id): 400 when missing, `required` in OpenAPI
    required: tuple[str, ...] = ()
    #: reads what the panel's SQL needs from storage (stored definitions) into `Query.definitions`
    prepare: Callable[[Any, Query], Query] | None = None
    #: a first query whose rows the panel's SQL is built on (`Query.definitions["chosen"]`): the page of rows
    #: to show, chosen once and passed on as values, so the second query reads only about them
    choose: Callable[[Context, Query], Sql] | None = None

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


@dataclass(frozen=True)
class Result:
    panel: str
    columns: list[str]
    rows: list[tuple[Any, ...]]

    def records(self) -> list[dict[str, Any]]:
        return [dict(zip(self.columns, row, strict=True)) for row in self.rows]


def utc_days(start: datetime, end: datetime) -> tuple[date, date]:
    """The `day` partitions (UTC dates) to read for [start, end): one day earlier, so a visit that began
    just before midnight and went on past it is seen whole."""
    return (start.astimezone(timezone.utc) - timedelta(days=1)).date(), end.astimezone(timezone.utc).date()
