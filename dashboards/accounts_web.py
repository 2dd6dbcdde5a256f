"""Accounts in the browser and over the API: invite, disable, enable and delete analysts, set their roles,
list and revoke API tokens.

Only an analyst who manages accounts (admin of every site, `roles.require_account_admin`) reaches the
accounts page and `/api/v1/accounts/…`; every analyst lists and revokes their own tokens on the tokens
page. An invitation creates the analyst with a generated password shown once to the inviting admin,
who hands it over; the analyst changes nothing else to start. Pages are plain forms (POST + CSRF
field, then a redirect), the API is JSON; both call the same `Accounts` methods.
"""

from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from collector.core.errors import PayloadError
from collector.core.keys import SITES, STORAGE
from dashboards.accounts import ALL_SITES, ROLES, generated_password, parse_roles, token_id_of
from dashboards.errors import BadQuery, NotFound
from dashboards.keys import ACCOUNTS, ANALYST
from dashboards.pages import _page
from dashboards.roles import require_account_admin

API = "/api/v1/accounts"


def _known_sites(request: web.Request) -> list[str]:
    return [site.id for site in request.config_dict[SITES].all()]


async def _call(request: web.Request, method: str, *args: Any) -> Any:
    accounts = request.app[ACCOUNTS]
    return await request.config_dict[STORAGE].run(getattr(accounts, method), *args)


async def invite(request: web.Request, name: str, role: str, sites: list[str]) -> str:
    """Create an analyst with a generated password (returned, to be shown once)."""
    roles = parse_roles(sites, role, _known_sites(request))
    password = generated_password()
    await _call(request, "create_analyst", name.strip(), password, roles)
    return password


# --- pages ----------------------------------------------------------------------------------------


async def accounts_page(
    request: web.Request, invited: dict[str, str] | None = None, error: str = "", status: int = 200
) -> web.Response:
    require_account_admin(request)
    response = _page(
        request,
        "accounts.html",
        "accounts",
        analysts=await _call(request, "list_analysts"),
        tokens=await _call(request, "list_tokens", None),
        roles=ROLES,
        all_sites=ALL_SITES,
        site_ids=_known_sites(request),
        invited=invited or {},
        error=error,
    )
    response.set_status(status)
    return response


async def accounts_get(request: web.Request) -> web.Response:
    return await accounts_page(request)


async def invite_form(request: web.Request) -> web.Response:
    require_account_admin(request)
    form = await request.post()
    name, role = str(form.get("name", "")), str(form.get("role", "view"))
    sites = [str(s) for s in form.getall("sites", [])]
    try:
        password = await invite(request, name, role, sites)
    except PayloadError as error:
        return await accounts_page(request, error=str(error), status=error.status)
    return await accounts_page(request, invited={"name": name.strip(), "password": password})


def _back() -> web.HTTPFound:
    return web.HTTPFound("/dashboard/accounts")


async def analyst_form(request: web.Request) -> web.StreamResponse:
    """disable, enable or delete the analyst named in the form."""
    require_account_admin(request)
    action = request.match_info["action"]
    name = str((await request.post()).get("name", ""))
    if action == "delete" and name == request[ANALYST]:
        return await accounts_page(request, error="you cannot delete yourself", status=400)
    if action == "delete":
        await _call(request, "delete_analyst", name)
    else:
        await _call(request, "set_disabled", name, action == "disable")
    raise _back()


async def revoke_form(request: web.Request) -> web.StreamResponse:
    require_account_admin(request)
    await _call(request, "revoke_token", str((await request.post()).get("token_id", "")))
    raise _back()


async def revoke_own_token(request: web.Request) -> web.StreamResponse:
    """Any analyst revokes one of their own tokens (the tokens page)."""
    token_id = token_id_of(str((await request.post()).get("token_id", "")))
    if await _call(request, "token_owner", token_id) != request[ANALYST]:
        raise NotFound(f"no active token with id {token_id}")
    await _call(request, "revoke_token", token_id)
    raise web.HTTPFound("/dashboard/tokens")


# --- JSON API -------------------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def _body(request: web.Request) -> dict[str, Any]:
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise BadQuery("body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise BadQuery("body must be a JSON object")
    return body


async def api_analysts(request: web.Request) -> web.Response:
    require_account_admin(request)
    return _json({"analysts": await _call(request, "list_analysts")})


async def api_invite(request: web.Request) -> web.Response:
    """{"name", "role": "view"|"admin", "sites": [...] (empty: every site)} → 201 with the password, once."""
    require_account_admin(request)
    body = await _body(request)
    sites = body.get("sites", [])
    if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
        raise BadQuery("sites must be a list of site ids")
    name = str(body.get("name", ""))
    password = await invite(request, name, str(body.get("role", "view")), sites)
    return _json({"name": name.strip(), "password": password, "roles": await _call(request, "roles_of", name)}, 201)


async def api_change(request: web.Request) -> web.Response:
    """{"disabled": bool} and/or {"roles": {"site": "view"|"admin"|""}} for one analyst."""
    require_account_admin(request)
    name, body = request.match_info["name"], await _body(request)
    if not {"disabled", "roles"} & set(body):
        raise BadQuery("send disabled and/or roles")
    if not isinstance(body.get("disabled", False), bool):
        raise BadQuery("disabled must be true or false")
    roles = body.get("roles", {})
    if not isinstance(roles, dict) or not all(v in (*ROLES, "") for v in roles.values()):
        raise BadQuery("roles must map site ids to view, admin or '' (none)")
    unknown = sorted(set(roles) - set(_known_sites(request)) - {ALL_SITES})
    if unknown:
        raise NotFound(f"unknown site {str(unknown[0])[:64]!r}")
    if "disabled" in body:  # everything is checked before the first write
        await _call(request, "set_disabled", name, body["disabled"])
    if roles:
        await _call(request, "set_roles", name, roles)
    found = [a for a in await _call(request, "list_analysts") if a["name"] == name]
    return _json(found[0])


async def api_delete(request: web.Request) -> web.Response:
    require_account_admin(request)
    name = request.match_info["name"]
    if name == request[ANALYST]:
        raise BadQuery("you cannot delete yourself")
    await _call(request, "delete_analyst", name)
    return _json({"deleted": name})


async def api_tokens(request: web.Request) -> web.Response:
    require_account_admin(request)
    return _json({"tokens": await _call(request, "list_tokens", request.query.get("analyst") or None)})


async def api_revoke(request: web.Request) -> web.Response:
    require_account_admin(request)
    return _json({"revoked": await _call(request, "revoke_token", request.match_info["token_id"])})


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/accounts", accounts_get)
    app.router.add_post("/accounts/invite", invite_form)
    app.router.add_post("/accounts/revoke-token", revoke_form)
    app.router.add_post("/accounts/{action:disable|enable|delete}", analyst_form)
    app.router.add_post("/tokens/revoke", revoke_own_token)
    app.router.add_get(f"{API}/analysts", api_analysts)
    app.router.add_post(f"{API}/analysts", api_invite)
    app.router.add_patch(f"{API}/analysts/{{name}}", api_change)
    app.router.add_delete(f"{API}/analysts/{{name}}", api_delete)
    app.router.add_get(f"{API}/tokens", api_tokens)
    app.router.add_delete(f"{API}/tokens/{{token_id}}", api_revoke)


def openapi_paths(errors: dict[str, Any]) -> dict[str, Any]:
    """The accounts API in the OpenAPI document (the accounts admin's operations)."""
    forbidden = {"403": {"description": "not an admin of every site, or no CSRF token with a session"}}
    listed = {"type": "object"}
    name = {"name": "name", "in": "path", "required": True, "schema": {"type": "string"}}
    return {
        f"/dashboard{API}/analysts": {
            "get": {
                "summary": "Analysts with their roles by site ('*': every site)",
                "operationId": "analysts",
                "responses": {
                    **errors,
                    **forbidden,
                    "200": {"description": "analysts", "content": {"application/json": {"schema": listed}}},
                },
            },
            "post": {
                "summary": "Invite an analyst: {name, role, sites}; the generated password is answered once",
                "operationId": "invite_analyst",
                "responses": {
                    **errors,
                    **forbidden,
                    "201": {"description": "created"},
                    "404": {"description": "unknown site"},
                    "409": {"description": "name exists"},
                },
            },
        },
        f"/dashboard{API}/analysts/{{name}}": {
            "patch": {
                "summary": "Disable/enable ({disabled}) or change roles ({roles: {site: role}})",
                "operationId": "change_analyst",
                "parameters": [name],
                "responses": {
                    **errors,
                    **forbidden,
                    "200": {"description": "the analyst"},
                    "404": {"description": "unknown analyst or site"},
                },
            },
            "delete": {
                "summary": "Delete an analyst, their roles and tokens",
                "operationId": "delete_analyst",
                "parameters": [name],
                "responses": {
                    **errors,
                    **forbidden,
                    "200": {"description": "deleted"},
                    "404": {"description": "unknown analyst"},
                },
            },
        },
        f"/dashboard{API}/tokens": {
            "get": {
                "summary": "Active API tokens (never their secret)",
                "operationId": "tokens",
                "parameters": [{"name": "analyst", "in": "query", "required": False, "schema": {"type": "string"}}],
                "responses": {
                    **errors,
                    **forbidden,
                    "200": {"description": "tokens", "content": {"application/json": {"schema": listed}}},
                },
            },
        },
        f"/dashboard{API}/tokens/{{token_id}}": {
            "delete": {
                "summary": "Revoke a token",
                "operationId": "revoke_token",
                "parameters": [{"name": "token_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    **errors,
                    **forbidden,
                    "200": {"description": "revoked"},
                    "404": {"description": "unknown token"},
                },
            },
        },
    }
