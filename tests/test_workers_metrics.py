"""/metrics with COLLECTOR_WORKERS=2 counts the uploads of every worker, not only the primary's."""

from __future__ import annotations

import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from tests.support.process import port_of, post, process_env, start_process, stop_process, unique_upload


def samples(port: int, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    """Every sample of one metric the collector exposes, by its sorted labels."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    return {
        tuple(sorted(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name
    }


def test_workers_metrics_count_the_uploads_of_every_worker(tmp_path: Path) -> None:
    env = process_env(tmp_path, workers=2, batch_interval_ms=3_600_000)
    port = port_of(env)
    process = start_process(env)
    try:
        with ThreadPoolExecutor(max_workers=4) as pool:
            statuses = list(pool.map(lambda n: post(port, unique_upload(n)), range(60)))
        acknowledged = statuses.count(204)
        assert acknowledged == len(statuses), sorted(set(statuses))
        folders = {p.parent.name for p in (tmp_path / "data" / "spool").rglob("segment-*.log")}
        assert "w1" in folders and len(folders) == 2, f"both workers took uploads: {folders}"

        requests = samples(port, "collector_requests_total")
        assert requests.get((("route", "collect"), ("status", "204"))) == acknowledged
        spool_bytes = sum(samples(port, "collector_spool_bytes").values())
        on_disk = sum(p.stat().st_size for p in (tmp_path / "data" / "spool").rglob("segment-*.log"))
        assert spool_bytes == on_disk, "the spool gauge adds up both workers' segments"
    finally:
        assert stop_process(process) == 0
