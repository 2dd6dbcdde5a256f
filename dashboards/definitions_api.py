"""Create, read, change and delete saved segments and annotations over the API.

    POST   /dashboard/api/v1/{segments|annotations}?site=…        201 + the saved definition
    GET    /dashboard/api/v1/{segments|annotations}/<id>?site=…   200 (the lists are panels)
    PUT    /dashboard/api/v1/{segments|annotations}/<id>?site=…   200 + the saved definition
    DELETE /dashboard/api/v1/{segments|annotations}/<id>?site=…   200 {"deleted": id}

An unknown site or id is a 404, an invalid body a 400 naming the field; changes pass
`require_site_admin` and, with a session cookie, the CSRF check of the auth middleware.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import orjson
from aiohttp import web

from collector.core.keys import SITES, STORAGE
from dashboards import chart_annotations, segments
from dashboards.definitions import DefinitionTable
from dashboards.errors import BadQuery, NotFound
from dashboards.export import cell
from dashboards.keys import ANALYST
from dashboards.roles import require_site_admin
from ingest_schema.storage import Storage

MAX_BODY = 64 * 1024


@dataclass(frozen=True)
class Kind:
    store: DefinitionTable
    save: Callable[[Storage, str, str | None, Any, str], dict[str, Any]]
    record: Callable[[dict[str, Any]], dict[str, Any]]


KINDS = {
    "segments": Kind(segments.STORE, segments.save_segment, segments.segment_record),
    "annotations": Kind(
        chart_annotations.STORE, chart_annotations.save_annotation, chart_annotations.annotation_record
    ),
}


def _site(request: web.Request) -> str:
    site = request.query.get("site", "")
    if request.config_dict[SITES].get(site) is None:
        raise NotFound(f"unknown site {site[:40]!r}")
    return site


def _kind(request: web.Request) -> Kind:
    return KINDS[request.match_info["kind"]]


async def _body(request: web.Request) -> Any:
    raw = await request.read()  # bounded by the app's client_max_size
    if len(raw) > MAX_BODY:
        raise BadQuery(f"body larger than {MAX_BODY} bytes")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadQuery("body must be JSON") from exc


def _answer(data: dict[str, Any], status: int = 200) -> web.Response:
    body = orjson.dumps({k: cell(v) for k, v in data.items()})
    return web.Response(body=body, status=status, content_type="application/json")


async def create(request: web.Request) -> web.Response:
    site, kind = _site(request), _kind(request)
    require_site_admin(request, site)
    body = await _body(request)
    storage = request.config_dict[STORAGE]
    return _answer(await storage.run(kind.save, storage, site, None, body, request[ANALYST]), 201)


async def read(request: web.Request) -> web.Response:
    site, kind = _site(request), _kind(request)
    storage = request.config_dict[STORAGE]
    row = await storage.run(kind.store.one, storage, site, request.match_info["ident"])
    return _answer(kind.record(row))


async def change(request: web.Request) -> web.Response:
    site, kind = _site(request), _kind(request)
    require_site_admin(request, site)
    body = await _body(request)
    storage = request.config_dict[STORAGE]
    return _answer(await storage.run(kind.save, storage, site, request.match_info["ident"], body, request[ANALYST]))


async def delete(request: web.Request) -> web.Response:
    site, kind = _site(request), _kind(request)
    require_site_admin(request, site)
    storage = request.config_dict[STORAGE]
    ident = request.match_info["ident"]
    await storage.run(kind.store.delete, storage, site, ident, request[ANALYST])
    return _answer({"deleted": ident})


def setup_routes(app: web.Application) -> None:
    kinds = "{kind:segments|annotations}"
    app.router.add_post(f"/api/v1/{kinds}", create)
    app.router.add_get(f"/api/v1/{kinds}/{{ident}}", read)
    app.router.add_put(f"/api/v1/{kinds}/{{ident}}", change)
    app.router.add_delete(f"/api/v1/{kinds}/{{ident}}", delete)
