"""Who may change a site's definitions (goals, funnels, segments, annotations, report schedules).

Every such check goes through `require_site_admin`. Until per-site roles land, every logged-in analyst
may edit every site; the body that reads roles replaces this one (owned by the accounts work).
"""

from __future__ import annotations

from aiohttp import web


def require_site_admin(request: web.Request, site: str) -> None:
    """Raise the dashboards' 403 error when the request's analyst may not change `site`'s definitions."""
    return None
