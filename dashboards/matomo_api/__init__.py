"""Matomo's Reporting API at `/index.php?module=API&method=…` (GET and POST), on the dashboards' query
layer, so an integration built for Matomo (the mobile app, CMS widgets, spreadsheets, scripts) reads
the same figures the dashboards show. See docs/matomo-reporting-api.md.

Mounted on the collector's root app by `dashboards.setup`; authentication uses the dashboards' API
tokens (`token_auth`, as a query or form field, or `Authorization: Bearer`).
"""

from __future__ import annotations

from functools import partial

from aiohttp import web

from collector.core.keys import SETTINGS
from dashboards.matomo_api.handler import LIMITS, handle
from dashboards.matomo_api.limits import ApiLimits

__all__ = ["setup_routes"]


def setup_routes(app: web.Application, dashboards: web.Application) -> None:
    """Answer /index.php on `app` with the accounts and state of the `dashboards` sub-application."""
    settings = app[SETTINGS]
    app[LIMITS] = ApiLimits(settings.rate_limit_per_minute, settings.rate_limit_exempt)
    handler = partial(handle, dashboards=dashboards)
    app.router.add_get("/index.php", handler)
    app.router.add_post("/index.php", handler)
