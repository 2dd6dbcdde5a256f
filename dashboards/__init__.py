"""Analyst dashboards served under /dashboard by the collector app (issue 5).

`setup(app)` mounts the dashboards as a sub-application of the collector: pages, the JSON/CSV API,
the OpenAPI document and static assets, behind log-in sessions or API tokens. `frame(panel, …)` gives
any panel as a pandas DataFrame, from a running collector's API or straight from a data folder or DSN.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, AsyncIterator

import jinja2
from aiohttp import web

from collector.core.keys import SETTINGS, STORAGE
from dashboards import accounts_web, admin, api, assets, auth, definitions_api, goal_funnel_api, matomo_api, pages
from dashboards.accounts import Accounts, generated_password
from dashboards.keys import ACCOUNTS, STATE, DashboardState
from dashboards.queries import view_available
from dashboards.reports import scheduler as report_scheduler
from dashboards.reports import web as report_pages

log = logging.getLogger(__name__)
TEMPLATES = Path(__file__).resolve().parent / "templates"
FIRST_ANALYST = "admin"

__all__ = ["frame", "setup"]


def frame(panel: str, **options: Any) -> Any:
    """A panel as a pandas DataFrame (see dashboards.dataframe.frame)."""
    from dashboards.dataframe import frame as build

    return build(panel, **options)


def page_templates() -> jinja2.Environment:
    """The Jinja2 environment of the pages and report e-mails (autoescaped, strict about missing values)."""
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )


async def bootstrap_first_analyst(accounts: Accounts) -> None:
    """With no analyst at all, create `admin` and print its generated password once (the quick start)."""
    storage = accounts.storage
    if await storage.run(accounts.analyst_count):
        return
    password = generated_password()
    await storage.run(accounts.save_analyst, FIRST_ANALYST, password)
    print(
        f"dashboards: created analyst '{FIRST_ANALYST}' with password {password}  (shown once; change it with "
        f"python -m dashboards set-password {FIRST_ANALYST})",
        flush=True,
    )


def _context(parent: web.Application) -> Any:
    async def dashboards_ctx(app: web.Application) -> AsyncIterator[None]:
        storage, settings = parent[STORAGE], parent[SETTINGS]
        accounts = Accounts(storage, settings.secret_key)
        use_view = await storage.run(view_available, storage)
        if not use_view:
            log.warning("visit_stats_mv is missing: traffic panels read pageviews directly (slower)")
        app[ACCOUNTS] = accounts
        app[STATE] = DashboardState(use_view, page_templates())
        await bootstrap_first_analyst(accounts)
        yield

    return dashboards_ctx


async def _to_home(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound("/dashboard/")


def setup(app: web.Application) -> None:
    """Mount /dashboard on the collector app (after its storage context, which it uses), and Matomo's
    Reporting API at /index.php."""
    sub = web.Application(middlewares=[auth.guard])
    sub.cleanup_ctx.append(_context(app))
    sub.cleanup_ctx.append(report_scheduler.scheduler_context(app))
    pages.setup_routes(sub)
    accounts_web.setup_routes(sub)
    report_pages.setup_routes(sub)
    definitions_api.setup_routes(sub)
    goal_funnel_api.setup_routes(sub)
    api.setup_routes(sub)
    assets.setup_routes(sub)
    admin.setup_routes(sub)
    app.router.add_get("/dashboard", _to_home)
    app.add_subapp("/dashboard", sub)
    matomo_api.setup_routes(app, sub)
