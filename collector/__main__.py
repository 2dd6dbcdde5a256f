"""`python -m collector`: run the collector on the embedded ClickHouse (or the configured DSN)."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from aiohttp import web

from collector.core.errors import CollectorError
from collector.core.settings import ENVIRONMENT, Settings
from collector.server.accesslog import PrivacyAccessLogger
from collector.server.app import init_app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m collector", description=__doc__)
    parser.add_argument("--help-env", action="store_true", help="list the environment variables and defaults")
    args = parser.parse_args(argv)
    if args.help_env:
        for name, (default, meaning) in ENVIRONMENT.items():
            print(f"{name:36} {default:40} {meaning}")
        return 0
    try:
        settings = Settings.from_env()
    except CollectorError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("collector").info("settings %s", settings.describe())
    try:
        app = init_app(settings)
    except CollectorError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    print(f"collector listening on {settings.public_url}/  (data in {settings.data_dir})", flush=True)
    if settings.event_loop == "uvloop":
        import uvloop

        uvloop.install()
    web.run_app(app, host=settings.host, port=settings.port, print=None, **server_options(settings))
    return 0


def server_options(settings: Settings) -> dict[str, Any]:
    """How the HTTP server treats connections: SIGTERM lets requests in flight finish (10 s at most);
    an idle connection, or one still sending headers, is closed after the keep-alive timeout; the rest
    of a refused body is read for the body timeout at most. Bodies are not decompressed by aiohttp
    (`auto_decompress`): clarity-js gzips without a Content-Encoding header and the collector's own
    capped decompressor handles it, so a lying or broken Content-Encoding cannot hang or bomb a request."""
    return {
        "shutdown_timeout": 10,
        "keepalive_timeout": settings.keepalive_timeout_s,
        "lingering_time": settings.body_timeout_s,
        "auto_decompress": False,
        "access_log_class": PrivacyAccessLogger,
    }


if __name__ == "__main__":
    sys.exit(main())
