"""`POST /dashboard/admin/accounts`: the accounts CLI's door into a running collector.

The embedded engine lets one process hold the data folder, so while the collector runs,
`python -m dashboards create-user|set-password|create-token|revoke-token` sends its request here
(bearer COLLECTOR_ADMIN_TOKEN, as the retention job does) and the same code runs in the collector.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from aiohttp import web

from collector.core.keys import SETTINGS, STORAGE
from dashboards.accounts import TOKEN_PREFIX, Accounts
from dashboards.errors import BadQuery, Unauthorized
from dashboards.keys import ACCOUNTS

ACTIONS = ("create-user", "set-password", "create-token", "revoke-token")


def account_action(accounts: Accounts, request: dict[str, Any]) -> dict[str, Any]:
    """Run one accounts action (blocking); the CLI calls this directly when it holds the folder."""
    action, name = request.get("action"), str(request.get("name", ""))
    if action in ("create-user", "set-password"):
        password = str(request.get("password", ""))
        accounts.save_analyst(name, password)
        return {"ok": True, "action": action, "name": name}
    if action == "create-token":
        return {"ok": True, "action": action, "name": name,
                "token": accounts.create_token(name, str(request.get("label", "")))}
    if action == "revoke-token":
        token_id = name.removeprefix(TOKEN_PREFIX).split("_")[0]  # the whole token or its id
        accounts.revoke_token(token_id)
        return {"ok": True, "action": action, "token_id": token_id}
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
    storage = request.config_dict[STORAGE]
    result = await storage.run(account_action, request.app[ACCOUNTS], body)
    return web.Response(body=orjson.dumps(result), content_type="application/json")


def setup_routes(app: web.Application) -> None:
    app.router.add_post("/admin/accounts", accounts_request)
