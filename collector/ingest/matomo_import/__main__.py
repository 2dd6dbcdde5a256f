"""`python -m collector.ingest.matomo_import`: import a site's history from Matomo's database.

    python -m collector.ingest.matomo_import --dsn mysql://matomo@db.example.org:3306/matomo \\
        --password-stdin --site 1=shop --since 2024-01-01 --dry-run

Writes into the ClickHouse of the environment's settings (COLLECTOR_CLICKHOUSE_DSN). The embedded
engine's folder can be held by one process only: while the collector runs on it, stop the collector
for the import, or point COLLECTOR_CLICKHOUSE_DSN at the ClickHouse server. Prints one JSON report on
stdout; progress on stderr (a bar on a terminal, one line per batch otherwise).

Exit codes: 0 done; 2 refused (bad DSN or password, missing tables, another Matomo schema version,
unknown idsite or site): nothing written; 4 our storage unreachable or held by the collector.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import date
from typing import Any

import orjson

from collector.core.errors import CollectorError
from collector.core.settings import Settings
from collector.core.sites import load_sites
from collector.core.storage import open_storage
from collector.ingest.matomo_import.errors import EXIT_OK, EXIT_REFUSED, EXIT_STORAGE, ImportRefused, StorageHeld
from collector.ingest.matomo_import.run import Options, Progress, resolve_sites, run_import
from collector.ingest.matomo_import.source import MatomoSource, SourceDsn
from ingest_schema.hashing import Hasher
from ingest_schema.storage import Storage, StorageError, folder_is_held


def _site_pair(text: str) -> tuple[int, str]:
    idsite, sep, site = text.partition("=")
    if not sep or not idsite.strip().isdecimal() or int(idsite) <= 0 or not site.strip():
        raise argparse.ArgumentTypeError(f"expected MATOMO_IDSITE=OUR_SITE such as 1=shop, got {text!r}")
    return int(idsite), site.strip()


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a day such as 2024-01-31, got {text!r}") from exc


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m collector.ingest.matomo_import",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--dsn",
        required=True,
        help="Matomo's database: mysql://user[:password]@host[:port]/database[?unix_socket=/path]",
    )
    parser.add_argument("--password-stdin", action="store_true", help="read the database password from stdin")
    parser.add_argument(
        "--password-env", metavar="VARIABLE", help="read the database password from this environment variable"
    )
    parser.add_argument("--table-prefix", default="matomo_", help="Matomo's table prefix (default matomo_)")
    parser.add_argument(
        "--site",
        action="append",
        type=_site_pair,
        default=[],
        metavar="MATOMO_IDSITE=OUR_SITE",
        help="import this Matomo site into this site (repeatable; default: every site's "
        "matomo_idsite in the sites file)",
    )
    parser.add_argument("--since", type=_day, help="first day to import (Matomo site's time zone)")
    parser.add_argument("--until", type=_day, help="last day to import, inclusive")
    parser.add_argument(
        "--include-expired",
        action="store_true",
        help="also import visits older than the 13-month retention (the tables' TTL still applies)",
    )
    parser.add_argument("--dry-run", action="store_true", help="count what would be imported, write nothing")
    parser.add_argument("--batch-visits", type=int, default=5000, help="visits per batch and checkpoint (default 5000)")
    args = parser.parse_args(argv)
    if args.batch_visits <= 0:
        parser.error("--batch-visits must be positive")
    if args.since and args.until and args.since > args.until:
        parser.error("--since is after --until")
    if len({idsite for idsite, _ in args.site}) != len(args.site):
        parser.error("each Matomo idsite may be given once")
    return args


def password(args: argparse.Namespace, dsn: SourceDsn) -> str | None:
    """The password from stdin, a named variable or a prompt on a terminal; None keeps the DSN's."""
    if args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if args.password_env:
        if args.password_env not in os.environ:
            raise ImportRefused(f"--password-env {args.password_env} is not set")
        return os.environ[args.password_env]
    if not dsn.has_password and sys.stdin.isatty():
        return getpass.getpass(f"password of {dsn.describe()}: ")
    return None


def progress_printer() -> tuple[Progress, Any]:
    """A tqdm bar on a terminal; one line per checkpoint otherwise (cron, logs, tests)."""
    if not sys.stderr.isatty():

        def line(event: dict[str, Any]) -> None:
            sys.stderr.write(orjson.dumps(event).decode() + "\n")
            sys.stderr.flush()

        return line, None
    from tqdm import tqdm

    bars: dict[str, Any] = {}

    def bar(event: dict[str, Any]) -> None:
        if event["event"] == "start":
            for old in bars.values():
                old.close()
            bars["current"] = tqdm(
                total=event["visits_total"], unit="visit", desc=f"{event['site']}", file=sys.stderr, dynamic_ncols=True
            )
        elif "current" in bars:
            bars["current"].update(event["visits"])
            bars["current"].set_postfix(rows=event["rows"], rows_per_s=event["rows_per_s"])

    return bar, bars


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    options = Options(
        sites=dict(args.site),
        since=args.since,
        until=args.until,
        include_expired=args.include_expired,
        dry_run=args.dry_run,
        batch_visits=args.batch_visits,
    )
    storage: Storage | None = None
    source: MatomoSource | None = None
    try:
        settings = Settings.from_env()
        registry = load_sites(settings.sites_file, settings.public_url)
        dsn = SourceDsn.parse(args.dsn)
        dsn = SourceDsn.parse(args.dsn, password(args, dsn))
        source = MatomoSource(dsn, args.table_prefix)
        resolve_sites(options, registry, list(source.sites()))  # refused before our storage is even opened
        if not args.dry_run:
            if folder_is_held(settings.clickhouse_dsn):
                raise StorageHeld(
                    f"a running collector holds {settings.clickhouse_dsn}: stop it for the import (its spool keeps "
                    "what arrives meanwhile only while it runs), or set COLLECTOR_CLICKHOUSE_DSN to a ClickHouse "
                    "server, which several processes may share"
                )
            storage = open_storage(settings, workers=1)
            storage.migrate()
        on_batch, bars = progress_printer()
        report = run_import(
            storage,
            source,
            dsn.describe(),
            Hasher(settings.secret_key),
            registry,
            options,
            settings.max_string_chars,
            on_batch,
        )
        for bar in (bars or {}).values():
            bar.close()
    except (StorageError, StorageHeld) as exc:
        print(orjson.dumps({"ok": False, "error": str(exc)[:500]}).decode())
        return EXIT_STORAGE
    except CollectorError as exc:
        print(orjson.dumps({"ok": False, "error": str(exc)[:500]}).decode())
        return EXIT_REFUSED
    finally:
        if source is not None:
            source.close()
        if storage is not None:
            storage.close()
    print(orjson.dumps(report, option=orjson.OPT_INDENT_2).decode())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
