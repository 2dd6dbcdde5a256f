"""The collector's own pages: a start page with the snippets, and the browser clients it serves."""

from __future__ import annotations

import html
from pathlib import Path

from aiohttp import web

from collector.core.keys import SETTINGS, SITES

PROJECT_ROOT = Path(__file__).resolve().parents[3]
CLARITY_BUILD = PROJECT_ROOT / "node_modules" / "clarity-js" / "build" / "clarity.min.js"

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


async def index(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    base = settings.public_url.rstrip("/")
    items = []
    for site in request.app[SITES].all():
        snippet = SNIPPET.format(base=base, site=site.id, upload=f"{base}/collect")
        beacon = BEACON_SNIPPET.format(base=base, site=site.id)
        items.append(
            f"<h2>{html.escape(site.name)} <small>({html.escape(site.id)})</small></h2>"
            f"<p>consent: {site.consent} · masking: {site.masking} · origins: "
            f"{html.escape(', '.join(sorted(site.origins)))}</p><pre>{html.escape(snippet)}</pre>"
            f"<p>Or our beacon with its consent banner (docs/beacon.md):</p><pre>{html.escape(beacon)}</pre>"
        )
    page = (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>Collector</title></head><body>"
        "<h1>Privacy-first analytics collector</h1><p>Uploads go to <code>POST /collect</code>. "
        "Health: <a href='/healthz'>/healthz</a>, <a href='/readyz'>/readyz</a>, <a href='/metrics'>/metrics</a>.</p>"
        + "".join(items)
        + "</body></html>"
    )
    return web.Response(text=page, content_type="text/html")


async def clarity_script(request: web.Request) -> web.StreamResponse:
    if not CLARITY_BUILD.exists():
        return web.Response(status=404, text="clarity-js is not installed (run the README's install command)")
    return web.FileResponse(
        CLARITY_BUILD, headers={"Content-Type": "application/javascript", "Cache-Control": "public, max-age=3600"}
    )


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/", index)
    app.router.add_get("/clarity.js", clarity_script)
