"""What the analyst of a request may do on a site: every permission check of the dashboards goes here.

Roles are per site: `view` reads the site's panels, recordings and heatmaps; `admin` also changes the
site's definitions (goals, funnels, segments, annotations, marks on recordings). `admin` of every
site ('*') also manages analysts and tokens. The auth middleware puts the request's `Identity` in
place before any handler runs; these checks only read it.
"""

from __future__ import annotations

from aiohttp import web

from collector.core.keys import SITES
from collector.core.sites import Site
from dashboards.accounts import Identity
from dashboards.errors import Forbidden, Unauthorized
from dashboards.keys import IDENTITY


def identity(request: web.Request) -> Identity:
    if IDENTITY not in request:
        raise Unauthorized("log in or send an API token")
    return request[IDENTITY]


def require_site_view(request: web.Request, site: str) -> None:
    """403 unless the analyst may read `site`."""
    if not identity(request).can_view(site):
        raise Forbidden(f"no access to site {site[:64]!r}")


def require_site_admin(request: web.Request, site: str) -> None:
    """403 unless the analyst may change `site`'s definitions (role admin on it or on every site)."""
    if not identity(request).can_admin(site):
        raise Forbidden(f"changing site {site[:64]!r} needs the admin role on it")


def require_account_admin(request: web.Request) -> None:
    """403 unless the analyst manages accounts (admin of every site)."""
    if not identity(request).manages_accounts:
        raise Forbidden("managing analysts and tokens needs the admin role on every site")


def visible_sites(request: web.Request) -> list[Site]:
    """The configured sites this analyst may read, in the sites file's order."""
    who = identity(request)
    return [site for site in request.config_dict[SITES].all() if who.can_view(site.id)]
