"""Finding and talking to the collector that runs on a data folder, for every command-line tool.

chdb lets one process hold a data folder, so while a collector runs, `python -m dashboards` and
`python -m retention` send their work to it. The collector announces its local URL in the data folder
(`announce`, from the server app's cleanup context); the tools find it there (`running_collector_url`)
and call it with `call_admin` (bearer admin token, JSON in and out).
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from collector.core.errors import CollectorError
from collector.core.settings import Settings

#: written by `python -m collector` into its data folder once it serves, removed at a clean stop:
#: {"url": "http://127.0.0.1:<port>", "pid": <process id>}
URL_FILE = "collector.json"


def running_collector_url(data_dir: Path) -> str | None:
    """The local URL of the collector running on `data_dir` (whatever its port), or None when none runs.

    The collector writes `URL_FILE` into its data folder when it starts serving and removes it when it
    stops cleanly; a file left by a process that no longer exists (kill -9, a crash) counts as none.
    The URL is the listening address as seen from this host (127.0.0.1 for a collector listening on all
    interfaces), not COLLECTOR_PUBLIC_URL, which may name a proxy in front of it."""
    try:
        record = json.loads((data_dir / URL_FILE).read_text())
        url, pid = record["url"], record["pid"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(url, str) or not isinstance(pid, int) or pid <= 0:
        return None
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return None
    except PermissionError:
        pass  # alive, owned by another user
    return url


def local_url(settings: Settings) -> str:
    """How a tool on this host reaches the collector: loopback for a wildcard listen address."""
    host = {"0.0.0.0": "127.0.0.1", "": "127.0.0.1", "::": "::1"}.get(settings.host, settings.host)
    return f"http://[{host}]:{settings.port}" if ":" in host else f"http://{host}:{settings.port}"


def announce(settings: Settings) -> dict[str, Any] | None:
    """Write the URL file atomically; None when the port is not known (0 and no socket bound yet)."""
    if not settings.port:
        return None
    record: dict[str, Any] = {"url": local_url(settings), "pid": os.getpid()}
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    path = settings.data_dir / URL_FILE
    temporary = path.with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(json.dumps(record))
    os.replace(temporary, path)
    return record


def withdraw(settings: Settings, record: dict[str, Any]) -> None:
    """Remove the URL file if it still names this collector (another may have started since)."""
    path = settings.data_dir / URL_FILE
    try:
        if json.loads(path.read_text()) == record:
            path.unlink()
    except (OSError, ValueError):
        pass


class CollectorUnreachable(CollectorError):
    """The running collector did not answer (or answered with an error); the message says which."""

    def __init__(self, message: str, status: int = 0, body: bytes = b"") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


def call(url: str, path: str, token: str, body: dict[str, Any] | None = None, timeout_s: float = 120) -> Any:
    """One JSON call to a running collector: POST `body` when given, else GET; bearer `token` (the admin
    token, or an analyst's API token). Its JSON answer, or CollectorUnreachable with the status and body
    of a refusal."""
    http_request = urllib.request.Request(
        url.rstrip("/") + path,
        data=None if body is None else json.dumps(body).encode(),
        method="GET" if body is None else "POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    try:
        with urllib.request.urlopen(http_request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise CollectorUnreachable(f"collector at {url} refused: {exc.code}", exc.code, exc.read()) from exc
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise CollectorUnreachable(f"collector at {url} unreachable: {exc}") from exc


def call_admin(url: str, path: str, admin_token: str, request: dict[str, Any], timeout_s: float = 3600) -> Any:
    """POST a request to a running collector's admin endpoint (dashboards accounts, retention jobs)."""
    return call(url, path, admin_token, request, timeout_s)
