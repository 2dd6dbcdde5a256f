"""Static files of the dashboards: our scripts and styles, and the npm libraries' browser builds
(uPlot for charts, clarity-decode and clarity-visualize for replays and heatmaps), served from
node_modules by the collector itself so pages make no request to any other host."""

from __future__ import annotations

import re
from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).resolve().parent / "static"
NODE_MODULES = Path(__file__).resolve().parents[1] / "node_modules"
VENDOR = {
    "uplot.js": NODE_MODULES / "uplot" / "dist" / "uPlot.iife.min.js",
    "uplot.css": NODE_MODULES / "uplot" / "dist" / "uPlot.min.css",
    "clarity-decode.js": NODE_MODULES / "clarity-decode" / "build" / "clarity.decode.min.js",
    "clarity-visualize.js": NODE_MODULES / "clarity-visualize" / "build" / "clarity.visualize.min.js",
}
_NAME = re.compile(r"^[a-z0-9_-]+\.(js|css)$")
TYPES = {".js": "application/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}


def _serve(path: Path | None) -> web.StreamResponse:
    if path is None or not path.exists():
        raise web.HTTPNotFound(text="no such asset (run scripts/install.sh for the npm packages)")
    return web.FileResponse(path, headers={"Content-Type": TYPES[path.suffix], "Cache-Control": "public, max-age=3600"})


async def vendor(request: web.Request) -> web.StreamResponse:
    return _serve(VENDOR.get(request.match_info["name"]))


async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    return _serve(STATIC / name if _NAME.fullmatch(name) else None)


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/vendor/{name}", vendor)
    app.router.add_get("/static/{name}", static)
