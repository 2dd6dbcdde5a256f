"""`python -m collector`: run the collector on the embedded ClickHouse (or the configured DSN).

With COLLECTOR_WORKERS > 1 this process is the primary worker: it binds the port (SO_REUSEPORT, so
the kernel spreads connections over the workers) and the internal socket, then starts the other
workers (`python -m collector` with COLLECTOR_WORKER_INDEX set), restarts one that dies, and stops
them before its own final flush (docs/scale-out.md).
"""

from __future__ import annotations

import argparse
import ctypes
import dataclasses
import logging
import os
import signal
import socket
import sys
from typing import Any, AsyncIterator

from aiohttp import web

from collector.core.client import running_collector_url
from collector.core.errors import CollectorError
from collector.core.keys import SETTINGS, SITES
from collector.core.settings import ENVIRONMENT, Settings
from collector.ingest.metrics import metrics_folder, share_between_processes
from collector.server import workers
from collector.server.accesslog import PrivacyAccessLogger
from collector.server.app import init_app
from collector.server.handlers.site import demo_links
from collector.server.primary import internal_socket

PR_SET_PDEATHSIG = 1


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
    if not settings.primary:
        return run_worker(settings)
    try:
        if settings.primary and settings.workers > 1 and settings.port:
            listening_socket(settings.host, settings.port).close()  # in use by anyone: refuse, as with one worker
        sock = listening_socket(settings.host, settings.port, reuse_port=settings.workers > 1)
    except OSError as exc:
        running = running_collector_url(settings.data_dir)
        hint = f"; a collector already runs on {settings.data_dir}: {running}" if running else ""
        print(f"cannot listen on {settings.host}:{settings.port}: {exc.strerror or exc}{hint}", file=sys.stderr)
        return 2
    settings = with_bound_port(settings, int(sock.getsockname()[1]))
    logging.getLogger("collector").info("settings %s", settings.describe())
    sockets = [sock]
    try:
        if settings.workers > 1:
            share_between_processes(metrics_folder(settings.data_dir))  # before any metric is built
        app = init_app(settings)
        if settings.workers > 1:
            sockets.append(internal_socket(settings.data_dir))
            app.cleanup_ctx.append(workers.supervisor_ctx)
    except (CollectorError, OSError) as exc:
        for opened in sockets:
            opened.close()
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    app.cleanup_ctx.append(start_message_ctx)
    install_loop(settings)
    web.run_app(app, sock=sockets, print=None, **server_options(settings))
    return 0


def run_worker(settings: Settings) -> int:
    """A worker started by the primary: it binds the primary's port (SO_REUSEPORT) only once its app has
    started, so the kernel never hands a connection to a worker not yet able to answer it."""
    die_with_parent()
    try:
        app = init_app(settings)
    except CollectorError as exc:
        print(f"configuration error: {exc}", file=sys.stderr)
        return 2
    app.on_startup.append(workers.announce_ready)
    install_loop(settings)
    web.run_app(app, host=settings.host, port=settings.port, reuse_port=True, print=None, **server_options(settings))
    return 0


def install_loop(settings: Settings) -> None:
    if settings.event_loop == "uvloop":
        import uvloop

        uvloop.install()


def die_with_parent() -> None:
    """A worker dies with the primary that started it (even on its kill -9): what it acknowledged is on
    disk, and a new primary must not meet an old worker still appending to a spool folder."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the line above ran
        os._exit(1)


def listening_socket(host: str, port: int, reuse_port: bool = False) -> socket.socket:
    """Bind and listen before the app starts, so the real port is known (COLLECTOR_PORT=0 picks a free one)
    for the printed URLs, the demo site's origin and the URL file; connections made meanwhile wait in the
    backlog until the server accepts them. `reuse_port`: every worker binds the same port and the kernel
    spreads new connections over them."""
    family, kind, proto, _, address = socket.getaddrinfo(
        host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
    )[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def with_bound_port(settings: Settings, port: int) -> Settings:
    """The settings with the port actually bound; the default public URL follows it."""
    if port == settings.port:
        return settings
    public_url = settings.public_url
    if public_url == f"http://{settings.host}:{settings.port}":
        public_url = f"http://{settings.host}:{port}"
    return dataclasses.replace(settings, port=port, public_url=public_url)


async def start_message_ctx(app: web.Application) -> AsyncIterator[None]:
    """Print where things are once storage, the writer, the URL file and the workers are up (root cleanup
    contexts run in order, before the dashboards start)."""
    print(start_message(app), flush=True)
    yield


def start_message(app: web.Application) -> str:
    """What `./run` shows: where the collector, its dashboards and the demo pages are."""
    settings = app[SETTINGS]
    base = settings.public_url.rstrip("/")
    processes = f", {settings.workers} workers" if settings.workers > 1 else ""
    lines = [
        f"collector listening on {base}/  (data in {settings.data_dir}{processes})",
        f"  dashboards: {base}/dashboard/",
    ]
    lines += [f"  demo:       {href}  ({label})" for href, label in demo_links(settings, app[SITES])]
    return "\n".join(lines)


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
