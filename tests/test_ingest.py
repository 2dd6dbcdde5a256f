"""The write path: batching by rows and by time, a clean shutdown that loses nothing, migrations, config."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from collector.core.errors import ConfigError
from collector.core.settings import Settings
from collector.core.sites import load_sites
from collector.ingest.keys import METRICS, WRITER
from ingest_schema import MIGRATIONS, TABLES
from ingest_schema.migrate import apply_migrations
from ingest_schema.storage import Storage
from tests.support.collector import (
    CollectorFactory,
    RunningCollector,
    clarity_fixture,
    clarity_fixture_names,
    make_site,
    stop_collector,
)
from tests.support.rows import event_row_aged, playback_row_aged


async def _wait_for(predicate: Any, seconds: float = 10.0) -> bool:
    deadline = asyncio.get_running_loop().time() + seconds
    while asyncio.get_running_loop().time() < deadline:
        if predicate():
            return True
        await asyncio.sleep(0.05)
    return False


async def test_ingest_flushes_when_a_buffer_reaches_batch_rows(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(make_site(consent="loader"), batch_rows=5, batch_interval_ms=60_000)
    await collector.send(clarity_fixture("default_001"))
    assert await _wait_for(lambda: collector.count("events") >= 5)


async def test_ingest_flushes_on_the_interval(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(make_site(consent="loader"), batch_rows=100_000, batch_interval_ms=200)
    await collector.send(clarity_fixture("default_001"))
    assert await _wait_for(lambda: collector.count("playback") == 1)


async def test_ingest_clean_shutdown_writes_every_accepted_event(collector_factory: CollectorFactory) -> None:
    collector = await collector_factory(make_site(consent="loader"), batch_rows=100_000, batch_interval_ms=3_600_000)
    names = clarity_fixture_names("default_") + clarity_fixture_names("mutation_")
    for name in names:
        assert await collector.send(clarity_fixture(name)) == 204
    accepted = sum(len(clarity_fixture(n).document["a"]) for n in names)
    assert collector.count("events") == 0, "nothing flushed yet: the interval is an hour"
    database, dsn = collector.storage.database, collector.storage.dsn
    await stop_collector(collector)
    storage = Storage(dsn, database)
    try:
        assert storage.query_rows(f"SELECT count() FROM {storage.table('events')}")[0][0] == accepted
        assert storage.query_rows(f"SELECT count() FROM {storage.table('playback')}")[0][0] == len(names)
    finally:
        storage.close()


async def test_ingest_migrations_are_idempotent(collector: RunningCollector) -> None:
    assert collector.storage.migrate() == []
    versions = collector.rows("SELECT version FROM {db}.schema_migrations FINAL ORDER BY version")
    assert versions == [(m.version,) for m in MIGRATIONS]
    columns = {
        r[0] for r in collector.rows("SELECT name FROM system.columns WHERE database = '{db}' AND table = 'pageviews'")
    }
    assert set(TABLES["pageviews"].column_names) == columns, "migrations build exactly the declared columns"


def _schema(collector: RunningCollector, database: str) -> dict[str, str]:
    """Every table and view of a database as ClickHouse describes it, the database name taken out."""
    rows = collector.rows(
        "SELECT name, create_table_query FROM system.tables WHERE database = {d:String} ORDER BY name", d=database
    )
    return {str(name): str(query).replace(database, "<db>") for name, query in rows}


async def test_ingest_a_new_database_gets_the_schema_that_replaying_every_migration_builds(
    collector: RunningCollector,
) -> None:
    """A first start creates the latest schema in one step (fast); it must equal the migrations replayed in order."""
    replayed = collector.storage.database + "_replayed"
    applied = await asyncio.to_thread(apply_migrations, collector.storage, replayed, True)
    try:
        assert applied == [m.version for m in MIGRATIONS]
        fresh, step_by_step = _schema(collector, collector.storage.database), _schema(collector, replayed)
        assert len(fresh) == len(TABLES) + 1, sorted(fresh)  # every declared table and the visit view
        assert fresh == step_by_step
        versions = collector.rows(f"SELECT version FROM `{replayed}`.schema_migrations FINAL ORDER BY version")
        assert versions == collector.rows("SELECT version FROM {db}.schema_migrations FINAL ORDER BY version")
    finally:
        collector.storage.command(f"DROP DATABASE IF EXISTS `{replayed}`")


def test_ingest_settings_from_environment(tmp_path: Path) -> None:
    env = {
        "COLLECTOR_DATA_DIR": str(tmp_path),
        "COLLECTOR_CLICKHOUSE_DSN": "http://writer:s3cret@clickhouse:8123/prod",
        "COLLECTOR_BATCH_ROWS": "123",
    }
    settings = Settings.from_env(env)
    assert settings.batch_rows == 123 and settings.port == 8000
    assert "s3cret" not in str(settings.describe()) and "s3cret" not in repr(settings)
    assert (tmp_path / "secret.key").stat().st_mode & 0o777 == 0o600
    assert Settings.from_env(env).secret_key == settings.secret_key, "the generated key is kept"
    assert Settings.from_env({"COLLECTOR_DATA_DIR": str(tmp_path)}).clickhouse_dsn == f"chdb://{tmp_path}/clickhouse"
    with pytest.raises(ConfigError):
        Settings.from_env({**env, "COLLECTOR_BATCH_ROWS": "many"})


def test_ingest_sites_file_is_validated(tmp_path: Path) -> None:
    sites_file = tmp_path / "sites.toml"
    sites_file.write_text(
        '[[site]]\nid = "shop"\norigins = ["https://shop.example"]\nconsent = "loader"\nmasking = "strict"\n'
        'sensitive_params = ["coupon"]\nmatomo_idsite = 3\n'
    )
    registry = load_sites(sites_file, "http://127.0.0.1:8000")
    shop = registry.get("shop")
    assert shop is not None and shop.masking == "strict" and "coupon" in shop.sensitive_params
    assert registry.by_matomo_id(3) is shop and shop.allows_origin("https://shop.example/")
    sites_file.write_text('[[site]]\nid = "shop"\nmasking = "loose"\n')
    with pytest.raises(ConfigError, match="masking"):
        load_sites(sites_file, "http://127.0.0.1:8000")
    sites_file.write_text('[[site]]\nid = "shop"\norigins = ["*"]\n')
    with pytest.raises(ConfigError, match="origin"):
        load_sites(sites_file, "http://127.0.0.1:8000")
    demo = load_sites(tmp_path / "missing.toml", "http://127.0.0.1:8000").get("demo")
    assert demo is not None and demo.consent == "explicit"


async def test_ingest_a_busy_table_does_not_starve_the_others(collector_factory: CollectorFactory) -> None:
    """Rows keep arriving for one table while a flush runs: the flush still ends and the other
    tables' rows are written (a flush takes a snapshot instead of draining a moving buffer). The batch
    timer is set beyond the test, so the only inserts are the flush's own."""
    collector = await collector_factory(batch_interval_ms=600_000)
    writer = collector.app[WRITER]
    stop = asyncio.Event()

    async def busy_producer() -> None:
        while not stop.is_set():
            writer.add([event_row_aged(timedelta(0), 9) for _ in range(20)])
            await asyncio.sleep(0.001)

    producer = asyncio.create_task(busy_producer())
    try:
        await asyncio.sleep(0.05)
        writer.add([playback_row_aged(timedelta(0), 0, 1)])
        registry = collector.app[METRICS].registry
        before = registry.get_sample_value("collector_batch_rows_count", {"table": "events"}) or 0
        await asyncio.wait_for(writer.flush(), timeout=60)
        assert not producer.done(), "the producer was still adding rows during the flush"
        inserts = (registry.get_sample_value("collector_batch_rows_count", {"table": "events"}) or 0) - before
        assert inserts == 1, "one insert for the rows buffered when the flush began, not a chase"
    finally:
        stop.set()
        await producer
    assert collector.count("playback") == 1
