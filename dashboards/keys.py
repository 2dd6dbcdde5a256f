"""Typed keys of what the dashboards sub-application owns (no module globals hold resources)."""

from __future__ import annotations

from dataclasses import dataclass

import jinja2
from aiohttp import web

from dashboards.accounts import Accounts, Identity


@dataclass(frozen=True)
class DashboardState:
    """Decided once at start: whether the visit_stats view can be read, and the page templates."""

    use_view: bool
    templates: jinja2.Environment


ACCOUNTS = web.AppKey("dashboard_accounts", Accounts)
STATE = web.AppKey("dashboard_state", DashboardState)
#: set by the auth middleware on each request it lets through
ANALYST = web.RequestKey("dashboard_analyst", str)
IDENTITY = web.RequestKey("dashboard_identity", Identity)  # the analyst and their roles by site
SESSION_COOKIE_VALUE = web.RequestKey("dashboard_session_value", str)  # "" with an API token
