"""Shared fixtures: the real collector on a free port over a real socket, on chdb in a temp folder.

chdb opens one data folder per process, so the whole test session shares one folder and each
test gets its own database in it; subprocess tests use folders of their own.
"""

from __future__ import annotations

import asyncio
import json
import socket
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Iterator, Protocol

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from collector.core.keys import SETTINGS, STORAGE
from collector.core.settings import Settings
from collector.core.sites import Site, SiteRegistry, site_from_dict
from collector.ingest.keys import SERVICES, WRITER
from collector.server.accesslog import PrivacyAccessLogger
from collector.server.app import init_app
from ingest_schema.storage import Storage

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures"
CLARITY_FIXTURES = FIXTURES / "clarity"
MATOMO_FIXTURES = FIXTURES / "matomo"
ORIGIN = "http://127.0.0.1:8765"
DESKTOP_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
OUTPUT_DIR = ROOT / "test-output"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class FixturePayload:
    name: str
    body: bytes
    headers: dict[str, str]
    document: dict[str, Any]


def clarity_fixture(name: str) -> FixturePayload:
    """A captured clarity-js upload: exact wire bytes and the request headers it came with."""
    scenario, number = name.rsplit("_", 1)
    headers: dict[str, str] = {}
    for line in (CLARITY_FIXTURES / f"{scenario}_requests.jsonl").read_text().splitlines():
        record = json.loads(line)
        if int(record["n"]) == int(number):
            headers = record["headers"]
    body = (CLARITY_FIXTURES / f"{name}.bin").read_bytes()
    document = json.loads((CLARITY_FIXTURES / f"{name}.json").read_text())
    return FixturePayload(name, body, headers, document)


def clarity_fixture_names(prefix: str = "") -> list[str]:
    return sorted(p.stem for p in CLARITY_FIXTURES.glob(f"{prefix}*.bin"))


def replay_headers(payload: FixturePayload) -> dict[str, str]:
    """The captured browser headers, minus hop-by-hop ones; a desktop UA replaces HeadlessChrome
    (which the bot filter drops on purpose)."""
    keep = {"Origin", "Referer", "Content-Type", "Accept", "Sec-Fetch-Mode", "Sec-Fetch-Site", "Sec-Fetch-Dest"}
    headers = {k: v for k, v in payload.headers.items() if k in keep}
    headers["User-Agent"] = DESKTOP_UA
    return headers


def make_site(**overrides: Any) -> Site:
    raw = {"id": "proj123", "origins": [ORIGIN], "consent": "explicit", "masking": "balanced"}
    raw.update(overrides)
    return site_from_dict(raw)


@dataclass
class RunningCollector:
    url: str
    app: web.Application
    runner: web.AppRunner
    http: aiohttp.ClientSession
    #: requests that test browsers sent to this collector, by route: a browser test has settled once the
    #: collector's request counter covers them (kept here, per collector object, never keyed by id())
    requests_sent: Counter[str] = field(default_factory=Counter)

    @property
    def storage(self) -> Storage:
        return self.app[STORAGE]

    async def flush(self) -> None:
        await self.app[WRITER].flush()

    async def post(self, path: str, data: bytes | str, headers: dict[str, str] | None = None) -> tuple[int, bytes, Any]:
        async with self.http.post(self.url + path, data=data, headers=headers or {}) as response:
            return response.status, await response.read(), response.headers

    async def send(self, payload: FixturePayload, **extra_headers: str) -> int:
        headers = replay_headers(payload)
        headers.update(extra_headers)
        status, body, _ = await self.post("/collect", payload.body, headers)
        assert body == b"", "the collector must never answer with a body"
        return status

    def rows(self, sql: str, **params: Any) -> list[tuple[Any, ...]]:
        return self.storage.query_rows(sql.replace("{db}", self.storage.database), params or None)

    def count(self, table: str, where: str = "1") -> int:
        return int(self.rows(f"SELECT count() FROM {{db}}.{table} WHERE {where}")[0][0])

    async def settled_count(self, table: str, where: str = "1") -> int:
        """A count after a flush. The writer inserts a spool segment table by table, so a plain count can
        see one table of an upload before another; after `flush()` every received upload is in every table."""
        await self.flush()
        return self.count(table, where)


class SettingsFactory(Protocol):
    """The `settings_factory` fixture: test settings (own database, short batches) with overrides."""

    def __call__(self, **overrides: Any) -> Settings: ...


class CollectorFactory(Protocol):
    """The `collector_factory` fixture: start a collector for these sites (default: `make_site()`)."""

    async def __call__(self, *sites: Site, port: int = 0, **settings_overrides: Any) -> RunningCollector: ...


@pytest.fixture(scope="session")
def chdb_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("chdb") / "clickhouse"


@pytest.fixture
def settings_factory(chdb_folder: Path, tmp_path: Path) -> SettingsFactory:
    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "data_dir": tmp_path / "data",
            "clickhouse_dsn": f"chdb://{chdb_folder}",
            "database": "t_" + uuid.uuid4().hex[:12],
            "port": 0,
            "batch_interval_ms": 200,
            "secret_key": "test-secret-key",
            "sites_file": tmp_path / "no-sites.toml",
        }
        values.update(overrides)
        return Settings.from_env({}, **values)

    return build


async def start_collector(settings: Settings, sites: SiteRegistry, port: int = 0) -> RunningCollector:
    app = init_app(settings, sites)
    runner = web.AppRunner(app, access_log_class=PrivacyAccessLogger)
    await runner.setup()
    port = port or free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return RunningCollector(f"http://127.0.0.1:{port}", app, runner, aiohttp.ClientSession())


async def stop_collector(collector: RunningCollector) -> None:
    await collector.http.close()
    await collector.runner.cleanup()


@pytest_asyncio.fixture
async def collector_factory(settings_factory: SettingsFactory) -> AsyncIterator[CollectorFactory]:
    """Start collectors (one at a time: chdb holds one folder per process); all stop at the end."""
    started: list[RunningCollector] = []

    async def start(*sites: Site, port: int = 0, **settings_overrides: Any) -> RunningCollector:
        settings = settings_factory(**settings_overrides)
        registry = SiteRegistry({s.id: s for s in (sites or (make_site(),))})
        running = await start_collector(settings, registry, port)
        started.append(running)
        return running

    yield start
    for running in started:
        if not running.http.closed:
            await stop_collector(running)
    await asyncio.to_thread(drop_databases, started)


def drop_databases(started: list[RunningCollector]) -> None:
    """Drop the test's databases once its collectors have stopped. The session's chdb folder otherwise
    keeps every test's tables, and ClickHouse loads and schedules all of them: a collector's start-up
    grew from 0.3 s to 2.6 s over 150 kept databases, with 10x the CPU."""
    on_chdb = [r.app[SETTINGS] for r in started if r.app[SETTINGS].clickhouse_dsn.startswith("chdb://")]
    databases = {s.database for s in on_chdb}
    if not databases:
        return
    storage = Storage(on_chdb[0].clickhouse_dsn, on_chdb[0].database, workers=1)
    try:
        for database in sorted(databases):
            storage.command(f"DROP DATABASE IF EXISTS `{database}` SYNC")
    finally:
        storage.close()


@pytest_asyncio.fixture
async def collector(collector_factory: CollectorFactory) -> RunningCollector:
    """A collector for site `proj123` (explicit consent, balanced masking)."""
    return await collector_factory()


@pytest_asyncio.fixture
async def loader_collector(collector_factory: CollectorFactory) -> RunningCollector:
    """A collector whose site loads the tracker only after consent (source 0 counts)."""
    return await collector_factory(make_site(consent="loader"))


@pytest.fixture
def output_dir() -> Iterator[Path]:
    OUTPUT_DIR.mkdir(exist_ok=True)
    yield OUTPUT_DIR


def services(collector: RunningCollector) -> Any:
    return collector.app[SERVICES]
