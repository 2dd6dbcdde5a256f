"""The primary starts, watches and stops the other workers (COLLECTOR_WORKERS, docs/scale-out.md).

Each worker is `python -m collector` with COLLECTOR_WORKER_INDEX and the bound port in its
environment. A worker that dies (a crash, kill -9, the OOM killer) is started again under the same
index, so its spool folder has one writer at a time; what it acknowledged is fsynced there and the
primary (embedded engine) or the new worker (a ClickHouse server) inserts it. On shutdown the workers
get SIGTERM first and the primary waits for them (they finish their requests and seal their spools)
before its writer's final flush, which then takes their segments too.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from typing import AsyncIterator

from aiohttp import web

from collector.core.keys import SETTINGS
from collector.core.settings import Settings

log = logging.getLogger(__name__)

#: a worker that dies this soon after starting is started again only after a pause (a broken setting
#: must not make the primary fork in a tight loop)
QUICK_DEATH_S = 5.0
#: how long the primary waits for a new worker to say it is ready before going on without it
READY_TIMEOUT_S = 120.0
READY_LINE = b"collector worker ready\n"
RESTART_PAUSE_S = 5.0
STOP_TIMEOUT_S = 30.0


def worker_environment(settings: Settings, index: int) -> dict[str, str]:
    return {
        **os.environ,
        "COLLECTOR_WORKER_INDEX": str(index),
        "COLLECTOR_PORT": str(settings.port),
        "COLLECTOR_WORKERS": str(settings.workers),
    }


async def start_worker(settings: Settings, index: int) -> asyncio.subprocess.Process:
    """Start a worker and wait until it has started its app (it binds the port right after)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "collector",
        env=worker_environment(settings, index),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), READY_TIMEOUT_S)
    except TimeoutError:
        line = b""
    if line != READY_LINE:
        log.error("worker %d did not report ready (%r); going on", index, line[:200])
    return process


async def announce_ready(app: web.Application) -> None:
    """A worker's last startup step: tell the primary (on stdout, a pipe) that it is about to serve."""
    os.write(1, READY_LINE)


class Supervisor:
    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self.processes: dict[int, asyncio.subprocess.Process] = {}
        self._watchers: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        for index in range(1, self._settings.workers):
            self.processes[index] = await start_worker(self._settings, index)
            self._watchers.append(asyncio.create_task(self._watch(index), name=f"worker-{index}"))

    async def _watch(self, index: int) -> None:
        while not self._stopping:
            started = time.monotonic()
            code = await self.processes[index].wait()
            if self._stopping:
                return
            log.error("worker %d exited with %s; starting it again", index, code)
            if time.monotonic() - started < QUICK_DEATH_S:
                await asyncio.sleep(RESTART_PAUSE_S)
            self.processes[index] = await start_worker(self._settings, index)

    async def stop(self) -> None:
        """SIGTERM every worker and wait for them (SIGKILL after STOP_TIMEOUT_S)."""
        self._stopping = True
        for process in self.processes.values():
            if process.returncode is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes.values():
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except TimeoutError:
                log.error("worker %d did not stop in %.0f s: killed", process.pid, STOP_TIMEOUT_S)
                process.kill()
                await process.wait()
        for watcher in self._watchers:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


SUPERVISOR = web.AppKey("supervisor", Supervisor)


async def supervisor_ctx(app: web.Application) -> AsyncIterator[None]:
    """Registered after the writer, so on shutdown the workers stop before the writer's final flush."""
    supervisor = app[SUPERVISOR] = Supervisor(app[SETTINGS])
    await supervisor.start()
    yield
    await supervisor.stop()
