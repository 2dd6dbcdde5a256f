"""Fuzz a live collector with 100k+ hostile requests and report how it answered.

Starts `python -m collector` on 127.0.0.1 (own temp data folder, the fuzz sites of tests/test_fuzz.py),
then worker processes generate cases with the hypothesis strategies of tests/fuzz_cases.py
(clarity-js uploads, beacon sendBeacons, raw bodies and bombs, Matomo query/form/bulk) and send
each one plus a few byte-level mutants of it (flipped bytes, truncation, inserted junk, a huge
number or NaN in place of a number), so generation is not the bottleneck. Afterwards: /healthz,
SIGTERM (exit code), and a scan of every stored string column for the e-mails and card numbers
planted in the cases. Prints cases tried, the status histogram, the 5xx count and the elapsed time.

    .venv/bin/python -m bench.fuzz_collect [--base 20000] [--mutants 4] [--workers 2]

The collector runs with COLLECTOR_MAX_DECOMPRESSED_BYTES=4 MiB so the gzip bombs among the cases
cost milliseconds, not a second each; everything else is the default configuration.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from urllib.parse import quote

from hypothesis import HealthCheck, Phase, given, seed, settings

from tests.support.fuzz_cases import Case, KeepAliveClient, all_cases
from tests.support.process import get, port_of, process_env, start_process, stop_process, stored_strings
from tests.test_fuzz import SITES

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
DIGIT_RUN = re.compile(r"\d(?:[ -]?\d){12,}")
NUMBER = re.compile(rb"-?\d+")
JUNK = [
    b"\x00",
    b"\xff\xfe",
    b"NaN",
    b"1e999",
    b"99999999999999999999999",
    b"[" * 64,
    b'"\\ud800"',
    b"\x1f\x8b",
    "\u202e😀".encode(),
    b'{"e":',
    b"]]]]",
    b"%00",
    b"&idsite=",
    b"?rec=1&",
]


def mutate(case: Case, rng: random.Random) -> Case:
    """A byte-level variant of a case: what a broken proxy, a bit flip or a hand-made attack sends."""
    if case.method == "GET":
        path, _, query = case.path.partition("?")
        raw = query.encode()
    else:
        raw = case.body
    how = rng.randrange(5)
    if not raw or how == 0:
        raw = raw + rng.choice(JUNK)
    elif how == 1:
        raw = raw[: rng.randrange(len(raw))]
    elif how == 2:
        data = bytearray(raw)
        for _ in range(rng.randint(1, 8)):
            data[rng.randrange(len(data))] = rng.randrange(256)
        raw = bytes(data)
    elif how == 3:
        at = rng.randrange(len(raw))
        raw = raw[:at] + rng.choice(JUNK) + raw[at:]
    else:
        raw = NUMBER.sub(lambda _: rng.choice([b"NaN", b"1e400", b"-0", b"18446744073709551616", b"1.5"]), raw, count=3)
    if case.method == "GET":
        return Case("GET", f"{path}?{quote(raw, safe='&=%')}", case.headers, b"", case.secrets)
    return Case(case.method, case.path, case.headers, raw, case.secrets)


def worker(port: int, base: int, mutants: int, worker_seed: int) -> tuple[Counter[int], list[str], list[str]]:
    """Run `base` generated cases and their mutants; returns statuses, planted secrets, 5xx samples."""
    client = KeepAliveClient(port)
    rng = random.Random(worker_seed)
    statuses: Counter[int] = Counter()
    planted: list[str] = []
    failures: list[str] = []

    def send(case: Case) -> None:
        status = client.send(case)
        statuses[status] += 1
        if status >= 500 and len(failures) < 5:
            failures.append(f"{status} {case.method} {case.path[:120]} {case.body[:200]!r}")

    @seed(worker_seed)
    @settings(
        max_examples=base,
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(all_cases)
    def one(case: Case) -> None:
        planted.extend(case.secrets)
        send(case)
        for _ in range(mutants):
            send(mutate(case, rng))

    one()
    client.close()
    return statuses, planted, failures


def leaked(folder: Path, planted: set[str]) -> list[str]:
    """Planted e-mails or card numbers found in any stored string column, each with its context."""
    emails = {p for p in planted if "@" in p}
    cards = {p.replace(" ", "").replace("-", "") for p in planted if "@" not in p}
    found = []
    for value in stored_strings(folder):
        if "@" in value:
            for match in EMAIL.finditer(value):
                if match.group(0) in emails or _suffixes(match.group(0), emails):
                    found.append(value[max(0, match.start() - 80) : match.end() + 80])
        for match in DIGIT_RUN.finditer(value):
            if _whole_card_in(match.group(0), cards):
                found.append(value[max(0, match.start() - 80) : match.end() + 80])
    return found


def _whole_card_in(run: str, cards: set[str]) -> bool:
    """Whether consecutive digit groups of `run` spell a planted card. A card glued to other digits
    with no separator (a mutant can make one out of "%20" + card) is a longer number, as the masking
    treats it: indistinguishable from an order id, so it is not counted as the card."""
    groups = re.findall(r"\d+", run)
    for first in range(len(groups)):
        digits = ""
        for group in groups[first:]:
            digits += group
            if len(digits) > 19:
                break
            if digits in cards:
                return True
    return False


def _suffixes(token: str, emails: set[str]) -> list[str]:
    """Planted e-mails that end a longer stored token (a planted address glued to junk before it)."""
    return [token[i:] for i in range(1, token.index("@")) if token[i:] in emails]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", type=int, default=20_000, help="hypothesis-generated cases (all workers)")
    parser.add_argument("--mutants", type=int, default=4, help="byte-level mutants sent after each case")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="fuzz-collect-") as temp:
        folder = Path(temp)
        env = process_env(folder, SITES, max_decompressed_bytes=4 << 20)
        port = port_of(env)
        process = start_process(env)
        started = time.perf_counter()
        statuses: Counter[int] = Counter()
        planted: set[str] = set()
        failures: list[str] = []
        try:
            per_worker = args.base // args.workers
            with ProcessPoolExecutor(args.workers) as pool:
                jobs = [pool.submit(worker, port, per_worker, args.mutants, 1000 + n) for n in range(args.workers)]
                for job in jobs:
                    counts, secrets, samples = job.result()
                    statuses.update(counts)
                    planted.update(secrets)
                    failures.extend(samples)
            elapsed = time.perf_counter() - started
            health = get(port, "/healthz")
        finally:
            exit_code = stop_process(process)
        stored_leaks = leaked(folder, planted)
    tried = sum(statuses.values())
    server_errors = sum(n for status, n in statuses.items() if status >= 500)
    print(f"cases tried      {tried:,} ({args.base:,} generated by hypothesis + {args.mutants} mutants each)")
    print(f"status histogram {dict(sorted(statuses.items()))}")
    print(f"5xx answers      {server_errors}")
    print(f"elapsed          {elapsed:.1f} s ({tried / elapsed:,.0f} cases/s, {args.workers} client processes)")
    print(f"after the run    /healthz {health}, exit code on SIGTERM {exit_code}")
    print(f"personal data    {len(planted):,} distinct e-mails and card numbers planted, {len(stored_leaks)} stored")
    for sample in failures:
        print(f"  5xx: {sample}")
    for trace in stored_leaks[:5]:
        print(f"  stored: {trace!r}")
    return 0 if server_errors == 0 and health == 200 and exit_code == 0 and not stored_leaks else 1


if __name__ == "__main__":
    sys.exit(main())
