"""Baseline: a bare aiohttp handler that reads the same bodies and answers 204, nothing else."""

from __future__ import annotations

import sys

from aiohttp import web


async def collect(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=204)


def main() -> None:
    app = web.Application(client_max_size=8 << 20)
    app.router.add_post("/collect", collect)
    web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)


if __name__ == "__main__":
    main()
