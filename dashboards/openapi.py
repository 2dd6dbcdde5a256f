"""The OpenAPI 3.1 document of the dashboards API, generated from the panel registry."""

from __future__ import annotations

from typing import Any, Sequence

from collector.core.sites import Site
from dashboards.model import FILTER_NAMES, Panel
from dashboards.periods import PERIODS

_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string"},
    "integer": {"type": "integer"},
    "number": {"type": ["number", "null"]},
    "datetime": {"type": "string", "format": "date-time"},
    "boolean": {"type": "boolean"},
    "array": {"type": "array", "items": {"type": "string"}},
}
_FILTER_HELP = {
    "page": "visits that viewed this path (a trailing * matches a prefix); page panels count only that page",
    "source": "visits whose first page came from this source (see the sources panel)",
    "channel": "direct, search, social, website or campaign",
    "country": "ISO 3166 code",
    "device": "desktop, mobile, tablet or unknown",
    "browser": "browser family",
    "os": "operating system family",
}


#: Answers any operation may give besides its own (every refusal is a short JSON {"error": …}).
ERRORS: dict[str, Any] = {
    "400": {"description": "bad parameter, with a short reason"},
    "401": {"description": "no session and no valid bearer token"},
    "403": {"description": "the analyst has no role on this site (or not the role the change needs)"},
    "404": {"description": "unknown site, or unknown saved definition (a segment, an annotation)"},
    "503": {"description": "ClickHouse unavailable for a moment; retry after Retry-After seconds"},
}


def _with_errors(responses: dict[str, Any]) -> dict[str, Any]:
    return {**ERRORS, **responses}


def _parameter(name: str, description: str, schema: dict[str, Any], required: bool = False) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": required, "description": description, "schema": schema}


def _selector_parameters() -> list[dict[str, Any]]:
    from dashboards.queries import SELECTORS

    return [_parameter(name, help_, {"type": "string"}) for s in SELECTORS for name, help_ in s.parameters.items()]


def _common(sites: Sequence[Site]) -> list[dict[str, Any]]:
    return (
        [
            _parameter("site", "site id", {"type": "string", "enum": [s.id for s in sites]}, True),
            _parameter(
                "period",
                "date range in the site's time zone (default 30d)",
                {"type": "string", "enum": list(PERIODS), "default": "30d"},
            ),
            _parameter("from", "first day of a custom period", {"type": "string", "format": "date"}),
            _parameter("to", "last day of a custom period (inclusive)", {"type": "string", "format": "date"}),
            _parameter("limit", "most rows (1-1000)", {"type": "integer", "minimum": 1, "maximum": 1000}),
            _parameter("format", "json (default) or csv", {"type": "string", "enum": ["json", "csv"]}),
        ]
        + [_parameter(f, _FILTER_HELP[f], {"type": "string"}) for f in FILTER_NAMES]
        + _selector_parameters()
    )


def _panel_path(panel: Panel, sites: Sequence[Site]) -> dict[str, Any]:
    parameters = _common(sites)
    if panel.needs_page:
        parameters = [dict(p, required=True) if p["name"] == "page" else p for p in parameters]
    parameters += [
        _parameter(o, "see the panel description", {"type": "string"}, o in panel.required) for o in panel.options
    ]
    row = {
        "type": "object",
        "properties": {c.name: dict(_TYPES[c.type], description=c.description) for c in panel.columns},
    }
    return {
        "get": {
            "summary": panel.title,
            "description": panel.description,
            "operationId": panel.name,
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "the panel's rows",
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {
                                    "rows": {"type": "array", "items": row},
                                    "columns": {"type": "array"},
                                    "period": {"type": "object"},
                                    "previous": {"type": "object"},
                                    "filters": {"type": "object"},
                                },
                            }
                        },
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                **ERRORS,
            },
        }
    }


#: Bodies of the saved definitions (segments, annotations): POST creates, PUT replaces.
_CONDITION = {
    "type": "object",
    "required": ["field", "value"],
    "properties": {
        "field": {
            "type": "string",
            "description": "visit: channel, source, campaign, medium, country, device, browser, "
            "os, entry_page, exit_page, pageviews, duration; page: page, page_url, page_title; event: event, "
            "event_action, event_name, goal, site_search",
        },
        "op": {
            "type": "string",
            "description": "is, is_not, contains, not_contains, prefix, matches, not_matches; "
            "numbers: is, is_not, gt, gte, lt, lte",
        },
        "value": {"type": ["string", "number"]},
    },
}
_DEFINITION_BODIES: dict[str, dict[str, Any]] = {
    "segments": {
        "type": "object",
        "required": ["name", "definition"],
        "properties": {
            "name": {"type": "string", "maxLength": 80},
            "definition": {
                "type": "object",
                "properties": {
                    "match": {"type": "string", "enum": ["all", "any"]},
                    "conditions": {
                        "type": "array",
                        "items": {
                            "oneOf": [
                                _CONDITION,
                                {"type": "object", "description": "a nested group: {match, conditions}"},
                            ]
                        },
                    },
                },
            },
        },
    },
    "annotations": {
        "type": "object",
        "required": ["day", "note"],
        "properties": {"day": {"type": "string", "format": "date"}, "note": {"type": "string", "maxLength": 500}},
    },
}


def _definition_paths(sites: Sequence[Site]) -> dict[str, Any]:
    site = dict(_common(sites)[0])
    ident = {"name": "ident", "in": "path", "required": True, "schema": {"type": "string"}}
    changes = {"403": {"description": "CSRF token missing, or not an admin of the site"}}
    paths: dict[str, Any] = {}
    for kind, body in _DEFINITION_BODIES.items():
        what = kind[:-1]
        request_body = {"required": True, "content": {"application/json": {"schema": body}}}
        paths[f"/dashboard/api/v1/{kind}"] = {
            "get": _panel_path(_panel(kind), sites)["get"],
            "post": {
                "summary": f"Save a new {what}",
                "operationId": f"create_{what}",
                "parameters": [site],
                "requestBody": request_body,
                "responses": _with_errors({"201": {"description": f"the saved {what} with its id"}, **changes}),
            },
        }
        paths[f"/dashboard/api/v1/{kind}/{{ident}}"] = {
            "get": {
                "summary": f"One {what}",
                "operationId": f"read_{what}",
                "parameters": [site, ident],
                "responses": _with_errors({"200": {"description": f"the {what}"}}),
            },
            "put": {
                "summary": f"Change a {what}",
                "operationId": f"change_{what}",
                "parameters": [site, ident],
                "requestBody": request_body,
                "responses": _with_errors({"200": {"description": f"the saved {what}"}, **changes}),
            },
            "delete": {
                "summary": f"Delete a {what}",
                "operationId": f"delete_{what}",
                "parameters": [site, ident],
                "responses": _with_errors({"200": {"description": "{deleted: id}"}, **changes}),
            },
        }
    return paths


_GOAL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "kind"],
    "properties": {
        "name": {"type": "string", "maxLength": 100},
        "kind": {"type": "string", "enum": ["page", "event", "custom_event", "matomo_goal", "duration", "pages"]},
        "match": {
            "type": "string",
            "enum": ["exact", "prefix", "pattern"],
            "description": "page goals (default exact)",
        },
        "value": {
            "type": ["string", "integer"],
            "description": "page path, prefix or RE2 pattern (searched in the path "
            "and query); custom event key; Matomo goal id; seconds (duration) or page views (pages)",
        },
        "event_category": {"type": "string"},
        "event_action": {"type": "string"},
        "event_name": {"type": "string"},
        "revenue": {"type": "number", "minimum": 0, "description": "revenue per conversion"},
    },
}
_FUNNEL_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "steps"],
    "properties": {
        "name": {"type": "string", "maxLength": 100},
        "window_seconds": {
            "type": "integer",
            "minimum": 0,
            "maximum": 86400,
            "description": "the whole funnel within this many seconds of its first step (0: the visit)",
        },
        "steps": {
            "type": "array",
            "minItems": 2,
            "maxItems": 10,
            "items": {
                "type": "object",
                "properties": {
                    "kind": {"type": "string", "enum": ["page", "event", "custom_event", "matomo_goal"]},
                    "match": {"type": "string", "enum": ["exact", "prefix", "pattern"]},
                    "value": {"type": "string"},
                    "event_category": {"type": "string"},
                    "event_action": {"type": "string"},
                    "event_name": {"type": "string"},
                    "label": {"type": "string"},
                    "optional": {"type": "boolean", "description": "not for the first or last step"},
                },
            },
        },
    },
}


def definitions_paths(sites: Sequence[Site]) -> dict[str, Any]:
    """Goals and funnels: list, create, read, replace, delete (dashboards/goal_funnel_api.py)."""
    site = _common(sites)[0]
    ident = {"name": "id", "in": "path", "required": True, "schema": {"type": "string", "pattern": "^[0-9a-f]{12}$"}}
    changes = {
        "403": {"description": "not a site admin, or the session's CSRF token missing"},
        "404": {"description": "unknown site or id"},
    }
    paths: dict[str, Any] = {}
    for kind, schema in (("goals", _GOAL_SCHEMA), ("funnels", _FUNNEL_SCHEMA)):
        body = {"required": True, "content": {"application/json": {"schema": schema}}}
        paths[f"/dashboard/api/v1/definitions/{kind}"] = {
            "get": {
                "summary": f"The site's {kind}",
                "operationId": f"list_{kind}",
                "parameters": [site],
                "responses": _with_errors({"200": {"description": f"{{site, {kind}: [...]}}"}, "404": changes["404"]}),
            },
            "post": {
                "summary": f"Create one of the site's {kind}",
                "operationId": f"create_{kind}",
                "parameters": [site],
                "requestBody": body,
                "responses": _with_errors({"201": {"description": "created, with its id"}, **changes}),
            },
        }
        paths[f"/dashboard/api/v1/definitions/{kind}/{{id}}"] = {
            "get": {
                "summary": f"One of the site's {kind}",
                "operationId": f"get_{kind}",
                "parameters": [site, ident],
                "responses": _with_errors({"200": {"description": "the definition"}, "404": changes["404"]}),
            },
            "put": {
                "summary": "Replace it",
                "operationId": f"update_{kind}",
                "parameters": [site, ident],
                "requestBody": body,
                "responses": _with_errors({"200": {"description": "saved"}, **changes}),
            },
            "delete": {
                "summary": "Delete it",
                "operationId": f"delete_{kind}",
                "parameters": [site, ident],
                "responses": _with_errors({"200": {"description": "deleted"}, **changes}),
            },
        }
    return paths


def _panel(name: str) -> Panel:
    from dashboards.queries import PANELS

    return PANELS[name]


def openapi_document(sites: Sequence[Site]) -> dict[str, Any]:
    from dashboards import accounts_web
    from dashboards.queries import PANELS
    from dashboards.reports import web as reports_web

    paths: dict[str, Any] = {}
    for panel in PANELS.values():
        paths[f"/dashboard/api/v1/{panel.name}"] = _panel_path(panel, sites)
        paths[f"/dashboard/api/v1/{panel.name}.csv"] = {
            "get": dict(
                _panel_path(panel, sites)["get"], operationId=f"{panel.name}_csv", summary=f"{panel.title} (CSV)"
            )
        }
    id_param = _parameter(
        "recording", "recording id (1-16 hex digits)", {"type": "string", "pattern": "^[0-9a-fA-F]{1,16}$"}, True
    )
    site_param = _common(sites)[0]
    paths["/dashboard/api/v1/recording"] = {
        "get": {
            "summary": "One recording's masked Clarity payloads, by page view, for clarity-decode/-visualize",
            "operationId": "recording",
            "parameters": [site_param, id_param],
            "responses": _with_errors(
                {"200": {"description": "pages with their payloads"}, "404": {"description": "no such recording"}}
            ),
        }
    }
    paths["/dashboard/api/v1/recording/marks"] = {
        "post": {
            "summary": "Favourite or label a recording (kept 13 months while marked); "
            "needs X-CSRF-Token with a session",
            "operationId": "recording_marks",
            "parameters": [site_param, id_param],
            "requestBody": {
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "properties": {
                                "favourite": {"type": "boolean"},
                                "labels": {"type": "array", "items": {"type": "string"}},
                            },
                        }
                    }
                }
            },
            "responses": _with_errors(
                {
                    "200": {"description": "the marks now stored"},
                    "403": {"description": "CSRF token missing"},
                    "404": {"description": "no such recording"},
                }
            ),
        }
    }
    paths["/dashboard/api/v1/snapshot"] = {
        "get": {
            "summary": "Payloads of the latest recorded view of a page (heatmap background)",
            "operationId": "snapshot",
            "parameters": _panel_path(PANELS["heatmap_clicks"], sites)["get"]["parameters"],
            "responses": _with_errors({"200": {"description": "payloads"}, "404": {"description": "no recorded view"}}),
        }
    }
    paths.update(_definition_paths(sites))
    paths.update(definitions_paths(sites))
    paths["/dashboard/api/v1/sites"] = {
        "get": {
            "summary": "Configured sites",
            "operationId": "sites",
            "responses": _with_errors({"200": {"description": "id, name, timezone"}}),
        }
    }
    paths.update(accounts_web.openapi_paths(ERRORS))
    paths.update(reports_web.openapi_paths(ERRORS))
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Privacy-first analytics dashboards API",
            "version": "1",
            "description": "Every dashboard panel as JSON or CSV. Authenticate with a log-in session "
            "or `Authorization: Bearer wat_…` (python -m dashboards create-token NAME).",
        },
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "wa_dashboard"},
            }
        },
        "security": [{"bearer": []}, {"session": []}],
        "paths": paths,
    }
