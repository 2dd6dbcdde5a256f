"""`python -m dashboards create-user|set-password|create-token|revoke-token`: analyst accounts.

    python -m dashboards create-user alice            # asks for the password (or --password-stdin)
    python -m dashboards create-token alice --label notebook
    python -m dashboards revoke-token wat_3f2a…

Works on the ClickHouse of the environment's settings; when a running collector holds the embedded
folder, the request goes to its admin endpoint (bearer COLLECTOR_ADMIN_TOKEN) and the same code runs
there. Prints one JSON line. Exit codes: 0 done, 2 refused (bad name, short password), 4 unreachable.
"""

from __future__ import annotations

import argparse
import getpass
import sys
import urllib.error
import urllib.request
from typing import Any

import orjson

from collector.core.errors import CollectorError, PayloadError
from collector.core.settings import Settings
from dashboards.accounts import Accounts
from dashboards.admin import ACTIONS, account_action
from ingest_schema.storage import Storage, StorageError, folder_is_held

EXIT_OK, EXIT_REFUSED, EXIT_UNREACHABLE = 0, 2, 4


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m dashboards", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument("name", help="analyst name (create-token: its owner; revoke-token: the token or its id)")
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument("--label", default="", help="create-token: what the token is for")
    parser.add_argument("--collector", help="send the request to this running collector (default: automatic)")
    return parser.parse_args(argv)


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise PayloadError("the two passwords differ")
    return first


def run_remotely(url: str, admin_token: str, request: dict[str, Any]) -> dict[str, Any]:
    http = urllib.request.Request(
        url.rstrip("/") + "/dashboard/admin/accounts", data=orjson.dumps(request), method="POST",
        headers={"Authorization": f"Bearer {admin_token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(http, timeout=60) as response:
            return dict(orjson.loads(response.read()))
    except urllib.error.HTTPError as exc:
        detail = exc.read()[:200].decode(errors="replace")
        if exc.code < 500:
            raise PayloadError(f"the collector refused ({exc.code}): {detail}") from exc
        raise StorageError(f"the collector failed ({exc.code}): {detail}") from exc
    except OSError as exc:
        raise StorageError(f"collector at {url} unreachable: {exc}") from exc


def run_locally(settings: Settings, request: dict[str, Any]) -> dict[str, Any]:
    storage = Storage(settings.clickhouse_dsn, settings.database, workers=1, user=settings.clickhouse_user,
                      password=settings.clickhouse_password)
    try:
        storage.migrate()
        return account_action(Accounts(storage, settings.secret_key), request)
    finally:
        storage.close()


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    request: dict[str, Any] = {"action": args.action, "name": args.name, "label": args.label}
    try:
        settings = Settings.from_env()
        if args.action in ("create-user", "set-password"):
            request["password"] = read_password(args.password_stdin)
        if args.collector or folder_is_held(settings.clickhouse_dsn):
            result = run_remotely(args.collector or settings.public_url, settings.admin_token, request)
        else:
            result = run_locally(settings, request)
    except StorageError as exc:
        print(orjson.dumps({"ok": False, "error": str(exc)[:300]}).decode())
        return EXIT_UNREACHABLE
    except CollectorError as exc:
        print(orjson.dumps({"ok": False, "error": str(exc)[:300]}).decode())
        return EXIT_REFUSED
    print(orjson.dumps(result).decode())
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
