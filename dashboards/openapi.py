"""The OpenAPI 3.1 document of the dashboards API, generated from the panel registry."""

from __future__ import annotations

from typing import Any, Sequence

from collector.core.sites import Site
from dashboards.model import FILTER_NAMES, Panel
from dashboards.periods import PERIODS

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"}, "integer": {"type": "integer"}, "number": {"type": ["number", "null"]},
    "datetime": {"type": "string", "format": "date-time"}, "boolean": {"type": "boolean"},
    "array": {"type": "array", "items": {"type": "string"}},
}
_FILTER_HELP = {
    "page": "visits that viewed this path (a trailing * matches a prefix); page panels count only that page",
    "source": "visits whose first page came from this source (see the sources panel)",
    "channel": "direct, search, social, website or campaign", "country": "ISO 3166 code",
    "device": "desktop, mobile, tablet or unknown", "browser": "browser family", "os": "operating system family",
}


#: Answers any operation may give besides its own (every refusal is a short JSON {"error": …}).
ERRORS: dict[str, Any] = {
    "400": {"description": "bad parameter, with a short reason"},
    "401": {"description": "no session and no valid bearer token"},
    "503": {"description": "ClickHouse unavailable for a moment; retry after Retry-After seconds"},
}


def _with_errors(responses: dict[str, Any]) -> dict[str, Any]:
    return {**ERRORS, **responses}


def _parameter(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _common(sites: Sequence[Site]) -> list[dict[str, Any]]:
    return [
        _parameter("site", "site id", {"type": "string", "enum": [s.id for s in sites]}, True),
        _parameter("period", "date range in the site's time zone (default 30d)",
                   {"type": "string", "enum": list(PERIODS), "default": "30d"}),
        _parameter("from", "first day of a custom period", {"type": "string", "format": "date"}),
        _parameter("to", "last day of a custom period (inclusive)", {"type": "string", "format": "date"}),
        _parameter("limit", "most rows (1-1000)", {"type": "integer", "minimum": 1, "maximum": 1000}),
        _parameter("format", "json (default) or csv", {"type": "string", "enum": ["json", "csv"]}),
    ] + [_parameter(f, _FILTER_HELP[f], {"type": "string"}) for f in FILTER_NAMES]


def _panel_path(panel: Panel, sites: Sequence[Site]) -> dict[str, Any]:
    parameters = _common(sites)
    if panel.needs_page:
        parameters = [dict(p, required=True) if p["name"] == "page" else p for p in parameters]
    parameters += [_parameter(o, "see the panel description", {"type": "string"}) for o in panel.options]
    row = {"type": "object", "properties": {c.name: dict(_TYPES[c.type], description=c.description)
                                            for c in panel.columns}}
    return {"get": {
        "summary": panel.title, "description": panel.description, "operationId": panel.name,
        "parameters": parameters,
        "responses": {
            "200": {"description": "the panel's rows", "content": {
                "application/json": {"schema": {"type": "object", "properties": {
                    "rows": {"type": "array", "items": row}, "columns": {"type": "array"},
                    "period": {"type": "object"}, "previous": {"type": "object"}, "filters": {"type": "object"},
                }}},
                "text/csv": {"schema": {"type": "string"}},
            }},
            **ERRORS,
        },
    }}


def openapi_document(sites: Sequence[Site]) -> dict[str, Any]:
    from dashboards.queries import PANELS

    paths: dict[str, Any] = {}
    for panel in PANELS.values():
        paths[f"/dashboard/api/v1/{panel.name}"] = _panel_path(panel, sites)
        paths[f"/dashboard/api/v1/{panel.name}.csv"] = {"get": dict(
            _panel_path(panel, sites)["get"], operationId=f"{panel.name}_csv", summary=f"{panel.title} (CSV)")}
    id_param = _parameter("recording", "recording id (1-16 hex digits)",
                          {"type": "string", "pattern": "^[0-9a-fA-F]{1,16}$"}, True)
    site_param = _common(sites)[0]
    paths["/dashboard/api/v1/recording"] = {"get": {
        "summary": "One recording's masked Clarity payloads, by page view, for clarity-decode/-visualize",
        "operationId": "recording", "parameters": [site_param, id_param],
        "responses": _with_errors({"200": {"description": "pages with their payloads"},
                                   "404": {"description": "no such recording"}}),
    }}
    paths["/dashboard/api/v1/recording/marks"] = {"post": {
        "summary": "Favourite or label a recording (kept 13 months while marked); needs X-CSRF-Token with a session",
        "operationId": "recording_marks", "parameters": [site_param, id_param],
        "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
            "favourite": {"type": "boolean"}, "labels": {"type": "array", "items": {"type": "string"}}}}}}},
        "responses": _with_errors({"200": {"description": "the marks now stored"},
                                   "403": {"description": "CSRF token missing"},
                                   "404": {"description": "no such recording"}}),
    }}
    paths["/dashboard/api/v1/snapshot"] = {"get": {
        "summary": "Payloads of the latest recorded view of a page (heatmap background)",
        "operationId": "snapshot", "parameters": _panel_path(PANELS["heatmap_clicks"], sites)["get"]["parameters"],
        "responses": _with_errors({"200": {"description": "payloads"},
                                   "404": {"description": "no recorded view"}}),
    }}
    paths["/dashboard/api/v1/sites"] = {"get": {
        "summary": "Configured sites", "operationId": "sites",
        "responses": _with_errors({"200": {"description": "id, name, timezone"}}),
    }}
    return {
        "openapi": "3.1.0",
        "info": {"title": "Privacy-first analytics dashboards API", "version": "1",
                 "description": "Every dashboard panel as JSON or CSV. Authenticate with a log-in session "
                                "or `Authorization: Bearer wat_…` (python -m dashboards create-token NAME)."},
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"},
                                           "session": {"type": "apiKey", "in": "cookie", "name": "wa_dashboard"}}},
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }
