"""The reports page (/dashboard/reports), its JSON API and the unsubscribe link of the e-mails.

An analyst schedules reports of the sites they can see, to any address (their own, a team list);
they see and delete their own schedules and their send log (an accounts admin sees all). The
unsubscribe link carries an HMAC of the schedule id, so it works without a log-in and cannot be
forged for another schedule; the GET shows a button (mail scanners follow links), the POST (also
RFC 8058 one-click from the List-Unsubscribe header) deletes the schedule.
"""

from __future__ import annotations

import hmac
from typing import Any

import orjson
from aiohttp import web

from collector.core.keys import SETTINGS, SITES, STORAGE
from dashboards.errors import BadQuery, NotFound
from dashboards.keys import ANALYST
from dashboards.pages import _page, render
from dashboards.reports.periods import FREQUENCIES
from dashboards.reports.scheduler import unsubscribe_signature
from dashboards.reports.store import Reports, Schedule, check_id
from dashboards.roles import identity, require_site_view

API = "/api/v1/reports"


async def _run(request: web.Request, method: str, *args: Any) -> Any:
    storage = request.config_dict[STORAGE]
    return await storage.run(getattr(Reports(storage), method), *args)


async def _visible(request: web.Request) -> list[Schedule]:
    """Own schedules; every schedule for an analyst who manages accounts."""
    who = identity(request)
    found: list[Schedule] = await _run(request, "schedules", None if who.manages_accounts else who.analyst)
    return found


async def _create(request: web.Request, site: str, frequency: str, email: str) -> Schedule:
    if request.config_dict[SITES].get(site) is None:
        raise NotFound("unknown site")
    require_site_view(request, site)
    schedule: Schedule = await _run(request, "create", request[ANALYST], site, frequency, email)
    return schedule


async def _owned(request: web.Request, schedule_id: str) -> Schedule:
    schedule: Schedule = await _run(request, "get", schedule_id)
    who = identity(request)
    if schedule.analyst != who.analyst and not who.manages_accounts:
        raise NotFound("no such report schedule")
    return schedule


# --- page -----------------------------------------------------------------------------------------


async def reports_page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    schedules = await _visible(request)
    sends = await _run(request, "sends", [s.id for s in schedules])
    by_id = {s.id: s for s in schedules}
    response = _page(
        request,
        "reports.html",
        "reports",
        schedules=schedules,
        sends=sends,
        by_id=by_id,
        frequencies=FREQUENCIES,
        error=error,
        smtp=bool(request.config_dict[SETTINGS].smtp_host),
    )
    response.set_status(status)
    return response


async def reports_get(request: web.Request) -> web.Response:
    return await reports_page(request)


async def reports_post(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    try:
        await _create(request, str(form.get("site", "")), str(form.get("frequency", "")), str(form.get("email", "")))
    except BadQuery as error:
        return await reports_page(request, error=str(error), status=400)
    raise web.HTTPFound(f"/dashboard/reports?site={form.get('site', '')}")


async def delete_post(request: web.Request) -> web.StreamResponse:
    schedule = await _owned(request, str((await request.post()).get("id", "")))
    await _run(request, "delete", schedule.id)
    raise web.HTTPFound("/dashboard/reports")


# --- JSON API -------------------------------------------------------------------------------------


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(body=orjson.dumps(data), status=status, content_type="application/json")


async def api_list(request: web.Request) -> web.Response:
    return _json({"schedules": [s.as_dict() for s in await _visible(request)]})


async def api_create(request: web.Request) -> web.Response:
    """{"site", "frequency": "weekly"|"monthly", "email"} → 201 with the schedule."""
    try:
        body = orjson.loads(await request.read())
    except orjson.JSONDecodeError as exc:
        raise BadQuery("body must be a JSON object") from exc
    if not isinstance(body, dict):
        raise BadQuery("body must be a JSON object")
    schedule = await _create(
        request, str(body.get("site", "")), str(body.get("frequency", "")), str(body.get("email", ""))
    )
    return _json(schedule.as_dict(), 201)


async def api_delete(request: web.Request) -> web.Response:
    schedule = await _owned(request, request.match_info["id"])
    await _run(request, "delete", schedule.id)
    return _json({"deleted": schedule.id})


async def api_sends(request: web.Request) -> web.Response:
    schedules = await _visible(request)
    return _json({"sends": await _run(request, "sends", [s.id for s in schedules])})


# --- unsubscribe (public, signed) -----------------------------------------------------------------


async def _signed(request: web.Request, values: Any) -> Schedule | None:
    """The schedule named by a valid signature (None when it is already gone); a bad signature is 404."""
    schedule_id, signature = str(values.get("id", "")), str(values.get("sig", ""))
    expected = unsubscribe_signature(request.config_dict[SETTINGS].secret_key, schedule_id)
    if not hmac.compare_digest(signature.encode(), expected.encode()):
        raise NotFound("this unsubscribe link is not valid")
    check_id(schedule_id)
    found: list[Schedule] = await _run(request, "schedules", None, schedule_id)
    return found[0] if found else None


def _unsubscribe_page(request: web.Request, **values: Any) -> web.Response:
    return render(request, "unsubscribe.html", **values)


async def unsubscribe_get(request: web.Request) -> web.Response:
    schedule = await _signed(request, request.query)
    return _unsubscribe_page(
        request, schedule=schedule, done=False, id=request.query.get("id", ""), sig=request.query.get("sig", "")
    )


async def unsubscribe_post(request: web.Request) -> web.Response:
    values = {**request.query, **{k: str(v) for k, v in (await request.post()).items()}}
    schedule = await _signed(request, values)
    if schedule is not None:
        await _run(request, "delete", schedule.id)
    return _unsubscribe_page(request, schedule=schedule, done=True, id="", sig="")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/reports", reports_get)
    app.router.add_post("/reports", reports_post)
    app.router.add_post("/reports/delete", delete_post)
    app.router.add_get("/reports/unsubscribe", unsubscribe_get)
    app.router.add_post("/reports/unsubscribe", unsubscribe_post)
    app.router.add_get(f"{API}/schedules", api_list)
    app.router.add_post(f"{API}/schedules", api_create)
    app.router.add_delete(f"{API}/schedules/{{id}}", api_delete)
    app.router.add_get(f"{API}/sends", api_sends)


def openapi_paths(errors: dict[str, Any]) -> dict[str, Any]:
    """The reports API in the OpenAPI document."""
    listed = {"type": "object"}
    return {
        f"/dashboard{API}/schedules": {
            "get": {
                "summary": "Your e-mail report schedules (an accounts admin: all)",
                "operationId": "report_schedules",
                "responses": {
                    **errors,
                    "200": {"description": "schedules", "content": {"application/json": {"schema": listed}}},
                },
            },
            "post": {
                "summary": "Schedule a report: {site, frequency: weekly|monthly, email}",
                "operationId": "create_report_schedule",
                "responses": {
                    **errors,
                    "201": {"description": "the schedule"},
                    "403": {"description": "no role on the site, or no CSRF token"},
                    "404": {"description": "unknown site"},
                },
            },
        },
        f"/dashboard{API}/schedules/{{id}}": {
            "delete": {
                "summary": "Delete one of your schedules",
                "operationId": "delete_report_schedule",
                "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {**errors, "200": {"description": "deleted"}, "404": {"description": "no such schedule"}},
            },
        },
        f"/dashboard{API}/sends": {
            "get": {
                "summary": "Send log of your schedules, newest first",
                "operationId": "report_sends",
                "responses": {
                    **errors,
                    "200": {"description": "sends", "content": {"application/json": {"schema": listed}}},
                },
            },
        },
    }
