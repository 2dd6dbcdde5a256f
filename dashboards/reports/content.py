"""What a report says: the site's key figures, top pages, sources and goals for one period, read
through the one query layer exactly as `/dashboard/api/v1/<panel>?period=custom&from=…&to=…` serves
them, as plain text, simple HTML and one CSV attachment per panel (the API's CSV, byte for byte)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

import jinja2

from collector.core.sites import Site
from dashboards.export import as_csv, cell
from dashboards.queries import PANELS, parse_query, run_panel
from dashboards.reports.store import Schedule
from ingest_schema.storage import Storage

#: the panels of a report, in order; a panel missing from the query layer is left out
SECTIONS = (("overview", "Key figures"), ("top_pages", "Top pages"), ("sources", "Sources"), ("goals", "Goals"))
ROWS_PER_SECTION = 10


@dataclass(frozen=True)
class Section:
    panel: str
    title: str
    columns: list[str]
    rows: list[dict[str, Any]]
    csv: str


@dataclass(frozen=True)
class Report:
    schedule: Schedule
    site: Site
    first: date
    last: date
    sections: list[Section]
    dashboard_url: str
    unsubscribe_url: str

    @property
    def subject(self) -> str:
        return (
            f"{self.schedule.frequency.capitalize()} report: {self.site.name or self.site.id}, "
            f"{self.first.isoformat()} – {self.last.isoformat()}"
        )


def query_parameters(site: Site, first: date, last: date) -> dict[str, str]:
    """The API parameters giving the same figures as the report."""
    return {
        "site": site.id,
        "period": "custom",
        "from": first.isoformat(),
        "to": last.isoformat(),
        "limit": str(ROWS_PER_SECTION),
    }


def build_sections(storage: Storage, site: Site, first: date, last: date, use_view: bool = True) -> list[Section]:
    sections = []
    for name, title in SECTIONS:
        panel = PANELS.get(name)
        if panel is None:
            continue
        raw = query_parameters(site, first, last)
        if name == "overview":
            raw.pop("limit")
        result = run_panel(storage, panel, parse_query(panel, raw, site.timezone), use_view)
        rows = [{c: cell(v) for c, v in zip(result.columns, row, strict=True)} for row in result.rows]
        sections.append(Section(name, title, result.columns, rows, as_csv(result)))
    return sections


def _text_value(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:,.1f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value) if value != "" else "(none)"


def as_text(report: Report) -> str:
    """The plain-text body: each section as aligned columns."""
    lines = [report.subject, f"Time zone: {report.site.timezone}", ""]
    for section in report.sections:
        lines.append(section.title)
        lines.append("-" * len(section.title))
        if not section.rows:
            lines.append("no data")
        table = [section.columns] + [[_text_value(r[c]) for c in section.columns] for r in section.rows]
        widths = [max(len(str(row[i])) for row in table) for i in range(len(section.columns))]
        for row in table if section.rows else []:
            lines.append("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())
        lines.append("")
    lines += [
        f"Open the dashboard: {report.dashboard_url}",
        "The CSV attachments hold the same rows as the API's CSV.",
        f"Stop these e-mails: {report.unsubscribe_url}",
    ]
    return "\n".join(lines) + "\n"


def as_html(report: Report, templates: jinja2.Environment) -> str:
    return templates.get_template("report_email.html").render(report=report, value=_text_value)
