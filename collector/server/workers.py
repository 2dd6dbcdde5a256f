"""The primary starts, watches and stops the other workers (COLLECTOR_WORKERS, docs/scale-out.md).

Each worker is `python -m collector` with COLLECTOR_WORKER_INDEX and the bound port in its
environment. A worker that dies (a crash, kill -9, the OOM killer) is started again under the same
index, so its spool folder has one writer at a time; what it acknowledged is fsynced there and the
primary (embedded engine) or the new worker (a ClickHouse server) inserts it. On shutdown the workers
get SIGTERM first and the primary waits for them (they finish their requests and seal their spools)
before its writer's final flush, which then takes their segments too.

Before a job that must see every acknowledged row (retention, a GDPR erasure or export), the primary
asks each live worker over its control socket (`DATA_DIR/worker-<index>.sock`, 0600) to seal its open
spool segment, and waits for the answer (`AllWorkersWrites`): a worker's rows are in a sealed segment,
or in ClickHouse, before the primary's own flush drains every folder. A dead worker is skipped (its
segment lock died with it); a live one that does not answer within SEAL_TIMEOUT_S fails the job
(`WorkersBehind`, a 503) rather than letting it run on partial data.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import time
from pathlib import Path
from typing import AsyncIterator

import aiohttp
from aiohttp import web

from collector.core.errors import WorkersBehind
from collector.core.keys import PENDING_WRITES, SETTINGS, PendingWrites
from collector.core.settings import Settings
from collector.ingest.keys import WRITER
from collector.ingest.metrics import forget_process
from collector.server.primary import private_unix_socket
from ingest_schema.storage import StorageError

log = logging.getLogger(__name__)

#: a worker that dies this soon after starting is started again only after a pause (a broken setting
#: must not make the primary fork in a tight loop)
QUICK_DEATH_S = 5.0
#: how long the primary waits for a new worker to say it is ready before going on without it
READY_TIMEOUT_S = 120.0
READY_LINE = b"collector worker ready\n"
RESTART_PAUSE_S = 5.0
STOP_TIMEOUT_S = 30.0
#: how long the primary waits for a live worker to seal its open spool segment before refusing a job
SEAL_TIMEOUT_S = 15.0
#: pause between two attempts to reach a worker's control socket (it may be restarting)
SEAL_RETRY_S = 0.2


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
        """Holds the worker processes by index; `seal_all()` makes the live ones seal their spools."""
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
            process = self.processes[index]
            code = await process.wait()
            forget_process(process.pid)
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
            forget_process(process.pid)
        for watcher in self._watchers:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher

    async def seal_all(self) -> None:
        """Every worker alive now seals its open spool segment (with a ClickHouse server: inserts its
        spool); WorkersBehind when one does not answer within SEAL_TIMEOUT_S."""
        await asyncio.gather(*(self._seal(index) for index in self.processes))

    async def _seal(self, index: int) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + SEAL_TIMEOUT_S
        path = control_socket_path(self._settings.data_dir, index)
        problem = "no answer"
        while True:
            process = self.processes.get(index)
            if process is None or process.returncode is not None:
                return  # dead: its segment lock went with it, the primary's drain takes the segment
            left = deadline - loop.time()
            if left <= 0:
                raise WorkersBehind(f"worker {index} did not seal its spool in {SEAL_TIMEOUT_S:.0f} s: {problem}")
            try:
                async with aiohttp.ClientSession(
                    connector=aiohttp.UnixConnector(path=str(path)), timeout=aiohttp.ClientTimeout(total=left)
                ) as session:
                    async with session.post("http://worker/seal") as answer:
                        if answer.status == 200:
                            return
                        problem = f"answered {answer.status}: {(await answer.text())[:100]}"
            except (aiohttp.ClientError, OSError, TimeoutError) as exc:
                problem = f"{type(exc).__name__} {exc}"[:200]
            await asyncio.sleep(min(SEAL_RETRY_S, max(0.0, deadline - loop.time())))


class AllWorkersWrites:
    """The primary's PENDING_WRITES with workers: `flush()` first makes every live worker seal its open
    segment, then flushes the primary's writer, which inserts its own spool and every worker's sealed
    segments. So a job run after `flush()` sees every row acknowledged before it started."""

    def __init__(self, supervisor: Supervisor, writer: PendingWrites) -> None:
        self._supervisor = supervisor
        self._writer = writer

    async def flush(self) -> None:
        await self._supervisor.seal_all()
        await self._writer.flush()


SUPERVISOR = web.AppKey("supervisor", Supervisor)


async def supervisor_ctx(app: web.Application) -> AsyncIterator[None]:
    """Registered after the writer, so on shutdown the workers stop before the writer's final flush."""
    supervisor = app[SUPERVISOR] = Supervisor(app[SETTINGS])
    app[PENDING_WRITES] = AllWorkersWrites(supervisor, app[WRITER])
    await supervisor.start()
    yield
    await supervisor.stop()


# -- a worker's side: the control socket the primary asks to seal --


def control_socket_path(data_dir: Path, index: int) -> Path:
    return data_dir / f"worker-{index}.sock"


CONTROLLED = web.AppKey("controlled", web.Application)


async def seal(request: web.Request) -> web.Response:
    """Commit and seal this worker's open spool segment (with storage: insert it); 200 once done."""
    try:
        await request.app[CONTROLLED][WRITER].flush()
    except (StorageError, OSError) as exc:  # the primary retries until its deadline, then refuses the job
        log.error("sealing the spool for the primary failed: %s", exc)
        return web.Response(status=503, text=str(exc)[:200])
    return web.Response(text="sealed")


async def control_ctx(app: web.Application) -> AsyncIterator[None]:
    """A worker's control socket, open from before it reports ready (so before it takes any upload) until
    it stops (registered after the writer's context, so it closes before the writer's own final seal)."""
    settings = app[SETTINGS]
    control = web.Application()
    control[CONTROLLED] = app
    control.router.add_post("/seal", seal)
    runner = web.AppRunner(control, access_log=None)
    await runner.setup()
    path = control_socket_path(settings.data_dir, settings.worker_index)
    await web.SockSite(runner, private_unix_socket(path, 16)).start()
    yield
    await runner.cleanup()
    path.unlink(missing_ok=True)
