"""Graceful shutdown: SIGTERM in the middle of a load of real uploads; the process stops accepting,
answers what it took, flushes, exits 0, and after a restart every acknowledged upload is stored once."""

from __future__ import annotations

import signal
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from collector.core.settings import Settings
from ingest_schema.hashing import Hasher
from tests.support.process import (
    port_of,
    post,
    process_env,
    start_process,
    stored_visitors,
    unique_upload,
    wait_for_acknowledged,
)

UPLOADS = 4000


def test_sigterm_mid_load_exits_0_and_stores_every_acknowledged_upload_once(tmp_path: Path) -> None:
    env = process_env(tmp_path, batch_interval_ms=300)
    port = port_of(env)
    process = start_process(env)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(post, port, unique_upload(n)) for n in range(UPLOADS)]
        wait_for_acknowledged(futures)
        process.send_signal(signal.SIGTERM)
        sent_at = time.monotonic()
        exit_code = process.wait(timeout=60)
        stopped_in = time.monotonic() - sent_at
        statuses = [future.result() for future in futures]
    acknowledged = [n for n, status in enumerate(statuses) if status == 204]
    assert exit_code == 0, f"exit code {exit_code}: {process.stderr.read().decode()[-2000:] if process.stderr else ''}"
    assert 50 < len(acknowledged) < UPLOADS, "SIGTERM landed mid-load"
    assert set(statuses) <= {204, 0}, f"answers other than 204 or no answer: {sorted(set(statuses))}"
    left = list((tmp_path / "data" / "spool").glob("segment-*.log"))
    assert left == [], "the spool was written out to ClickHouse before the exit"

    restarted = start_process(env)
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(timeout=120) == 0
    stored = stored_visitors(tmp_path)
    hasher = Hasher(Settings.from_env(env).secret_key)
    assert all(count == 1 for count in stored.values()), "no upload stored twice"
    missing = [n for n in acknowledged if hasher.visitor("proj123", f"u{n}") not in stored]
    assert missing == [], f"{len(missing)} acknowledged uploads lost"
    print(
        f"SIGTERM mid-load: {len(acknowledged)} acknowledged, {len(stored)} stored, 0 lost, 0 duplicates, "
        f"exit 0 after {stopped_in:.2f} s"
    )
