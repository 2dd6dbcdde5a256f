"""CPU per clarity-js upload, in process: the `/collect` steps without the network or the load deciding.

Feeds the real clarity-js uploads of the fixtures (tests/fixtures/clarity/*.bin, gzip as on the wire)
through the very steps the handler runs (`collect_steps`: decode → site → privacy → bots → identify →
consent → mask → rows → spool), N rounds, and prints the CPU time of each step per upload beside a
baseline measured in the same run on the same bodies (gunzip + orjson.loads, and that plus one
orjson.dumps: the least any pipeline that reads and re-writes a payload must do). Times are the CPU
time of this thread (`time.thread_time`), so other processes on a busy machine change them little.

The parts are the collector's own: sites, hasher, the SQLite consent store, the spool (its group
commit runs between rounds, untimed, in a temporary folder). The ClickHouse consent ledger is
replaced by an empty one: the gate only asks it for a page view the store does not hold, which in a
steady stream of uploads is at most every 30 s per page view, so it is not CPU per upload.

`--dump FILE` writes the rows one round spools (the ledger's, which carry the wall clock, left out):
two versions of the code must write the same file, which is how a lever is checked to change nothing.
`--profile` prints cProfile's top functions for the pipeline rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import os
import platform
import pstats
import shutil
import sys
import tempfile
import time
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from collector.core.sites import SiteRegistry, site_from_dict
from collector.ingest.clarity.pipeline import ClarityUpload, collect_steps
from collector.ingest.clarity.wire import Limits
from collector.ingest.consent import ConsentGate
from collector.ingest.consent_store import ConsentStore, StoredDecision
from collector.ingest.metrics import Metrics
from collector.ingest.request import IngestRequest
from collector.ingest.services import IngestServices
from collector.ingest.spool import Spool, read_segment
from collector.ingest.steps import Drop, Steps
from collector.ingest.writer import BatchWriter
from ingest_schema.hashing import Hasher

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "clarity"
#: Page views whose consent is given at start, as bench/ingest.py replays them (`--consented`).
CONSENTED = ("default", "mutation", "relaxed", "strict", "reply", "twopage", "relative_url")
ORIGIN = "http://127.0.0.1:8765"
USER_AGENT = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0.0.0 Safari/537.36"
#: A fixed server clock, so two runs (two versions of the code) spool the same rows.
RECEIVED_MS = 1_795_562_100_000
STEP_NAMES = ("decode", "site", "privacy", "bots", "identify", "consent", "mask", "rows", "spool")


class EmptyLedger:
    """The consent ledger of a collector that has never seen these page views (see the module doc)."""

    async def pageview_decisions(self, site: str, visitor_hash: int, pageview_id: int) -> list[StoredDecision]:
        return []

    async def recent_explicit_grant(self, site: str, visitor_hash: int) -> bool:
        return False


def fixture_bodies(consented_only: bool) -> list[bytes]:
    paths = sorted(FIXTURES.glob("*.bin"))
    if consented_only:
        paths = [p for p in paths if p.stem.rsplit("_", 1)[0] in CONSENTED]
    return [p.read_bytes() for p in paths]


def build(folder: Path, masking: str) -> tuple[Steps[ClarityUpload], Spool, Metrics]:
    """The app's ingest services as `collector.server.app` wires them, minus HTTP and ClickHouse."""
    metrics = Metrics()
    site = site_from_dict({"id": "proj123", "origins": [ORIGIN], "consent": "loader", "masking": masking})
    spool = Spool(folder / "spool", 1 << 34, 1 << 30, 3600.0, 0, metrics)
    writer = BatchWriter(None, metrics, spool, batch_rows=1 << 30, interval_ms=1000)
    store = ConsentStore(folder, keep_hours=24)
    services = IngestServices(
        sites=SiteRegistry({site.id: site}),
        hasher=Hasher(b"bench-secret-key"),
        gate=ConsentGate(EmptyLedger(), store, writer, cache_size=100_000),
        writer=writer,
        metrics=metrics,
        max_string_chars=4096,
    )
    limits = Limits(max_decompressed_bytes=8 << 20, max_events=10_000)
    return collect_steps(services, limits), spool, metrics


async def run_round(steps: Steps[ClarityUpload], bodies: list[bytes], totals: dict[str, float]) -> int:
    """One pass over the bodies, each step timed in CPU time; returns the uploads stored."""
    clock = time.thread_time
    request = IngestRequest(origin=ORIGIN, user_agent=USER_AGENT, gpc=False, dnt=False, received_ms=RECEIVED_MS)
    stored = 0
    for body in bodies:
        upload = ClarityUpload(body, request)
        for step in steps.steps:
            started = clock()
            try:
                outcome = step.run(upload)
                if asyncio.iscoroutine(outcome):
                    await outcome
            except Drop:
                break
            finally:
                totals[step.name] = totals.get(step.name, 0.0) + clock() - started
        else:
            stored += 1
    return stored


async def commit(spool: Spool, dump: io.BufferedWriter | None) -> None:
    """The spool's group commit (untimed), then its segment read back (`--dump`) and forgotten."""
    await spool.commit_now()
    await spool.seal(force=True)
    for segment in list(spool.sealed):
        if dump is not None:
            for block in read_segment(segment.path):
                if block.table != "consent_ledger":
                    dump.write(orjson.dumps([block.table, block.columns]) + b"\n" + block.data)
        spool.done(segment)


def baseline(bodies: list[bytes], rounds: int, reencode: bool) -> float:
    """CPU µs per upload of gunzip (the bodies clarity-js gzipped) + orjson.loads (+ orjson.dumps)."""
    clock = time.thread_time
    started = clock()
    for _ in range(rounds):
        for body in bodies:
            text = zlib.decompress(body, 16 + zlib.MAX_WBITS) if body[:2] == b"\x1f\x8b" else body
            document = orjson.loads(text)
            if reencode:
                orjson.dumps(document)
    return (clock() - started) / (rounds * len(bodies)) * 1e6


async def measure(args: argparse.Namespace, bodies: list[bytes], masking: str) -> dict[str, Any]:
    folder = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    try:
        steps, spool, _ = build(folder, masking)
        dump = args.dump.open("wb") if args.dump else None
        try:
            # warm-up: the first round fills the consent store, the masking memo and the UA caches,
            # as the first minutes of a running collector do
            await run_round(steps, bodies, {})
            await commit(spool, dump)
        finally:
            if dump is not None:
                dump.close()
        totals: dict[str, float] = {}
        profiler = cProfile.Profile() if args.profile else None
        stored = 0
        cpu = 0.0
        for _ in range(args.rounds):
            if profiler is not None:
                profiler.enable()
            started = time.process_time()
            stored += await run_round(steps, bodies, totals)
            cpu += time.process_time() - started
            if profiler is not None:
                profiler.disable()
            await commit(spool, None)
        uploads = args.rounds * len(bodies)
        if profiler is not None:
            text = io.StringIO()
            pstats.Stats(profiler, stream=text).sort_stats(args.profile).print_stats(35)
            print(text.getvalue())
        return {
            "steps": {name: totals.get(name, 0.0) / uploads * 1e6 for name in STEP_NAMES},
            "cpu_us": cpu / uploads * 1e6,
            "stored": stored / args.rounds,
        }
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def table(
    results: dict[str, dict[str, Any]], loads_us: float, dumps_us: float, uploads: int, out: Callable[[str], None]
) -> None:
    modes = list(results)
    out("| step | " + " | ".join(f"µs per upload, {m}" for m in modes) + " |")
    out("|---|" + "---|" * len(modes))
    for name in STEP_NAMES:
        out(f"| {name} | " + " | ".join(f"{results[m]['steps'][name]:,.1f}" for m in modes) + " |")
    out("| all steps (thread CPU) | " + " | ".join(f"{sum(results[m]['steps'].values()):,.1f}" for m in modes) + " |")
    out("| process CPU per upload | " + " | ".join(f"{results[m]['cpu_us']:,.1f}" for m in modes) + " |")
    out(f"| baseline: gunzip + orjson.loads | {loads_us:,.1f} |" + " |" * (len(modes) - 1))
    out(f"| baseline: gunzip + orjson.loads + orjson.dumps | {dumps_us:,.1f} |" + " |" * (len(modes) - 1))
    out(
        "| process CPU ÷ loads+dumps baseline | "
        + " | ".join(f"{results[m]['cpu_us'] / dumps_us:.1f}×" for m in modes)
        + " |"
    )
    out(
        "| uploads stored of "
        + str(uploads)
        + " per round | "
        + " | ".join(f"{results[m]['stored']:.0f}" for m in modes)
        + " |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=100, help="passes over the fixture bodies (after one warm-up)")
    parser.add_argument(
        "--masking", default="balanced", help="the site's masking mode(s), comma-separated, or 'all' (default balanced)"
    )
    parser.add_argument(
        "--consented", action="store_true", help="only the page views bench/ingest.py replays (consent at start)"
    )
    parser.add_argument("--dump", type=Path, help="write the rows of the warm-up round here (one masking mode)")
    parser.add_argument("--profile", metavar="SORT", help="cProfile the rounds, sorted by SORT (tottime, cumtime)")
    args = parser.parse_args()
    modes = ["strict", "balanced", "relaxed"] if args.masking == "all" else args.masking.split(",")
    if args.dump and len(modes) > 1:
        parser.error("--dump takes one masking mode")
    bodies = fixture_bodies(args.consented)
    print(
        f"{len(bodies)} clarity-js uploads, {args.rounds} rounds; {platform.python_version()}, "
        f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    )
    gc.collect()
    loads_us = baseline(bodies, args.rounds, reencode=False)
    dumps_us = baseline(bodies, args.rounds, reencode=True)
    results = {mode: asyncio.run(measure(args, bodies, mode)) for mode in modes}
    table(results, loads_us, dumps_us, len(bodies), print)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
