"""GDPR jobs with COLLECTOR_WORKERS=2: an erase or export run through the primary sees every acknowledged row.

A non-primary worker spools its uploads into `spool/w1/` and keeps its open segment locked until it seals
it; with an hour-long batch interval it would seal only at shutdown. The primary must make it seal (and
wait) before the job, or an erase misses those rows and they land afterwards, and an export leaves them
out. Uploads go over new connections until one is in w1's segment (read back from the file), then the
real `python -m retention` CLI runs against the running collector.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import orjson

from collector.core.settings import Settings
from collector.ingest.spool import SEGMENT_GLOB, read_segment
from ingest_schema.hashing import Hasher
from ingest_schema.storage import Storage
from retention.jobs import visitor_tables
from tests.support.collector import ROOT, clarity_fixture
from tests.support.process import port_of, post, process_env, start_process, stop_process

#: one real clarity-js upload, sent again and again as new page views (own session ids) of one visitor
FIXTURE = "default_001"


def visitor_upload(visitor: str, number: int) -> bytes:
    document = clarity_fixture(FIXTURE).document
    envelope = list(document["e"])
    envelope[5], envelope[6] = visitor, f"{visitor}-s{number}"
    return orjson.dumps({**document, "e": envelope})


def in_worker_spool(folder: Path, visitor_hash: int) -> bool:
    """True once a segment in worker 1's spool folder holds a row of this visitor."""
    needle = str(visitor_hash).encode()
    for segment in (folder / "data" / "spool" / "w1").glob(SEGMENT_GLOB):
        try:
            if any(needle in block.data for block in read_segment(segment)):
                return True
        except FileNotFoundError:
            continue  # drained meanwhile
    return False


def send_until_worker_has_some(port: int, folder: Path, visitor: str, visitor_hash: int) -> int:
    """Upload page views of `visitor`, each on a new connection, until worker 1 spooled one; how many."""
    for number in range(400):
        assert post(port, visitor_upload(visitor, number)) == 204
        if in_worker_spool(folder, visitor_hash):
            return number + 1
    raise AssertionError("no upload reached worker 1")


def retention_cli(env: dict[str, str], *args: str) -> tuple[int, dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "retention", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=600
    )
    assert done.stdout.strip(), done.stderr
    return done.returncode, json.loads(done.stdout)


def stored_rows(folder: Path, visitor_hash: int) -> dict[str, int]:
    """Rows of the visitor per table, read from the stopped collector's chdb folder."""
    storage = Storage(f"chdb://{folder / 'data' / 'clickhouse'}", "analytics")
    try:
        counts = {}
        for table in visitor_tables():
            sql = f"SELECT count() FROM analytics.`{table}` WHERE visitor_hash = {visitor_hash}"
            [(count,)] = storage.query_rows(sql)
            counts[table] = int(count)
        return counts
    finally:
        storage.close()


def events_per_upload() -> int:
    return len(clarity_fixture(FIXTURE).document["a"])


def test_workers_gdpr_erase_and_export_see_rows_still_in_another_workers_open_segment(tmp_path: Path) -> None:
    env = process_env(tmp_path, workers=2, batch_interval_ms=3_600_000)
    hasher = Hasher(Settings.from_env(env).secret_key)
    erased_hash, exported_hash = hasher.visitor("proj123", "erase-me"), hasher.visitor("proj123", "export-me")
    process = start_process(env)
    try:
        sent = send_until_worker_has_some(port_of(env), tmp_path, "erase-me", erased_hash)
        code, report = retention_cli(env, "erase", "--visitor", "erase-me")
        assert code == 0 and report["ok"], report
        assert report["erased"]["playback"] == sent, "every acknowledged upload erased, whichever worker took it"
        code, again = retention_cli(env, "export", "--visitor", "erase-me", "--output", str(tmp_path / "again"))
        assert code == 0 and sum(again["rows"].values()) == 0, again["rows"]

        sent = send_until_worker_has_some(port_of(env), tmp_path, "export-me", exported_hash)
        code, export = retention_cli(env, "export", "--visitor", "export-me", "--output", str(tmp_path / "export"))
        assert code == 0, export
        assert export["rows"]["playback"] == sent, "the export holds the worker's spooled uploads too"
        assert export["rows"]["events"] == sent * events_per_upload()
    finally:
        assert stop_process(process) == 0
    assert sum(stored_rows(tmp_path, erased_hash).values()) == 0, "nothing of the erased visitor came back"
    assert stored_rows(tmp_path, exported_hash)["playback"] == sent


def admin_over_primary_socket(folder: Path, token: str, body: dict[str, Any]) -> tuple[int, str, dict[str, Any]]:
    """POST /admin/retention to the primary itself, over its internal unix socket (the shared TCP port
    may hand the connection to the stopped worker). Status, Retry-After and the JSON answer."""

    class UnixConnection(http.client.HTTPConnection):
        def connect(self) -> None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(self.timeout)
            self.sock.connect(str(folder / "data" / "primary.sock"))

    connection = UnixConnection("primary", timeout=300)
    try:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
        connection.request("POST", "/admin/retention", body=json.dumps(body), headers=headers)
        response = connection.getresponse()
        return response.status, response.getheader("Retry-After") or "", json.loads(response.read())
    finally:
        connection.close()


def test_workers_gdpr_job_fails_with_503_while_a_worker_does_not_answer(tmp_path: Path) -> None:
    """A stopped (SIGSTOP) worker cannot seal its segment: the job is refused with a 503, not run on
    partial data; once the worker runs again the same job through the CLI erases everything."""
    env = process_env(tmp_path, workers=2, batch_interval_ms=3_600_000)
    settings = Settings.from_env(env)
    visitor_hash = Hasher(settings.secret_key).visitor("proj123", "erase-me")
    process = start_process(env)
    try:
        sent = send_until_worker_has_some(port_of(env), tmp_path, "erase-me", visitor_hash)
        [worker] = [int(pid) for pid in Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()]
        os.kill(worker, signal.SIGSTOP)
        try:
            started = time.monotonic()
            request = {"action": "erase", "visitor": "erase-me", "kind": "clarity"}
            status, retry_after, refused = admin_over_primary_socket(tmp_path, settings.admin_token, request)
            waited = time.monotonic() - started
        finally:
            os.kill(worker, signal.SIGCONT)
        assert status == 503 and retry_after.isdigit(), (status, refused)
        assert "worker 1 did not seal" in refused["error"], refused
        print(f"erase refused after {waited:.1f} s while worker 1 was stopped")
        code, report = retention_cli(env, "erase", "--visitor", "erase-me")
        assert code == 0 and report["erased"]["playback"] == sent, report
    finally:
        assert stop_process(process) == 0
    assert sum(stored_rows(tmp_path, visitor_hash).values()) == 0
