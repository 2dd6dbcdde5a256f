"""The JSON/CSV API: every panel at /dashboard/api/v1/<panel> (JSON) and /dashboard/api/v1/<panel>.csv,
one recording's payloads for the replay, a page's snapshot for heatmaps, and recording marks.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from collector.core.keys import SITES, STORAGE
from collector.core.sites import Site
from dashboards.errors import BadQuery, NotFound
from dashboards.export import as_csv, as_json
from dashboards.keys import STATE
from dashboards.model import Context, Panel, Query
from dashboards.openapi import openapi_document
from dashboards.queries import PANELS, panel_named, parse_query, resolve_query, run_panel
from dashboards.recordings import clean_labels, page_snapshot, recording_pages, session_hash, set_marks
from dashboards.roles import require_site_admin, visible_sites

API = "/dashboard/api/v1"


def site_of(request: web.Request, site_id: str) -> Site:
    if not site_id:
        raise BadQuery("site is required")
    site = request.config_dict[SITES].get(site_id)
    if site is None:
        raise NotFound("unknown site")
    return site


def query_of(request: web.Request, panel: Panel) -> Query:
    raw = {key: request.query[key] for key in request.query}
    site = site_of(request, raw.get("site", ""))
    return parse_query(panel, raw, site.timezone)


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def panel_data(request: web.Request) -> web.Response:
    name = request.match_info["panel"]
    csv = name.endswith(".csv") or request.query.get("format") == "csv"
    panel = panel_named(name.removesuffix(".csv"))
    if request.query.get("format", "json") not in ("json", "csv"):
        raise BadQuery("format is json or csv")
    query = query_of(request, panel)
    storage = request.config_dict[STORAGE]
    result = await storage.run(run_panel, storage, panel, query, request.app[STATE].use_view)
    if csv:
        return web.Response(
            text=as_csv(result),
            content_type="text/csv",
            charset="utf-8",
            headers={"Content-Disposition": f'attachment; filename="{panel.name}-{query.site}.csv"'},
        )
    return web.Response(body=as_json(panel, query, result), content_type="application/json")


async def sites(request: web.Request) -> web.Response:
    return json_response([{"id": s.id, "name": s.name, "timezone": s.timezone} for s in visible_sites(request)])


async def recording(request: web.Request) -> web.Response:
    site = site_of(request, request.query.get("site", ""))
    session = session_hash(request.query.get("recording", ""))
    storage = request.config_dict[STORAGE]
    pages = await storage.run(recording_pages, storage, site.id, session)
    return json_response({"site": site.id, "recording": f"{session:016x}", "pages": pages})


async def snapshot(request: web.Request) -> web.Response:
    """The payloads of one recorded view of a page (the heatmap's background)."""
    storage = request.config_dict[STORAGE]
    query = await storage.run(resolve_query, storage, query_of(request, PANELS["heatmap_clicks"]))
    context = Context(storage.database, request.app[STATE].use_view)
    payloads = await storage.run(page_snapshot, storage, context, query)
    return json_response({"site": query.site, "page": query.filters.page, "payloads": payloads})


async def marks(request: web.Request) -> web.Response:
    site = site_of(request, request.query.get("site", ""))
    require_site_admin(request, site.id)
    session = session_hash(request.query.get("recording", ""))
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise BadQuery('body must be JSON: {"favourite": true, "labels": ["…"]}') from exc
    if not isinstance(body, dict) or not isinstance(body.get("favourite", False), bool):
        raise BadQuery("favourite must be true or false")
    labels = clean_labels(body.get("labels", []))
    storage = request.config_dict[STORAGE]
    result = await storage.run(set_marks, storage, site.id, session, bool(body.get("favourite")), labels)
    return json_response(result)


async def openapi(request: web.Request) -> web.Response:
    return json_response(openapi_document(request.config_dict[SITES].all()))


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/api/openapi.json", openapi)
    app.router.add_get("/api/v1/sites", sites)
    app.router.add_get("/api/v1/recording", recording)
    app.router.add_post("/api/v1/recording/marks", marks)
    app.router.add_get("/api/v1/snapshot", snapshot)
    app.router.add_get("/api/v1/{panel}", panel_data)
