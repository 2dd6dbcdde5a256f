"""Outage benchmark: ClickHouse refuses writes for a minute under steady load; nothing may be lost.

A collector runs in this process (the embedded engine allows one process per folder, and the
outage is made inside that engine: the playback table is DETACHed, so every insert of the writer
fails). Real fixture uploads, each under its own visitor id, arrive at a steady rate over a real
socket. The script prints what was acknowledged (204), refused (503 + Retry-After past the spool
budget), how the spool and the process memory grew during the outage, how long the backlog took to
drain once the table came back, and how many acknowledged uploads are stored (must equal).

    .venv/bin/python -m bench.outage [--seconds 60] [--rate 200] [--budget-mb 64]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiohttp
import orjson
from aiohttp import web

from collector.core.keys import STORAGE
from collector.core.settings import Settings
from collector.core.sites import load_sites
from collector.ingest.keys import WRITER
from collector.server.app import init_app

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "fixtures" / "clarity" / "default_001.json"
ORIGIN = "http://127.0.0.1:8765"
UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36"
SITES = f"""[[site]]
id = "proj123"
origins = ["{ORIGIN}"]
consent = "loader"
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def payload(number: int, document: dict[str, object]) -> bytes:
    envelope = list(document["e"])  # type: ignore[call-overload]
    envelope[5], envelope[6] = f"u{number}", f"s{number}"
    return orjson.dumps({**document, "e": envelope})


async def run(seconds: float, rate: float, budget_mb: int) -> None:
    folder = Path(tempfile.mkdtemp(prefix="outage-"))
    (folder / "sites.toml").write_text(SITES)
    settings = Settings.from_env(
        {
            "COLLECTOR_DATA_DIR": str(folder / "data"),
            "COLLECTOR_SITES_FILE": str(folder / "sites.toml"),
            "COLLECTOR_SPOOL_MAX_BYTES": str(budget_mb * 1024 * 1024),
            "COLLECTOR_LOG_LEVEL": "WARNING",
        }
    )
    app = init_app(settings, load_sites(settings.sites_file, settings.public_url))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    url = f"http://127.0.0.1:{port}/collect"
    storage, writer = app[STORAGE], app[WRITER]
    document = orjson.loads(FIXTURE.read_bytes())  # the decoded JSON of a real clarity-js upload
    statuses: dict[int, int] = {}
    acknowledged: list[int] = []
    retry_after: set[str] = set()
    samples: list[tuple[float, float, int]] = []
    rss_before = rss_mb()

    async with aiohttp.ClientSession() as http:

        async def send(number: int) -> None:
            async with http.post(
                url, data=payload(number, document), headers={"Origin": ORIGIN, "User-Agent": UA}
            ) as response:
                await response.read()
                statuses[response.status] = statuses.get(response.status, 0) + 1
                if response.status == 204:
                    acknowledged.append(number)
                elif response.status == 503:
                    retry_after.add(response.headers.get("Retry-After", ""))

        storage.command(f"DETACH TABLE {storage.table('playback')}")
        print(
            f"outage begins: playback detached; {rate:.0f} uploads/s for {seconds:.0f} s (spool budget {budget_mb} MB)"
        )
        started = time.monotonic()
        number, tasks = 0, []
        while (elapsed := time.monotonic() - started) < seconds:
            while number < elapsed * rate:
                tasks.append(asyncio.create_task(send(number)))
                number += 1
            if not samples or elapsed - samples[-1][0] >= 5:
                samples.append((elapsed, rss_mb(), writer.spool.size_bytes))
            await asyncio.sleep(0.005)
        await asyncio.gather(*tasks)
        storage.command(f"ATTACH TABLE {storage.table('playback')}")
        back = time.monotonic()
        print("outage ends: playback attached")
        while storage.query_rows(f"SELECT count() FROM {storage.table('playback')}")[0][0] < len(acknowledged):
            if time.monotonic() - back > 600:
                break
            await asyncio.sleep(0.2)
        drained = time.monotonic() - back
        await writer.flush()
    stored = storage.query_rows(f"SELECT uniqExact(visitor_hash), count() FROM {storage.table('playback')}")[0]
    await runner.cleanup()

    print("\n| figure | value |\n|---|---|")
    print(f"| outage | {seconds:.0f} s, {number} uploads sent at {rate:.0f}/s |")
    print(f"| answers | {', '.join(f'{k}: {v}' for k, v in sorted(statuses.items()))} |")
    print(f"| 5xx other than 503 past the budget | {sum(v for k, v in statuses.items() if k >= 500 and k != 503)} |")
    print(f"| Retry-After on 503 | {', '.join(sorted(retry_after)) or '-'} |")
    print(
        f"| acknowledged / stored (distinct visitors) / stored rows | {len(acknowledged)} / {stored[0]} / {stored[1]} |"
    )
    print(f"| lost | {len(acknowledged) - int(stored[0])} |")
    print(f"| backlog drained after the table came back | {drained:.1f} s |")
    print(
        f"| RSS before / during (every 5 s) | {rss_before:.0f} MB / {' '.join(f'{r:.0f}' for _, r, _ in samples)} MB |"
    )
    print(f"| spool during (every 5 s) | {' '.join(f'{b / 1e6:.1f}' for _, _, b in samples)} MB |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--rate", type=float, default=200, help="uploads per second")
    parser.add_argument("--budget-mb", type=int, default=64, help="spool disk budget")
    args = parser.parse_args()
    asyncio.run(run(args.seconds, args.rate, args.budget_mb))


if __name__ == "__main__":
    main()
