"""Finding the collector that runs on a data folder, for the command-line tools."""

from __future__ import annotations

import json
import os
from pathlib import Path

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
