"""Who may see the dashboards: log-in sessions (cookie) or API tokens (Authorization: Bearer).

The middleware lets through only the log-in page and static assets without an identity; anything
else gets 401 (API) or a redirect to the log-in page (pages), never data. Every state-changing
request made with the session cookie must carry the session's CSRF token (header X-CSRF-Token or
form field csrf_token). A request naming a configured `site` the analyst has no role on gets 403
before any handler runs, so every panel (and every feature added later) sees only the analyst's
sites. Errors of the dashboards are turned into short answers here, in one place.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from typing import Awaitable, Callable
from urllib.parse import quote

import orjson
from aiohttp import web

from collector.core.errors import PayloadError
from collector.core.keys import SETTINGS, SITES
from dashboards.accounts import SESSION_HOURS, Identity
from dashboards.errors import CsrfRejected, Unauthorized
from dashboards.keys import ACCOUNTS, ANALYST, IDENTITY, SESSION_COOKIE_VALUE
from dashboards.roles import require_site_view
from ingest_schema.storage import StorageError

log = logging.getLogger(__name__)
COOKIE = "wa_dashboard"
LOGIN_COOKIE = "wa_login_csrf"
PUBLIC_PREFIXES = (
    "/dashboard/login",
    "/dashboard/static/",
    "/dashboard/vendor/",
    "/dashboard/admin/",  # checks the admin token itself
    "/dashboard/reports/unsubscribe",  # a signed link from a report e-mail, works without log-in
)
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: scripts only from us; replayed pages may load their own images, styles and fonts; nothing frames us
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline' *; img-src 'self' data: blob: *; "
    "font-src 'self' data: *; connect-src 'self'; frame-src 'self' about:; child-src 'self' about:; "
    "frame-ancestors 'self'; form-action 'self'; object-src 'none'"
)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def is_api(request: web.Request) -> bool:
    return request.path.startswith("/dashboard/api/") or request.path.startswith("/dashboard/admin/")


def secure_cookies(request: web.Request) -> bool:
    """Secure when served over https, directly or behind a proxy whose public URL is https."""
    return request.secure or request.config_dict[SETTINGS].public_url.startswith("https://")


def set_session_cookie(request: web.Request, response: web.StreamResponse, value: str) -> None:
    response.set_cookie(
        COOKIE,
        value,
        max_age=SESSION_HOURS * 3600,
        path="/dashboard",
        httponly=True,
        samesite="Strict",
        secure=secure_cookies(request),
    )


def login_token(request: web.Request) -> str:
    """Double-submit token of the log-in form (there is no session yet to tie it to)."""
    return request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)


def set_login_cookie(request: web.Request, response: web.StreamResponse, token: str) -> None:
    response.set_cookie(
        LOGIN_COOKIE,
        token,
        max_age=3600,
        path="/dashboard/login",
        httponly=True,
        samesite="Strict",
        secure=secure_cookies(request),
    )


async def _identity(request: web.Request) -> tuple[Identity | None, str | None]:
    """(identity, session cookie value): from a bearer token, else from the session cookie."""
    accounts = request.app[ACCOUNTS]
    storage = accounts.storage
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return await storage.run(accounts.token_identity, header[7:].strip()), None
    value = request.cookies.get(COOKIE, "")
    if value and len(value) < 200:
        return await storage.run(accounts.session_identity, value), value
    return None, None


async def _check_csrf(request: web.Request, session_value: str) -> None:
    supplied = request.headers.get("X-CSRF-Token", "")
    if not supplied and request.content_type == "application/x-www-form-urlencoded":
        supplied = str((await request.post()).get("csrf_token", ""))
    expected = request.app[ACCOUNTS].csrf_token(session_value)
    if not hmac.compare_digest(supplied.encode(), expected.encode()):
        raise CsrfRejected("missing or wrong CSRF token")


def error_response(request: web.Request, error: PayloadError) -> web.StreamResponse:
    if isinstance(error, Unauthorized) and not is_api(request):
        target = request.path_qs if request.method == "GET" else "/dashboard/"
        raise web.HTTPFound(f"/dashboard/login?next={quote(target, safe='')}")
    body = orjson.dumps({"error": str(error)[:200] or error.reason})
    if is_api(request):
        return web.Response(body=body, status=error.status, content_type="application/json")
    return web.Response(text=f"{error.status}: {str(error)[:200]}", status=error.status)


@web.middleware
async def guard(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Identity and CSRF first, then the handler; refusals become short 4xx answers."""
    try:
        if not request.path.startswith(PUBLIC_PREFIXES):
            identity, session_value = await _identity(request)
            if identity is None:
                raise Unauthorized("log in or send an API token")
            if session_value is not None and request.method in UNSAFE_METHODS:
                await _check_csrf(request, session_value)
            request[ANALYST] = identity.analyst
            request[IDENTITY] = identity
            request[SESSION_COOKIE_VALUE] = session_value or ""
            site = request.query.get("site", "")
            if site and request.config_dict[SITES].get(site) is not None:
                require_site_view(request, site)
        response = await handler(request)
    except PayloadError as error:
        response = error_response(request, error)
    except StorageError as error:
        log.warning("dashboard query failed: %s", str(error)[:200])
        response = web.Response(status=503, text="storage unavailable, try again", headers={"Retry-After": "5"})
    _security_headers(request, response)
    return response


def _security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
    headers.setdefault("Referrer-Policy", "same-origin")
    if not request.path.startswith(("/dashboard/static/", "/dashboard/vendor/")):
        headers.setdefault("Cache-Control", "no-store")
