"""`/index.php?module=API`: one Reporting API request (GET or POST), authenticated, limited, dispatched
to a method (or to each item of `API.getBulkRequest`) and rendered in the requested format.

Order as in Matomo: a token that is present but wrong is refused first (401); then the method is
looked up (unknown: 400); then reading a site without a token is refused (401). No token, no data.
"""

from __future__ import annotations

import logging
import re
from functools import partial
from typing import Any, Mapping
from urllib.parse import parse_qsl

from aiohttp import web

from collector.core.keys import HASHER, SETTINGS, SITES, STORAGE
from collector.core.sites import Site
from dashboards.errors import BadQuery
from dashboards.keys import ACCOUNTS, STATE
from dashboards.matomo_api import methods, render
from dashboards.matomo_api.errors import ApiError, Blocked, NoAccess
from dashboards.matomo_api.limits import ApiLimits, client_ip
from dashboards.matomo_api.request import parse_periods, row_window
from dashboards.matomo_api.segment import parse_segment
from dashboards.model import Query, Result
from dashboards.queries import panel_named, run_panel
from ingest_schema.hashing import Hasher, user_id_hash
from ingest_schema.storage import StorageError

log = logging.getLogger(__name__)
LIMITS = web.AppKey("matomo_api_limits", ApiLimits)
BULK = "API.getBulkRequest"
MAX_BULK = 100
MAX_PARAM_CHARS = 8192
_BULK_KEY = re.compile(r"^urls\[(\d{0,4})\]$")
#: Live without period/date: the last 30 days (Matomo reads every visit; here that would scan all data)
LIVE_DEFAULT = ("range", "last30")


def may_view(analyst: str, site: Site) -> bool:
    """Whether an analyst may read a site: every analyst may, until per-site roles exist (then this is
    the one place to ask them)."""
    return True


async def _params(request: web.Request) -> tuple[dict[str, str], list[str]]:
    """Query and form fields (a form field wins, as PHP's $_REQUEST), and the bulk request's urls in order."""
    fields: list[tuple[str, str]] = list(request.query.items())
    if request.method == "POST" and request.content_type in (
        "application/x-www-form-urlencoded",
        "multipart/form-data",
    ):
        form = await request.post()
        fields += [(k, v) for k, v in form.items() if isinstance(v, str)]
    params: dict[str, str] = {}
    bulk: dict[int, str] = {}
    for key, value in fields:
        if len(value) > MAX_PARAM_CHARS:
            raise ApiError(f"The parameter '{key[:40]}' is too long.")
        match = _BULK_KEY.match(key)
        if match:
            bulk[int(match.group(1)) if match.group(1) else len(bulk)] = value
        else:
            params[key] = value
    return params, [bulk[i] for i in sorted(bulk)]


def _token(request: web.Request, params: Mapping[str, str]) -> str:
    header = request.headers.get("Authorization", "")
    if header.startswith("Bearer "):
        return header[7:].strip()
    return params.get("token_auth", "").strip()


class Api:
    """The request-independent parts of one call: who asks, which sites, and how panels are run."""

    def __init__(self, request: web.Request, dashboards: web.Application, analyst: str | None) -> None:
        self.storage = request.config_dict[STORAGE]
        self.hasher: Hasher = request.config_dict[HASHER]
        self.use_view = dashboards[STATE].use_view
        self.timezone_of: dict[str, str] = {}
        self.analyst = analyst
        registry = request.config_dict[SITES]
        self.sites = tuple(
            s for s in registry.all() if s.matomo_idsite is not None and analyst is not None and may_view(analyst, s)
        )
        self.registry = registry

    async def run(self, panel: str, query: Query) -> Result:
        try:
            return await self.storage.run(run_panel, self.storage, panel_named(panel), query, self.use_view)
        except BadQuery as error:
            raise ApiError(str(error)) from None

    def site(self, raw: str) -> Site | None:
        raw = raw.strip()
        if not raw:
            return None
        if self.analyst is None:  # no token: the same answer whether the site exists or not
            raise NoAccess(
                f"You can't access this resource as it requires 'view' access for the website id = {raw[:20]}."
            )
        site = self.registry.by_matomo_id(int(raw)) if raw.isdecimal() and len(raw) < 10 else None
        if site is None or site not in self.sites:
            raise ApiError(f"An unexpected website was found in the request: website id was set to '{raw[:20]}' .")
        return site

    async def call(self, params: Mapping[str, str]) -> render.Data:
        name = params.get("method", "").strip()
        method = methods.method_named(name)
        site = self.site(params.get("idSite", params.get("idsite", "")))
        if name in methods.NEEDS_SITE and site is None:
            if self.analyst is None:
                raise NoAccess("You can't access this resource as it requires 'view' access for at least one website.")
            raise ApiError("Please specify a value for 'idSite'.")
        periods = None
        period, date = params.get("period", "").strip(), params.get("date", "").strip()
        if name == "Live.getLastVisitsDetails" and not period and not date:
            period, date = LIVE_DEFAULT
        if site is not None and (name in methods.NEEDS_PERIOD or period or date):
            if self.analyst is None:
                raise NoAccess(
                    f"You can't access this resource as it requires 'view' access for the website id = "
                    f"{site.matomo_idsite}."
                )
            if not period:
                raise ApiError("Please specify a value for 'period'.")
            periods = parse_periods(period, date, site.timezone)
        limit, offset = row_window(params)
        user_hash = None if site is None else partial(user_id_hash, self.hasher, site.id)
        call = methods.Call(
            name,
            params,
            self.analyst,
            self.sites,
            site,
            periods,
            parse_segment(params.get("segment", "").strip(), user_hash),
            limit,
            offset,
        )
        return await method(self.run, call)

    async def bulk(self, urls: list[str]) -> render.Data:
        answers: list[Any] = []
        for url in urls:
            inner = dict(parse_qsl(url.lstrip("?"), keep_blank_values=True))
            try:
                if inner.get("method") == BULK:
                    raise ApiError("API.getBulkRequest cannot be nested.")
                answers.append(render.to_plain(await self.call(inner)))
            except ApiError as error:
                answers.append({"result": "error", "message": render.error_text(error.message)})
        return render.Records(answers)


async def _authenticate(request: web.Request, dashboards: web.Application, token: str, ip: str) -> str | None:
    if not token:
        return None
    accounts = dashboards[ACCOUNTS]
    analyst = await accounts.storage.run(accounts.token_analyst, token) if len(token) < 200 else None
    if analyst is None:
        request.app[LIMITS].failed(ip)
        raise NoAccess("Unable to authenticate with the provided token. It is either invalid or expired.")
    return analyst


def _answer(data: render.Data, fmt: str, params: Mapping[str, str]) -> web.Response:
    unicode = params.get("convertToUnicode", "1").strip() != "0"
    headers = {"Content-Type": render.CONTENT_TYPES[fmt], "Cache-Control": "no-store"}
    if fmt in ("csv", "tsv"):
        headers["Content-Disposition"] = f"attachment; filename=export.{fmt}"
    return web.Response(body=render.body(data, fmt, unicode), headers=headers)


def _error(message: str, fmt: str, status: int, **headers: str) -> web.Response:
    body, content_type = render.error_body(message, fmt)
    return web.Response(
        body=body, status=status, headers={"Content-Type": content_type, "Cache-Control": "no-store", **headers}
    )


async def handle(request: web.Request, dashboards: web.Application) -> web.Response:
    fmt = "xml"
    try:
        params, urls = await _params(request)
        requested = params.get("format", "xml").strip().lower() or "xml"
        if requested not in render.FORMATS:
            raise ApiError(
                f"Renderer format '{requested[:20]}' not valid. Try any of the following instead: "
                f"{', '.join(render.FORMATS)}."
            )
        fmt = requested
        if params.get("module", "API") != "API":
            raise ApiError("This collector answers the Reporting API only: module=API.")
        if len(urls) > MAX_BULK:
            raise ApiError(f"API.getBulkRequest takes at most {MAX_BULK} urls.")
        settings = request.config_dict[SETTINGS]
        ip = client_ip(request.remote, request.headers, settings.client_ip_header)
        request.app[LIMITS].check(ip, max(1, len(urls)))
        analyst = await _authenticate(request, dashboards, _token(request, params), ip)
        api = Api(request, dashboards, analyst)
        if params.get("method", "").strip() == BULK:
            data = await api.bulk(urls)
        else:
            data = await api.call(params)
        return _answer(data, fmt, params)
    except Blocked as error:
        return _error(error.message, fmt, error.status, **{"Retry-After": str(error.retry_after)})
    except ApiError as error:
        return _error(error.message, fmt, error.status)
    except StorageError as error:
        log.warning("reporting API query failed: %s", str(error)[:200])
        return _error("The database is unavailable for a moment, try again.", fmt, 503, **{"Retry-After": "5"})
