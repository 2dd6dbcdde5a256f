"""`/demo`: a page to try the clients on, served by the collector itself (same origin, so the
root-relative upload path clarity-js needs just works). Query options pick what it loads:
`site` (a configured site id), `clarity=1` (with `track=0` for cookie-less), `beacon=1`, `banner=1`
(the consent banner: with the beacon through its data-banner flag, alone for clarity-js).
"""

from __future__ import annotations

import html

from aiohttp import web

from collector.core.keys import SITES

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem}}
label{{display:block;margin:.5rem 0}}.tall{{height:1800px;background:linear-gradient(#fff,#e8eefc)}}</style>
{clarity}
</head><body>
<h1 id="title">{title}</h1>
<p>Welcome to the demo shop. This page exists to try the collector's clients.</p>
<form id="checkout" onsubmit="return false">
  <label>Name <input id="name" name="name" autocomplete="off"></label>
  <label>E-mail <input id="email" name="email" type="email" autocomplete="off"></label>
  <label>Card number <input id="card" name="card" autocomplete="off"></label>
  <button id="buy" type="button">Buy now</button>
  <button id="signup" type="button" onclick="window.wa && wa('event', 'signup', 'newsletter');
    window.clarity && clarity('event', 'signup', 'newsletter')">Sign up for the newsletter</button>
</form>
<p><a id="outbound" href="https://example.org/partner">Our partner</a> ·
<a id="download" href="/demo/files/report.pdf">Annual report (PDF)</a> ·
<a id="next" href="{next_url}">Next page</a> ·
<a id="change" href="#" data-wa-consent-change>Change my privacy choices</a></p>
<div class="tall" id="tall">Scroll down</div>
<p id="bottom">Bottom of the page</p>
{beacon}
</body></html>"""

CLARITY = """<script>
(function(c,l,a,r,i,t,y){{c[a]=c[a]||function(){{(c[a].q=c[a].q||[]).push(arguments)}};
t=l.createElement(r);t.async=1;t.src="/clarity.js";y=l.getElementsByTagName(r)[0];y.parentNode.insertBefore(t,y);
}})(window,document,"clarity","script");
clarity("start", {{projectId: "{site}", upload: "/collect", track: {track}, content: true}});
</script>"""

#: the demo's own policy: its inline snippet and onclick need 'unsafe-inline', and the browser tests
#: that drive it compile their wait-for predicates in the page ('unsafe-eval'); what the policy still
#: guarantees is that scripts, uploads (connect-src) and forms stay on this origin, no plugins, no framing
DEMO_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; "
    "frame-ancestors 'none'"
)

BEACON = '<script defer src="/beacon.js" data-site="{site}"{banner}></script>'
BANNER = '<script defer src="/banner.js"></script>'


def render(site: str, query: dict[str, str], title: str, next_path: str) -> str:
    site_attr = html.escape(site, quote=True)
    options = "&".join(f"{k}={html.escape(v, quote=True)}" for k, v in query.items() if k in OPTIONS)
    clarity = CLARITY.format(site=site_attr, track="false" if query.get("track") == "0" else "true")
    beacon = BEACON.format(site=site_attr, banner=" data-banner" if query.get("banner") == "1" else "")
    if query.get("beacon") != "1":
        beacon = BANNER if query.get("banner") == "1" else ""
    return PAGE.format(
        title=html.escape(title),
        clarity=clarity if query.get("clarity") == "1" else "",
        beacon=beacon,
        next_url=f"{next_path}?{options}",
    )


OPTIONS = ("site", "clarity", "track", "beacon", "banner")


async def demo_page(request: web.Request) -> web.Response:
    site = request.query.get("site", "demo")
    if request.app[SITES].get(site) is None:
        return web.Response(status=404, text="no such site")
    second = request.path.endswith("/second")
    query = {k: request.query[k] for k in OPTIONS if k in request.query}
    title = "Demo shop: second page" if second else "Demo shop"
    body = render(site, query, title, "/demo" if second else "/demo/second")
    return web.Response(text=body, content_type="text/html", headers={"Content-Security-Policy": DEMO_CSP})


async def demo_file(request: web.Request) -> web.Response:
    return web.Response(body=b"%PDF-1.4\n% demo\n", content_type="application/pdf")


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/demo", demo_page)
    app.router.add_get("/demo/second", demo_page)
    app.router.add_get("/demo/files/report.pdf", demo_file)
