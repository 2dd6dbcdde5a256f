"""`/beacon.js` and `/banner.js`: our first-party beacon and its consent banner, as built by
scripts/build_beacon.mjs (minified), or their readable sources when the build has not run."""

from __future__ import annotations

from pathlib import Path
from typing import Awaitable, Callable

from aiohttp import web

STATIC = Path(__file__).resolve().parents[2] / "static"
HEADERS = {
    "Content-Type": "application/javascript; charset=utf-8",
    "Cache-Control": "public, max-age=3600",
    "X-Content-Type-Options": "nosniff",
}


def client_file(name: str) -> Path:
    """The minified build when the install step made it, else the source (same behaviour, larger)."""
    built = STATIC / "dist" / f"{name}.min.js"
    return built if built.exists() else STATIC / f"{name}.js"


def static_client(name: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def serve(request: web.Request) -> web.StreamResponse:
        return web.FileResponse(client_file(name), headers=HEADERS)

    return serve


def setup_routes(app: web.Application) -> None:
    app.router.add_get("/beacon.js", static_client("beacon"))
    app.router.add_get("/banner.js", static_client("banner"))
