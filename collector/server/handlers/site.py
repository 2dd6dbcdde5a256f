"""The collector's own pages: a start page (links to the dashboards and the demo, the snippets), styled
with the dashboards' stylesheet, and the browser clients it serves."""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web
from markupsafe import Markup

from collector.core.keys import SETTINGS, SITES
from collector.core.settings import Settings
from collector.core.sites import SiteRegistry

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CLARITY_BUILD = PROJECT_ROOT / "node_modules" / "clarity-js" / "build" / "clarity.min.js"
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"
START_PAGE = web.AppKey("start_page", jinja2.Template)

#: the demo pages worth opening first, and what each shows
DEMO_PAGES = (
    ("/demo?beacon=1&banner=1", "Our beacon and consent banner"),
    ("/demo?clarity=1&beacon=1&banner=1", "clarity-js driven by the banner: heatmaps and recordings"),
    ("/demo?clarity=1&track=0&banner=1", "clarity-js without cookies, banner only"),
)
#: the start page loads the dashboards' stylesheet from this origin and nothing else
START_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)

SNIPPET = """<script>
  (function (c, l, a, r, i, t, y) {{
    c[a] = c[a] || function () {{ (c[a].q = c[a].q || []).push(arguments); }};
    t = l.createElement(r); t.async = 1; t.src = "{base}/clarity.js";
    y = l.getElementsByTagName(r)[0]; y.parentNode.insertBefore(t, y);
  }})(window, document, "clarity", "script");
  // upload: an https URL, or "/collect" when the collector is proxied on your origin (clarity-js keeps
  // it in its _clsk cookie and assumes https from the second page view on); track: false until consent
  clarity("start", {{ projectId: "{site}", upload: "{upload}", track: false, content: true }});
  // after the visitor agreed in your consent banner:
  // clarity("consentv2", {{ ad_Storage: "denied", analytics_Storage: "granted" }});
</script>"""
BEACON_SNIPPET = """<script defer src="{base}/beacon.js" data-site="{site}" data-banner></script>
<a href="#wa-consent" data-wa-consent-change>Change my privacy choices</a>"""


def escaped(text: str) -> Markup:
    """A snippet shown as text, escaped as the page always has (`&quot;`, which jinja's own escaping spells `&#34;`)."""
    return Markup(html.escape(text))


def demo_links(settings: Settings, sites: SiteRegistry) -> list[tuple[str, str]]:
    """The demo pages (URL, what it shows) when the demo site takes uploads from the collector's own origin."""
    base = settings.public_url.rstrip("/")
    demo = sites.get("demo")
    if demo is None or not demo.allows_origin(base):
        return []
    return [(base + path, label) for path, label in DEMO_PAGES]


async def index(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    base = settings.public_url.rstrip("/")
    sites: list[dict[str, Any]] = [
        {
            "id": site.id,
            "name": site.name,
            "consent": site.consent,
            "masking": site.masking,
            "origins": site.origins,
            "snippet": escaped(SNIPPET.format(base=base, site=site.id, upload=f"{base}/collect")),
            "beacon": escaped(BEACON_SNIPPET.format(base=base, site=site.id)),
        }
        for site in request.app[SITES].all()
    ]
    demo = [(href.removeprefix(base), label) for href, label in demo_links(settings, request.app[SITES])]
    page = request.app[START_PAGE].render(sites=sites, demo=demo)
    return web.Response(text=page, content_type="text/html", headers={"Content-Security-Policy": START_CSP})


async def clarity_script(request: web.Request) -> web.StreamResponse:
    if not CLARITY_BUILD.exists():
        return web.Response(status=404, text="clarity-js is not installed (run the README's install command)")
    return web.FileResponse(
        CLARITY_BUILD, headers={"Content-Type": "application/javascript", "Cache-Control": "public, max-age=3600"}
    )


def setup_routes(app: web.Application) -> None:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True, undefined=jinja2.StrictUndefined
    )
    app[START_PAGE] = environment.get_template("start.html")
    app.router.add_get("/", index)
    app.router.add_get("/clarity.js", clarity_script)
