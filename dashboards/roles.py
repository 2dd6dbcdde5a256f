"""Who may change a site's definitions (goals, funnels, segments, annotations): ONE check for all of them.

Placeholder until per-site roles (view, admin) land with the accounts work of issue 15, which owns this
module and replaces the body: for now every logged-in analyst or token may change every site.
"""

from __future__ import annotations

from aiohttp import web

from dashboards.errors import Forbidden
from dashboards.keys import ANALYST


def require_site_admin(request: web.Request, site: str) -> None:
    """Raise Forbidden (403) unless the request's analyst may change `site`'s definitions."""
    if not request.get(ANALYST):
        raise Forbidden("only a site admin may change this site's definitions")
