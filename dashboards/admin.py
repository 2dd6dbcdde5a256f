"""`POST /dashboard/admin/accounts`: the accounts CLI's door into a running collector.

The embedded engine lets one process hold the data folder, so while the collector runs,
`python -m dashboards <action> …` sends its request here (bearer COLLECTOR_ADMIN_TOKEN, as the
retention job does) and the same code runs in the collector. Refusals keep their status (400 bad
input, 404 unknown analyst, site or token, 409 duplicate), so the CLI can tell them apart.
"""

from __future__ import annotations

import asyncio
import hmac
from datetime import datetime, timezone
from typing import Any, Iterable

import orjson
from aiohttp import web

from collector.core.keys import SETTINGS, SITES, STORAGE
from dashboards.accounts import ALL_SITES, Accounts, check_name, check_role, parse_roles
from dashboards.errors import BadQuery, NotFound, Unauthorized
from dashboards.keys import ACCOUNTS
from dashboards.reports.scheduler import deps_of, send_due

ACTIONS = (
    "create-user",
    "set-password",
    "disable-user",
    "enable-user",
    "delete-user",
    "set-role",
    "create-token",
    "revoke-token",
    "list-users",
    "list-tokens",
    "send-reports",
)


def _sites(request: dict[str, Any]) -> list[str]:
    sites = request.get("sites", [])
    if not isinstance(sites, list) or not all(isinstance(s, str) for s in sites):
        raise BadQuery("sites must be a list of site ids")
    return sites


def account_action(accounts: Accounts, request: dict[str, Any], known_sites: Iterable[str]) -> dict[str, Any]:
    """Run one accounts action (blocking); the CLI calls this directly when it holds the folder."""
    action, name = request.get("action"), str(request.get("name", ""))
    done: dict[str, Any] = {"ok": True, "action": action}
    if action == "create-user":
        roles = parse_roles(_sites(request), str(request.get("role", "admin")), known_sites)
        accounts.create_analyst(name, str(request.get("password", "")), roles)
        return {**done, "name": name, "roles": roles}
    if action == "set-password":
        accounts.set_password(name, str(request.get("password", "")))
        return {**done, "name": name}
    if action in ("disable-user", "enable-user"):
        accounts.set_disabled(name, action == "disable-user")
        return {**done, "name": name}
    if action == "delete-user":
        accounts.delete_analyst(name)
        return {**done, "name": name}
    if action == "set-role":
        role = str(request.get("role", ""))
        sites = _sites(request) or [ALL_SITES]
        roles = (
            {s: "" for s in parse_roles(sites, "view", known_sites)}
            if role == "none"
            else parse_roles(sites, check_role(role), known_sites)
        )
        accounts.set_roles(name, roles)
        return {**done, "name": name, "roles": accounts.roles_of(name)}
    if action == "create-token":
        return {**done, "name": name, "token": accounts.create_token(name, str(request.get("label", "")))}
    if action == "revoke-token":
        return {**done, "token_id": accounts.revoke_token(name)}
    if action == "list-users":
        return {**done, "analysts": accounts.list_analysts()}
    if action == "list-tokens":
        if name:
            check_name(name)
            if not any(a["name"] == name for a in accounts.list_analysts()):
                raise NotFound(f"no analyst named {name!r}")
        return {**done, "tokens": accounts.list_tokens(name or None)}
    raise BadQuery(f"action must be one of {', '.join(ACTIONS)}")


async def accounts_request(request: web.Request) -> web.Response:
    expected = request.config_dict[SETTINGS].admin_token
    supplied = request.headers.get("Authorization", "")
    if not expected or not hmac.compare_digest(supplied.encode(), f"Bearer {expected}".encode()):
        raise Unauthorized("admin token required")
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise BadQuery("body is not JSON") from exc
    if not isinstance(body, dict):
        raise BadQuery("body must be a JSON object")
    if body.get("action") == "send-reports":  # needs the running collector's parts, not only accounts
        deps = deps_of(request.config_dict, request.app)
        sent = await asyncio.to_thread(send_due, deps, datetime.now(timezone.utc), bool(body.get("now")))
        return web.Response(
            body=orjson.dumps({"ok": True, "action": "send-reports", "reports": sent}), content_type="application/json"
        )
    storage = request.config_dict[STORAGE]
    known = [site.id for site in request.config_dict[SITES].all()]
    result = await storage.run(account_action, request.app[ACCOUNTS], body, known)
    return web.Response(body=orjson.dumps(result), content_type="application/json")


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/admin/accounts", accounts_request)
