"""`python -m retention run|verify|export|erase|schedule`: the retention job for cron, and GDPR requests.

Works directly on the ClickHouse the collector uses (a server DSN, or the chdb folder when the
collector is stopped); when a running collector holds the chdb folder, the request goes to its
admin endpoint instead and the same code runs there. Prints a JSON report on stdout.

`schedule` runs the job on COLLECTOR_RETENTION_SCHEDULE in the foreground (a container's process; see
retention/schedule.py); `schedule --check` is its health check.

Exit codes: 0 done and nothing older than policy remains; 2 usage error; 3 rows older than policy
remain (or an erasure left rows); 4 storage or collector unreachable.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import orjson

from collector.core.client import CollectorUnreachable, call_admin, local_url, running_collector_url
from collector.core.errors import CollectorError
from collector.core.settings import Settings
from collector.core.sites import load_sites
from collector.core.storage import open_storage
from ingest_schema.hashing import Hasher
from ingest_schema.storage import StorageError, folder_is_held
from retention import schedule
from retention.errors import EXIT_OK, EXIT_POLICY_VIOLATION, EXIT_STORAGE, RetentionError
from retention.jobs import KINDS, Progress
from retention.service import ACTIONS, execute, validate


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m retention", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("--visitor", help="the person's id (export and erase)")
    parser.add_argument(
        "--kind",
        choices=KINDS,
        default="clarity",
        help="clarity: the _clck user id; matomo: the 16-hex visitor id; user: the site's own user id",
    )
    parser.add_argument("--site", action="append", help="site id (repeatable; default: every configured site)")
    parser.add_argument("--dry-run", action="store_true", help="count what would be deleted, delete nothing")
    parser.add_argument("--output", type=Path, help="export: folder for the JSON and CSV files")
    parser.add_argument("--collector", help="send the request to this running collector (default: automatic)")
    args = parser.parse_args(argv)
    if args.action in ("export", "erase") and not args.visitor:
        parser.error(f"{args.action} needs --visitor")
    return args


def progress_bar(label: str) -> Progress:
    """A progress bar on a terminal only (cron and pipes get clean output)."""
    if not sys.stderr.isatty():
        return lambda items: items
    from tqdm import tqdm

    return lambda items: tqdm(list(items), desc=label, file=sys.stderr, leave=False)


def run_locally(settings: Settings, request: dict[str, Any], progress: Progress) -> dict[str, Any]:
    storage = open_storage(settings, workers=1)
    try:
        storage.migrate()
        return execute(storage, Hasher(settings.secret_key), request, progress)
    finally:
        storage.close()


def run_remotely(url: str, token: str, request: dict[str, Any]) -> dict[str, Any]:
    """The job carried out by the collector that holds the data folder."""
    try:
        return dict(call_admin(url, "/admin/retention", token, request))
    except CollectorUnreachable as exc:
        raise RetentionError(str(exc) + (f": {exc.body[:200]!r}" if exc.body else "")) from exc


def write_export(report: dict[str, Any], folder: Path) -> list[str]:
    """The access-request answer: one JSON file with everything, one CSV per table."""
    import pandas as pd

    folder.mkdir(parents=True, exist_ok=True)
    tables = report.pop("tables")
    files = [folder / "export.json"]
    files[0].write_bytes(orjson.dumps(tables, default=str, option=orjson.OPT_INDENT_2))
    for table, rows in tables.items():
        path = folder / f"{table}.csv"
        pd.DataFrame(rows).to_csv(path, index=False)
        files.append(path)
    return [str(f) for f in files]


def schedule_main(argv: list[str]) -> int:
    """`python -m retention schedule [--check]`."""
    parser = argparse.ArgumentParser(
        prog="python -m retention schedule",
        description=schedule.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="health check: exit 0 when no run is overdue and the last one ended well, else 1",
    )
    args = parser.parse_args(argv)
    try:
        settings = Settings.from_env()
        expression = schedule.check_expression(settings.retention_schedule)
    except CollectorError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    state = settings.data_dir / schedule.STATE_FILE
    if args.check:
        ok, message = schedule.health(expression, state, datetime.now(timezone.utc))
        print(message)
        return 0 if ok else 1
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # as a container's PID 1, SIGTERM has no default action: exit on it (a run cut short reruns at the next start)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    clock = schedule.SystemClock()
    print(
        f"retention schedule {expression!r} (UTC), state in {state}; next slot "
        f"{schedule.next_slot(expression, clock.now()).isoformat()}",
        flush=True,
    )
    schedule.Scheduler(expression, state, schedule.run_job_in_child, clock).forever()
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["schedule"]:
        return schedule_main(argv[1:])
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
        sites = [s.id for s in load_sites(settings.sites_file, settings.public_url).all()]
        request = validate(
            {
                "action": args.action,
                "visitor": args.visitor,
                "kind": args.kind,
                "sites": args.site,
                "dry_run": args.dry_run,
            },
            sites,
        )
    except (CollectorError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.collector:
            report = run_remotely(args.collector, settings.admin_token, request)
        elif folder_is_held(settings.clickhouse_dsn):
            report = run_remotely(
                running_collector_url(settings.data_dir) or local_url(settings), settings.admin_token, request
            )
            report["via"] = "collector admin endpoint"
        else:
            report = run_locally(settings, request, progress_bar(args.action))
    except (RetentionError, StorageError) as exc:
        print(orjson.dumps({"action": args.action, "ok": False, "error": str(exc)[:500]}).decode())
        return EXIT_STORAGE
    if args.action == "export":
        folder = args.output or Path(f"gdpr-export-{report['request_id']}")
        report["files"] = write_export(report, folder)
    sys.stdout.write(orjson.dumps(report, default=str, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS).decode())
    sys.stdout.write("\n")
    return EXIT_OK if report.get("ok", True) else EXIT_POLICY_VIOLATION


if __name__ == "__main__":
    sys.exit(main())
