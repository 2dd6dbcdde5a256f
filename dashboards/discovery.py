"""Where a running collector listens, for the tools of the same data folder (the accounts CLI).

The collector writes its local URL into `DATA_DIR/collector.url` when it starts and removes it when
it stops, so `python -m dashboards …` reaches a collector on a non-default port without being told.
"""

from __future__ import annotations

import os
from pathlib import Path

from collector.core.settings import Settings

URL_FILE = "collector.url"


def local_url(settings: Settings) -> str:
    """The URL of this collector as seen from its own host (a wildcard listen address is loopback)."""
    host = settings.host if settings.host not in ("", "0.0.0.0", "::") else "127.0.0.1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{settings.port}"


def _path(settings: Settings) -> Path:
    return settings.data_dir / URL_FILE


def announce(settings: Settings) -> str | None:
    """Write the URL file (atomically); None when the port is not known (0: chosen by the system)."""
    if not settings.port:
        return None
    url = local_url(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    temporary = _path(settings).with_suffix(f".{os.getpid()}.tmp")
    temporary.write_text(url + "\n")
    temporary.replace(_path(settings))
    return url


def withdraw(settings: Settings, url: str) -> None:
    """Remove the URL file if it still names this collector (another may have started since)."""
    try:
        if _path(settings).read_text().strip() == url:
            _path(settings).unlink()
    except OSError:
        pass


def running_url(settings: Settings) -> str:
    """The announced URL of the collector holding this data folder, else the configured one."""
    try:
        announced = _path(settings).read_text().strip()
    except OSError:
        announced = ""
    return announced or local_url(settings)
