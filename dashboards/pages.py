"""The HTML pages: log-in, traffic, heatmaps, recordings, replay and API tokens.

Pages are shells rendered with Jinja2 (autoescaped); their scripts fetch the panels from the JSON
API with the session cookie, so pages and API show the same numbers. No inline script: data for a
script travels in data-* attributes, which the Content-Security-Policy allows.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from collector.core.keys import SITES, STORAGE
from dashboards.accounts import check_name
from dashboards.auth import COOKIE, LOGIN_COOKIE, login_token, set_login_cookie, set_session_cookie
from dashboards.errors import BadQuery
from dashboards.keys import ACCOUNTS, ANALYST, SESSION_COOKIE_VALUE, STATE
from dashboards.model import FILTER_NAMES
from dashboards.periods import PERIODS
from dashboards.recordings import RECORDING_OPTIONS
from dashboards.roles import identity, visible_sites
from dashboards.segments import FIELD_GROUPS as SEGMENT_FIELDS

PERIOD_LABELS = {
    "today": "Today",
    "yesterday": "Yesterday",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "month": "This month",
    "last_month": "Last month",
    "12mo": "Last 12 months",
    "custom": "Custom",
}
NAV = (
    ("traffic", "Traffic"),
    ("insights", "Insights"),
    ("goals", "Goals"),
    ("funnels", "Funnels"),
    ("visitors", "Visitor log"),
    ("heatmaps", "Heatmaps"),
    ("recordings", "Recordings"),
    ("segments", "Segments"),
    ("reports", "Reports"),
    ("tokens", "API tokens"),
)
#: shown only to analysts who manage accounts (admin of every site)
ADMIN_NAV = (("accounts", "Accounts"),)


def render(request: web.Request, template: str, **values: Any) -> web.Response:
    env = request.app[STATE].templates
    return web.Response(text=env.get_template(template).render(**values), content_type="text/html")


def _site_id(request: web.Request) -> str:
    registry = request.config_dict[SITES]
    wanted = request.query.get("site", "")
    if wanted and registry.get(wanted) is not None:
        return wanted  # the auth middleware has checked the analyst may see it
    sites = visible_sites(request)
    if not sites:
        raise BadQuery("no site is configured for this analyst")
    return sites[0].id


def _page(request: web.Request, template: str, section: str, **values: Any) -> web.Response:
    site = _site_id(request)
    params = {k: request.query[k] for k in request.query if k != "site"}
    session_value = request.get(SESSION_COOKIE_VALUE)
    return render(
        request,
        template,
        section=section,
        nav=NAV + (ADMIN_NAV if identity(request).manages_accounts else ()),
        analyst=request[ANALYST],
        site=site,
        sites=visible_sites(request),
        params=params,
        period=params.get("period", "30d"),
        periods=[(p, PERIOD_LABELS[p]) for p in PERIODS],
        filters={f: params.get(f, "") for f in FILTER_NAMES},
        csrf=request.app[ACCOUNTS].csrf_token(session_value) if session_value else "",
        query_string=urlencode({"site": site, **params}),
        **values,
    )


async def home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/dashboard/traffic")


async def traffic(request: web.Request) -> web.Response:
    return _page(request, "traffic.html", "traffic")


async def goals(request: web.Request) -> web.Response:
    return _page(request, "goals.html", "goals")


async def funnels(request: web.Request) -> web.Response:
    return _page(request, "funnels.html", "funnels")


async def insights(request: web.Request) -> web.Response:
    return _page(request, "insights.html", "insights")


async def heatmaps(request: web.Request) -> web.Response:
    return _page(request, "heatmaps.html", "heatmaps")


async def recordings(request: web.Request) -> web.Response:
    return _page(request, "recordings.html", "recordings", options=RECORDING_OPTIONS)


async def replay(request: web.Request) -> web.Response:
    return _page(request, "replay.html", "recordings", recording=request.query.get("recording", "")[:16])


async def _own_tokens(request: web.Request) -> list[dict[str, Any]]:
    accounts = request.app[ACCOUNTS]
    found: list[dict[str, Any]] = await request.config_dict[STORAGE].run(accounts.list_tokens, request[ANALYST])
    return found


async def visitors(request: web.Request) -> web.Response:
    return _page(request, "visitors.html", "visitors")


async def visitor(request: web.Request) -> web.Response:
    return _page(request, "visitor.html", "visitors", visitor=request.query.get("visitor", "")[:16])


async def segments(request: web.Request) -> web.Response:
    return _page(request, "segments.html", "segments", fields=SEGMENT_FIELDS)


async def tokens(request: web.Request) -> web.Response:
    return _page(request, "tokens.html", "tokens", token="", tokens=await _own_tokens(request))


async def create_token(request: web.Request) -> web.Response:
    form = await request.post()
    label = str(form.get("label", ""))[:100]
    accounts = request.app[ACCOUNTS]
    token = await request.config_dict[STORAGE].run(accounts.create_token, request[ANALYST], label)
    return _page(request, "tokens.html", "tokens", token=token, tokens=await _own_tokens(request))


async def login_form(request: web.Request) -> web.Response:
    return _login_page(request, _next(request.query.get("next", "")), "", 200)


def _next(target: str) -> str:
    """Only a local dashboard path may follow the log-in (no open redirect)."""
    return target if target.startswith("/dashboard/") and not target.startswith("//") else "/dashboard/traffic"


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    name, password = str(form.get("name", "")).strip(), str(form.get("password", ""))
    target = _next(str(form.get("next", "")))
    cookie_token = request.cookies.get(LOGIN_COOKIE, "")
    if not cookie_token or form.get("csrf_token") != cookie_token:
        return _login_page(request, target, "The form expired, please try again.", 403)
    accounts = request.app[ACCOUNTS]
    storage = request.config_dict[STORAGE]
    try:
        check_name(name)
        ok = await storage.run(accounts.check_login, name, password)
    except BadQuery:
        ok = False
    if not ok:
        return _login_page(request, target, "Wrong name or password.", 401)
    session = await storage.run(accounts.start_session, name)
    response = web.HTTPFound(target)
    set_session_cookie(request, response, session)
    response.del_cookie(LOGIN_COOKIE, path="/dashboard/login")
    raise response


def _login_page(request: web.Request, target: str, message: str, status: int) -> web.Response:
    token = login_token(request)
    response = render(request, "login.html", error=message, next=target, csrf=token)
    set_login_cookie(request, response, token)
    response.set_status(status)
    return response


async def logout(request: web.Request) -> web.StreamResponse:
    value = request.get(SESSION_COOKIE_VALUE)
    if value:
        await request.config_dict[STORAGE].run(request.app[ACCOUNTS].end_session, value)
    response = web.HTTPFound("/dashboard/login")
    response.del_cookie(COOKIE, path="/dashboard")
    raise response


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", home)
    app.router.add_get("/traffic", traffic)
    app.router.add_get("/goals", goals)
    app.router.add_get("/funnels", funnels)
    app.router.add_get("/insights", insights)
    app.router.add_get("/heatmaps", heatmaps)
    app.router.add_get("/recordings", recordings)
    app.router.add_get("/replay", replay)
    app.router.add_get("/visitors", visitors)
    app.router.add_get("/visitor", visitor)
    app.router.add_get("/segments", segments)
    app.router.add_get("/tokens", tokens)
    app.router.add_post("/tokens", create_token)
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_post("/logout", logout)
