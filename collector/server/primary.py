"""The primary worker's internal socket, and what the other workers reach through it (docs/scale-out.md).

With COLLECTOR_WORKERS > 1 every worker serves `POST /collect` itself; everything else (Matomo hits,
whose visits live in one sessionizer; dashboards, the admin and retention endpoints, the reporting
API, pages and scripts) is forwarded by the other workers to the primary over a unix socket in the data
folder (mode 0600). On the embedded engine the other workers also ask the primary the two consent
ledger questions (`RemoteLedger`): only it may open ClickHouse.

A request that came over the internal socket carries the original client's address in `PEER_HEADER`;
the primary honours that header only on the internal socket, and does not rate-limit such a request
again (the worker that took the connection did).
"""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any, AsyncIterator

import aiohttp
from aiohttp import web
from aiohttp.typedefs import Handler
from multidict import CIMultiDict

from collector.core.keys import SETTINGS
from collector.ingest.consent import LedgerReader
from collector.ingest.consent_store import StoredDecision
from ingest_schema.storage import StorageError

SOCKET_NAME = "primary.sock"
PEER_HEADER = "X-Collector-Peer"
#: set on a request that another worker forwarded (the rate limit skips it)
FORWARDED = "collector.forwarded"
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailers",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "host",
    }
)
PRIMARY_SESSION = web.AppKey("primary_session", aiohttp.ClientSession)
PRIMARY_LEDGER = web.AppKey("primary_ledger", LedgerReader)
#: the URL prefix of requests over the unix socket (the host part is not used)
BASE = "http://primary"


def socket_path(data_dir: Path) -> Path:
    return data_dir / SOCKET_NAME


def private_unix_socket(path: Path, backlog: int) -> socket.socket:
    """A listening unix socket readable by this user only; a stale file of a dead run is replaced."""
    path.unlink(missing_ok=True)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(path))
        path.chmod(0o600)
        sock.listen(backlog)
    except OSError:
        sock.close()
        raise
    sock.setblocking(False)
    return sock


def internal_socket(data_dir: Path) -> socket.socket:
    """The primary's socket for the other workers' forwarded requests and ledger questions."""
    return private_unix_socket(socket_path(data_dir), 1024)


def over_internal_socket(request: web.Request) -> bool:
    transport = request.transport
    raw = transport.get_extra_info("socket") if transport is not None else None
    return raw is not None and raw.family == socket.AF_UNIX


@web.middleware
async def from_worker(request: web.Request, handler: Handler) -> web.StreamResponse:
    """On the primary: a request another worker forwarded is handled as if its client had sent it."""
    if over_internal_socket(request):
        request = request.clone(remote=request.headers.get(PEER_HEADER, ""))
        request[FORWARDED] = True
    return await handler(request)


# -- the primary's side: the ledger questions, answered over the internal socket only --


async def ledger_pageview(request: web.Request) -> web.Response:
    if not over_internal_socket(request):
        raise web.HTTPNotFound()
    body = await request.json()
    decisions = await request.app[PRIMARY_LEDGER].pageview_decisions(
        str(body["site"]), int(body["visitor"]), int(body["pv"])
    )
    return web.json_response({"decisions": decisions})


async def ledger_grant(request: web.Request) -> web.Response:
    if not over_internal_socket(request):
        raise web.HTTPNotFound()
    body = await request.json()
    granted = await request.app[PRIMARY_LEDGER].recent_explicit_grant(str(body["site"]), int(body["visitor"]))
    return web.json_response({"granted": granted})


def setup_internal_routes(app: web.Application) -> None:
    """The ledger questions of the other workers (the app sets PRIMARY_LEDGER once storage is open)."""
    app.router.add_post("/internal/ledger/pageview", ledger_pageview)
    app.router.add_post("/internal/ledger/grant", ledger_grant)


# -- the other workers' side --


class RemoteLedger:
    """The ledger questions asked of the primary (a worker on the embedded engine has no storage)."""

    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def _ask(self, path: str, body: dict[str, Any]) -> Any:
        try:
            async with self._session.post(BASE + path, json=body) as response:
                if response.status != 200:
                    raise StorageError(f"primary answered {response.status} to {path}")
                return await response.json()
        except (aiohttp.ClientError, OSError, TimeoutError) as exc:
            raise StorageError(f"primary unreachable: {exc}") from exc

    async def pageview_decisions(self, site: str, visitor_hash: int, pageview_id: int) -> list[StoredDecision]:
        question = {"site": site, "visitor": visitor_hash, "pv": pageview_id}
        answer = await self._ask("/internal/ledger/pageview", question)
        return [(int(t), bool(g), int(s)) for t, g, s in answer["decisions"]]

    async def recent_explicit_grant(self, site: str, visitor_hash: int) -> bool:
        answer = await self._ask("/internal/ledger/grant", {"site": site, "visitor": visitor_hash})
        return bool(answer["granted"])


async def primary_session_ctx(app: web.Application) -> AsyncIterator[None]:
    """One connection pool to the primary's unix socket, for forwarded requests and ledger questions."""
    connector = aiohttp.UnixConnector(path=str(socket_path(app[SETTINGS].data_dir)), limit=64)
    timeout = aiohttp.ClientTimeout(total=3600, sock_connect=10)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, auto_decompress=False) as session:
        app[PRIMARY_SESSION] = session
        yield


async def forward(request: web.Request) -> web.StreamResponse:
    """Send a request to the primary as it came (method, path, query, headers, body) and its answer back."""
    headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
    headers[PEER_HEADER] = request.remote or ""
    if request.host:
        headers["Host"] = request.host
    body = await request.read() if request.body_exists else None
    try:
        async with request.app[PRIMARY_SESSION].request(
            request.method,
            BASE + request.path_qs,
            headers=headers,
            data=body,
            allow_redirects=False,
        ) as answer:
            payload = await answer.read()
            out = CIMultiDict((k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP)
            return web.Response(status=answer.status, body=payload, headers=out)
    except (aiohttp.ClientError, OSError) as exc:
        return web.Response(
            status=503,
            text=f"primary worker unreachable: {exc}"[:200],
            headers={"Retry-After": "5"},
            content_type="text/plain",
        )


def setup_forwarding(app: web.Application) -> None:
    """Everything a worker does not serve itself goes to the primary (added last: routes match in order)."""
    app.router.add_route("*", "/{tail:.*}", forward)
