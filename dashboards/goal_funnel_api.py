"""The JSON API of stored definitions: list, read, create, change and delete goals and funnels.

    GET    /dashboard/api/v1/definitions/{goals|funnels}?site=…          every live definition of the site
    POST   /dashboard/api/v1/definitions/{goals|funnels}?site=…          create (201), body: the definition
    GET    /dashboard/api/v1/definitions/{goals|funnels}/{id}?site=…     one
    PUT    /dashboard/api/v1/definitions/{goals|funnels}/{id}?site=…     replace (the whole definition)
    DELETE /dashboard/api/v1/definitions/{goals|funnels}/{id}?site=…     delete

Unknown site or id: 404; a bad body: 400 naming the field; changes go through
`dashboards.roles.require_site_admin` (403) and, with a session cookie, need the CSRF token (auth.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import orjson
from aiohttp import web

from collector.core.keys import SITES, STORAGE
from dashboards import funnels, goals
from dashboards.errors import BadQuery, NotFound
from dashboards.goal_funnel_store import DefinitionStore
from dashboards.keys import ANALYST
from dashboards.roles import require_site_admin

PREFIX = "/api/v1/definitions"
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Kind:
    name: str  # plural, as in the path
    store: DefinitionStore
    parse: Callable[[Any], tuple[str, dict[str, Any]]]


KINDS = {
    k.name: k
    for k in (Kind("goals", goals.STORE, goals.parse_goal), Kind("funnels", funnels.STORE, funnels.parse_funnel))
}


def _kind(request: web.Request) -> Kind:
    return KINDS[request.match_info["kind"]]


def _site(request: web.Request) -> str:
    site = request.query.get("site", "")
    if not site or request.config_dict[SITES].get(site) is None:
        raise NotFound("unknown site")
    return site


async def _body(request: web.Request) -> Any:
    raw = await request.read()
    if len(raw) > MAX_BODY_BYTES:
        raise BadQuery(f"body: at most {MAX_BODY_BYTES} bytes")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadQuery("body: must be JSON") from exc


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def list_definitions(request: web.Request) -> web.Response:
    kind, site = _kind(request), _site(request)
    storage = request.config_dict[STORAGE]
    found = await storage.run(kind.store.all, storage, site)
    return _json({"site": site, kind.name: [s.document() for s in found]})


async def get_definition(request: web.Request) -> web.Response:
    kind, site = _kind(request), _site(request)
    storage = request.config_dict[STORAGE]
    stored = await storage.run(kind.store.get, storage, site, request.match_info["id"])
    return _json(stored.document())


async def create_definition(request: web.Request) -> web.Response:
    kind, site = _kind(request), _site(request)
    require_site_admin(request, site)
    name, definition = kind.parse(await _body(request))
    storage = request.config_dict[STORAGE]
    stored = await storage.run(kind.store.save, storage, site, "", name, definition, request[ANALYST])
    return _json(stored.document(), 201)


async def update_definition(request: web.Request) -> web.Response:
    kind, site = _kind(request), _site(request)
    require_site_admin(request, site)
    storage = request.config_dict[STORAGE]
    existing = await storage.run(kind.store.get, storage, site, request.match_info["id"])
    name, definition = kind.parse(await _body(request))
    stored = await storage.run(kind.store.save, storage, site, existing.id, name, definition, request[ANALYST])
    return _json(stored.document())


async def delete_definition(request: web.Request) -> web.Response:
    kind, site = _kind(request), _site(request)
    require_site_admin(request, site)
    storage = request.config_dict[STORAGE]
    await storage.run(kind.store.delete, storage, site, request.match_info["id"], request[ANALYST])
    return _json({"deleted": request.match_info["id"].strip().lower()})


def setup_routes(app: web.Application) -> None:
    """Paths of two or three segments under /api/v1, so api.py's /api/v1/{panel} never takes them."""
    kinds = "{kind:goals|funnels}"
    app.router.add_get(f"{PREFIX}/{kinds}", list_definitions)
    app.router.add_post(f"{PREFIX}/{kinds}", create_definition)
    app.router.add_get(f"{PREFIX}/{kinds}/{{id}}", get_definition)
    app.router.add_put(f"{PREFIX}/{kinds}/{{id}}", update_definition)
    app.router.add_delete(f"{PREFIX}/{kinds}/{{id}}", delete_definition)
