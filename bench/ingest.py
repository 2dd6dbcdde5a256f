"""Ingest benchmark: the collector beside its baselines, on real clarity-js payloads, in one run.

Prints (and writes to bench/RESULTS.md) requests/s, events/s, latency p50/p99 at peak and at half
of peak, peak RSS, ClickHouse rows/s and playback compression, each next to a baseline measured in
the same run: a bare aiohttp handler taking the same bodies, and a raw clickhouse-connect insert of
the same rows. Load comes from wrk on 127.0.0.1, bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from ingest_schema import TABLES
from ingest_schema.storage import Storage

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures" / "clarity"
#: Page views whose consent is given at start (stored in "loader" mode): every event is kept.
CONSENTED = ("default", "mutation", "relaxed", "strict", "reply", "twopage", "relative_url")
PYTHON = sys.executable
WRK_SCRIPT = Path(__file__).with_name("wrk_bodies.lua")
SITES = """[[site]]
id = "proj123"
origins = ["http://127.0.0.1:8765"]
consent = "loader"
masking = "balanced"
"""


@dataclass
class LoadResult:
    requests: int
    seconds: float
    non2xx: int
    socket_errors: int
    p50_ms: float
    p99_ms: float

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listens on {port}")


def fixture_bodies(workdir: Path) -> tuple[Path, float, int]:
    """A list file of the consented payload bodies, the mean events per body and the JSON bytes."""
    paths = sorted(p for p in FIXTURES.glob("*.bin") if p.stem.rsplit("_", 1)[0] in CONSENTED)
    events = 0
    json_bytes = 0
    for path in paths:
        document = json.loads(path.with_suffix(".json").read_text())
        events += len(document.get("a", [])) + len(document.get("p", []))
        json_bytes += len(path.with_suffix(".json").read_bytes())
    listing = workdir / "bodies.txt"
    listing.write_text("\n".join(str(p) for p in paths) + "\n")
    return listing, events / len(paths), json_bytes


def run_wrk(port: int, listing: Path, seconds: int, connections: int, delay_ms: float = 0) -> LoadResult:
    command = [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(WRK_SCRIPT),
        f"http://127.0.0.1:{port}",
        "--",
        str(listing),
    ]
    if delay_ms:
        command.append(str(delay_ms))
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(x for x in output.splitlines() if x.startswith("{"))
    data = json.loads(line)
    return LoadResult(
        requests=data["requests"],
        seconds=data["duration_us"] / 1e6,
        non2xx=data["non2xx"],
        socket_errors=data["socket_errors"],
        p50_ms=data["p50_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
    )


def rss_mb(pid: int, field: str = "VmRSS") -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def process_tree(pid: int) -> list[int]:
    """The collector and its worker processes (COLLECTOR_WORKERS > 1)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        children = []
    return [pid, *(int(c) for c in children)]


def cpu_seconds(pid: int) -> float:
    """User + system CPU of the collector and its workers so far."""
    total = 0.0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total


def scrape_steps(port: int) -> dict[str, tuple[float, float]]:
    """{step: (calls, seconds)} of the /collect path from /metrics, plus the inserts' seconds."""
    import urllib.request

    from prometheus_client.parser import text_string_to_metric_families

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30) as response:
        text = response.read().decode()
    calls: dict[str, float] = {}
    seconds: dict[str, float] = {}
    insert = 0.0
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "collector_ingest_step_calls_total" and sample.labels.get("path") == "collect":
                calls[sample.labels["step"]] = sample.value
            elif sample.name == "collector_ingest_step_seconds_total" and sample.labels.get("path") == "collect":
                seconds[sample.labels["step"]] = sample.value
            elif sample.name == "collector_insert_seconds_sum":
                insert += sample.value
    steps = {step: (calls.get(step, 0.0), seconds.get(step, 0.0)) for step in seconds}
    steps["insert"] = (0.0, insert)
    return steps


class Sampler:
    """Peak RSS of the collector and of each worker, sampled from /proc by a background thread."""

    def __init__(self, pid: int) -> None:
        import threading

        self.pid, self.peak, self.peak_anon, self._stop = pid, 0.0, 0.0, threading.Event()
        self.total_peak = 0.0
        #: the machine's 1-minute load average over the run (the machine may be shared: say how busy it was)
        self.load_low, self.load_high = float("inf"), 0.0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0.0
            for member in process_tree(self.pid):
                try:
                    rss = rss_mb(member)
                    self.peak = max(self.peak, rss)
                    self.peak_anon = max(self.peak_anon, rss_mb(member, "RssAnon"))
                    total += rss
                except (FileNotFoundError, ProcessLookupError):
                    continue
            self.total_peak = max(self.total_peak, total)
            load = os.getloadavg()[0]
            self.load_low, self.load_high = min(self.load_low, load), max(self.load_high, load)
            if not Path(f"/proc/{self.pid}").exists():
                return
            time.sleep(0.1)

    def stop(self) -> tuple[float, float]:
        self._stop.set()
        self._thread.join()
        return self.peak, self.peak_anon


def start(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wait_for_port(port)
    return process


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=120)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def measure_bare(listing: Path, seconds: int, connections: int) -> LoadResult:
    port = free_port()
    process = start([PYTHON, "-m", "bench.bare_server", str(port)], dict(os.environ), port)
    try:
        run_wrk(port, listing, 2, connections)
        return run_wrk(port, listing, seconds, connections)
    finally:
        stop(process)


def measure_collector(
    listing: Path, data_dir: Path, seconds: int, connections: int, extra_env: dict[str, str], half_load: bool = True
) -> dict[str, Any]:
    port = free_port()
    sites = data_dir / "sites.toml"
    data_dir.mkdir(parents=True, exist_ok=True)
    sites.write_text(SITES)
    env = {
        **os.environ,
        "COLLECTOR_DATA_DIR": str(data_dir),
        "COLLECTOR_PORT": str(port),
        "COLLECTOR_SITES_FILE": str(sites),
        "COLLECTOR_LOG_LEVEL": "WARNING",
        **extra_env,
    }
    process = start([PYTHON, "-m", "collector"], env, port)
    sampler = Sampler(process.pid)
    try:
        warm = run_wrk(port, listing, 2, connections)
        steps_before, cpu_before = scrape_steps(port), cpu_seconds(process.pid)
        peak = run_wrk(port, listing, seconds, connections)
        steps_after, cpu_after = scrape_steps(port), cpu_seconds(process.pid)
        per_connection_rate = peak.rps / 2 / connections
        half = (
            run_wrk(port, listing, seconds, connections, delay_ms=1000 / per_connection_rate)
            if half_load
            else LoadResult(0, 0.0, 0, 0, 0.0, 0.0)
        )
        idle_rss = rss_mb(process.pid)
    finally:
        flush_started = time.monotonic()
        stop(process)
        flush_seconds = time.monotonic() - flush_started
    peak_rss, peak_anon = sampler.stop()
    profile = {
        step: ((after[1] - steps_before.get(step, (0.0, 0.0))[1]) / max(peak.requests, 1) * 1e6)
        for step, after in steps_after.items()
    }
    return {
        "warm": warm,
        "peak": peak,
        "half": half,
        "peak_rss": peak_rss,
        "peak_anon": peak_anon,
        "end_rss": idle_rss,
        "total_rss": sampler.total_peak,
        "profile": profile,
        "cpu_us": (cpu_after - cpu_before) / max(peak.requests, 1) * 1e6,
        "load": (sampler.load_low, sampler.load_high),
        "flush_seconds": flush_seconds,
        "acked": warm.requests + peak.requests + half.requests - warm.non2xx - peak.non2xx - half.non2xx,
    }


def stored_counts(data_dir: Path) -> dict[str, Any]:
    storage = Storage(f"chdb://{data_dir / 'clickhouse'}", "analytics")
    try:
        counts = {
            t: storage.query_rows(f"SELECT count() FROM {storage.table(t)}")[0][0]
            for t in ("events", "playback", "pageviews")
        }
        counts["playback_payloads"] = storage.query_rows(
            f"SELECT sum(length(JSONExtractArrayRaw(payload, 'p')) + length(JSONExtractArrayRaw(payload, 'a'))) "
            f"FROM {storage.table('playback')}"
        )[0][0]
        disk = storage.query_rows(
            "SELECT table, sum(rows), sum(data_compressed_bytes), sum(data_uncompressed_bytes) FROM system.parts "
            "WHERE database = 'analytics' AND active GROUP BY table"
        )
        counts["disk"] = {t: {"rows": r, "compressed": c, "uncompressed": u} for t, r, c, u in disk}
        payload_column = storage.query_rows(
            "SELECT sum(data_compressed_bytes), sum(data_uncompressed_bytes) FROM system.columns "
            "WHERE database = 'analytics' AND table = 'playback' AND name = 'payload'"
        )[0]
        counts["payload_column"] = payload_column
        return counts
    finally:
        storage.close()


def playback_compression(workdir: Path, visitors: int) -> tuple[float, int, int]:
    """Playback stored size against wire JSON for many visitors of the same pages: each visitor
    replays the consented fixture page views with its own ids and shifted times (as real traffic
    on one site looks), through a real collector; returns (ratio, wire JSON bytes, bytes on disk)."""
    import random
    import urllib.request

    data_dir = workdir / "compression"
    data_dir.mkdir(parents=True)
    (data_dir / "sites.toml").write_text(SITES)
    port = free_port()
    env = {
        **os.environ,
        "COLLECTOR_DATA_DIR": str(data_dir),
        "COLLECTOR_PORT": str(port),
        "COLLECTOR_SITES_FILE": str(data_dir / "sites.toml"),
        "COLLECTOR_LOG_LEVEL": "WARNING",
    }
    documents = [
        json.loads(p.read_text()) for p in sorted(FIXTURES.glob("*.json")) if p.stem.rsplit("_", 1)[0] in CONSENTED
    ]
    rng = random.Random(7)
    wire = 0
    process = start([PYTHON, "-m", "collector"], env, port)
    try:
        for visitor in range(visitors):
            ids: dict[tuple[object, object], tuple[str, str]] = {}
            shift = rng.randint(0, 400)
            for document in documents:
                envelope = list(document["e"])
                key = (envelope[5], envelope[6])
                ids.setdefault(key, (f"u{visitor:x}{rng.randint(0, 1 << 30):x}", f"s{rng.randint(0, 1 << 30):x}"))
                envelope[5], envelope[6] = ids[key]
                varied = {**document, "e": envelope, "a": [[e[0] + shift, *e[1:]] for e in document.get("a", [])]}
                if "p" in document:
                    varied["p"] = [[e[0] + shift, *e[1:]] for e in document["p"]]
                body = json.dumps(varied, separators=(",", ":")).encode()
                wire += len(body)
                request = urllib.request.Request(
                    f"http://127.0.0.1:{port}/collect",
                    data=body,
                    method="POST",
                    headers={
                        "Origin": "http://127.0.0.1:8765",
                        "User-Agent": "Mozilla/5.0 (X11; Linux x86_64) "
                        "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36",
                    },
                )
                urllib.request.urlopen(request).read()
    finally:
        stop(process)
    storage = Storage(f"chdb://{data_dir / 'clickhouse'}", "analytics")
    try:
        storage.command(f"OPTIMIZE TABLE {storage.table('playback')} FINAL")
        on_disk = storage.query_rows(
            "SELECT sum(data_compressed_bytes) FROM system.parts "
            "WHERE database = 'analytics' AND table = 'playback' AND active"
        )[0][0]
    finally:
        storage.close()
    return wire / max(on_disk, 1), wire, int(on_disk)


def raw_insert_baseline(data_dir: Path, batch_sizes: tuple[int, ...]) -> dict[int, float]:
    """rows/s of a plain clickhouse-connect insert of the rows the collector stored, per batch size."""
    storage = Storage(f"chdb://{data_dir / 'clickhouse'}", "analytics")
    try:
        columns = TABLES["events"].column_names
        rows = storage.query_rows(f"SELECT {', '.join(columns)} FROM {storage.table('events')} LIMIT 200000")
        storage.command("CREATE TABLE IF NOT EXISTS analytics.events_baseline AS analytics.events")
        results = {}
        for size in batch_sizes:
            storage.command("TRUNCATE TABLE analytics.events_baseline")
            started = time.perf_counter()
            for offset in range(0, len(rows), size):
                storage.insert("events_baseline", columns, rows[offset : offset + size])
            results[size] = len(rows) / (time.perf_counter() - started)
        return results
    finally:
        storage.close()


def machine() -> str:
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    system = f"{platform.system()} {platform.release()}"
    return f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, {system}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15, help="length of each load run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--output", type=Path, default=Path(__file__).with_name("RESULTS.md"))
    parser.add_argument("--workers", default="1,2", help="COLLECTOR_WORKERS values to measure, comma-separated")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="only the bare handler and the worker runs (no asyncio run, compression, raw inserts)",
    )
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is missing: run bench/run (it installs Debian's wrk)")
    workdir = Path(tempfile.mkdtemp(prefix="bench-ingest-"))
    try:
        listing, events_per_body, _ = fixture_bodies(workdir)
        print(f"bodies: {len(listing.read_text().split())} real clarity-js payloads, {events_per_body:.1f} events each")
        bare = measure_bare(listing, args.seconds, args.connections)
        bare_load = os.getloadavg()[0]  # the 1-minute average just after the bare handler's run
        print(f"bare aiohttp: {bare.rps:,.0f} req/s p50 {bare.p50_ms:.2f} ms p99 {bare.p99_ms:.2f} ms")
        runs: dict[int, dict[str, Any]] = {}
        for workers in [int(w) for w in args.workers.split(",")]:
            folder = workdir / f"workers-{workers}"
            runs[workers] = measure_collector(
                listing, folder, args.seconds, args.connections, {"COLLECTOR_WORKERS": str(workers)}
            )
            runs[workers]["counts"] = stored_counts(folder)
            peak = runs[workers]["peak"]
            print(
                f"collector, {workers} worker(s): {peak.rps:,.0f} req/s p50 {peak.p50_ms:.2f} ms "
                f"p99 {peak.p99_ms:.2f} ms"
            )
        report = workers_report(args, bare, runs, events_per_body, bare_load)
        print(report)
        if args.quick:
            args.output.write_text(report)
            return
        data_dir = workdir / f"workers-{min(runs)}"
        run = runs[min(runs)]
        counts = run["counts"]
        raw = raw_insert_baseline(data_dir, (100, 1000, 5000, 20000))
        plain_loop = measure_collector(
            listing,
            workdir / "asyncio",
            args.seconds,
            args.connections,
            {"COLLECTOR_EVENT_LOOP": "asyncio", "COLLECTOR_WORKERS": "1"},
            half_load=False,
        )["peak"]
        print(f"collector on the asyncio loop: {plain_loop.rps:,.0f} req/s")
        compression = playback_compression(workdir, visitors=200)
        print(f"playback: {compression[0]:.1f}x smaller on disk than its wire JSON")
        write_report(args, bare, run, counts, raw, events_per_body, plain_loop, compression)
        with args.output.open("a") as output:
            output.write("\n" + report)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


STEP_ORDER = ("decode", "site", "privacy", "bots", "identify", "consent", "mask", "rows", "spool")


def workers_report(
    args: argparse.Namespace,
    bare: LoadResult,
    runs: dict[int, dict[str, Any]],
    events_per_body: float,
    bare_load: float,
) -> str:
    """Throughput, latency, memory and loss per COLLECTOR_WORKERS beside the bare handler, and the
    per-step CPU profile of one upload (from /metrics of a one-worker run: with more workers /metrics
    is the primary's alone)."""
    lines = [
        f"## Workers ({datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC)",
        "",
        f"Machine: {machine()}. Embedded ClickHouse; wrk, 1 thread, {args.connections} connections, "
        f"{args.seconds} s per run, real clarity-js payloads ({events_per_body:.1f} events each), every upload "
        "fsynced before its 204.",
        "",
        "| COLLECTOR_WORKERS | req/s at peak | of bare handler | events/s | p50 / p99 at peak | p99 at half of peak "
        "(req/s) | CPU per upload | peak RSS per process (anonymous) | all processes | stored / acknowledged "
        "uploads | non-2xx | load average during the run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| bare aiohttp handler | {bare.rps:,.0f} | 100% | {bare.rps * events_per_body:,.0f} | "
        f"{bare.p50_ms:.1f} / {bare.p99_ms:.1f} ms | | | | | | {bare.non2xx} | {bare_load:.1f} (after) |",
    ]
    for workers, run in runs.items():
        peak, half = run["peak"], run["half"]
        stored = run["counts"]["playback"]
        non2xx = run["warm"].non2xx + peak.non2xx + half.non2xx
        lines.append(
            f"| {workers} | {peak.rps:,.0f} | {peak.rps / bare.rps:.0%} | {peak.rps * events_per_body:,.0f} | "
            f"{peak.p50_ms:.1f} / {peak.p99_ms:.1f} ms | {half.p99_ms:.1f} ms ({half.rps:,.0f}) | "
            f"{run['cpu_us']:,.0f} µs | {run['peak_rss']:.0f} MB ({run['peak_anon']:.0f} MB) | "
            f"{run['total_rss']:.0f} MB | {stored:,} / {run['acked']:,} | {non2xx} | "
            f"{run['load'][0]:.1f}-{run['load'][1]:.1f} |"
        )
    one = runs.get(1) or next(iter(runs.values()))
    profile = one["profile"]
    steps = [s for s in STEP_ORDER if s in profile] + [s for s in profile if s not in STEP_ORDER and s != "insert"]
    in_steps = sum(profile[s] for s in steps)
    lines += [
        "",
        "Per-step profile of one upload at peak, one worker (µs per upload: step timers of /metrics; "
        "HTTP and the rest = CPU per upload of the process minus the steps and the inserts):",
        "",
        "| step | µs per upload |",
        "|---|---|",
        *[f"| {step} | {profile[step]:,.0f} |" for step in steps],
        f"| insert (writer thread, ClickHouse included) | {profile.get('insert', 0.0):,.0f} |",
        f"| HTTP, middlewares, handler, group commit and the rest | "
        f"{max(0.0, one['cpu_us'] - in_steps - profile.get('insert', 0.0)):,.0f} |",
        f"| total CPU per upload | {one['cpu_us']:,.0f} |",
        "",
    ]
    return "\n".join(lines)


def write_report(
    args: argparse.Namespace,
    bare: LoadResult,
    run: dict[str, Any],
    counts: dict[str, Any],
    raw: dict[int, float],
    events_per_body: float,
    plain_loop: LoadResult,
    compression: tuple[float, int, int],
) -> None:
    peak: LoadResult = run["peak"]
    half: LoadResult = run["half"]
    total_seconds = run["warm"].seconds + peak.seconds + half.seconds + run["flush_seconds"]
    stored_events = counts["playback_payloads"]
    acked_events = run["acked"] * events_per_body
    total_rows = sum(d["rows"] for d in counts["disk"].values())
    lines = [
        f"# Ingest benchmark, {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {machine()}. One collector process on the embedded ClickHouse (chdb); load from wrk "
        f"(1 thread, {args.connections} connections, {args.seconds} s per run) on 127.0.0.1 with the real "
        f"clarity-js payloads of the consented fixtures ({events_per_body:.1f} events each, gzip as on the wire).",
        "",
        "| figure | collector | baseline | ratio / target |",
        "|---|---|---|---|",
        f"| requests/s at peak | {peak.rps:,.0f} | bare aiohttp handler {bare.rps:,.0f} | "
        f"{peak.rps / bare.rps:.0%} (target ≥ 60%) |",
        f"| events/s at peak (acknowledged) | {peak.rps * events_per_body:,.0f} | bare handler "
        f"{bare.rps * events_per_body:,.0f} | target ≥ 50,000 |",
        f"| requests/s at peak, asyncio loop instead of uvloop | {plain_loop.rps:,.0f} | uvloop {peak.rps:,.0f} | "
        f"uvloop {peak.rps / max(plain_loop.rps, 1) - 1:+.0%} |",
        f"| latency p50 / p99 at peak | {peak.p50_ms:.1f} / {peak.p99_ms:.1f} ms | "
        f"{bare.p50_ms:.1f} / {bare.p99_ms:.1f} ms | |",
        f"| latency p50 / p99 at half of peak ({half.rps:,.0f} req/s) | {half.p50_ms:.1f} / {half.p99_ms:.1f} ms | "
        f"| p99 target < 50 ms |",
        f"| peak RSS (of which anonymous) | {run['peak_rss']:.0f} MB ({run['peak_anon']:.0f} MB) | | "
        "target < 300 MB; the rest is chdb's library code, file-backed |",
        f"| ClickHouse rows/s, average over the whole run (warm-up, peak, half load, final flush) | "
        f"{total_rows / total_seconds:,.0f} | "
        f"raw clickhouse-connect insert, 5000-row batches: {raw.get(5000, 0):,.0f} | |",
        f"| events stored vs acknowledged | {stored_events:,} / {acked_events:,.0f} | | equal |",
        f"| non-2xx answers | {peak.non2xx + half.non2xx + run['warm'].non2xx} | | 0 |",
        f"| playback on disk vs wire JSON, 200 visitors replaying the fixture pages with their own ids and "
        f"times | {compression[0]:.1f}× smaller ({compression[1] / 1e6:.1f} MB → {compression[2] / 1e6:.2f} MB) | | "
        "target ≥ 10× |",
        "",
        "Raw clickhouse-connect insert into chdb by batch size (events rows):",
        "",
        "| batch rows | rows/s |",
        "|---|---|",
        *[f"| {size:,} | {rate:,.0f} |" for size, rate in raw.items()],
        "",
        "Disk per million rows (compressed, from system.parts; page views merge per page view, so their "
        "row count is the number of page views):",
        "",
        "| table | rows | MB per million rows |",
        "|---|---|---|",
        *[
            f"| {table} | {d['rows']:,} | {d['compressed'] / max(d['rows'], 1):.1f} |"
            for table, d in sorted(counts["disk"].items())
            if d["rows"]
        ],
        "",
    ]
    text = "\n".join(lines)
    print(text)
    args.output.write_text(text)


if __name__ == "__main__":
    main()
