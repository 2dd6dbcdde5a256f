"""`python -m dashboards ACTION [NAME] [options]`: analyst accounts, roles and API tokens.

    python -m dashboards create-user alice                 # admin of every site; asks for the password
    python -m dashboards create-user bob --role view --site shop --site blog --password-stdin
    python -m dashboards set-role bob --site shop --role admin      # --role none removes it
    python -m dashboards set-password alice
    python -m dashboards disable-user bob | enable-user bob | delete-user bob
    python -m dashboards create-token alice --label notebook
    python -m dashboards revoke-token wat_3f2a…            # the whole token or its 12-digit id
    python -m dashboards list-users | list-tokens [alice]
    python -m dashboards send-reports [--now]              # reports due now; --now: the last period, even if
                                                           # it ended before the schedule was made

Works on the ClickHouse of the environment's settings. While a collector holds the embedded data
folder, the request goes to that collector (the URL it wrote into DATA_DIR/collector.json at start, or
--url) with the bearer COLLECTOR_ADMIN_TOKEN, and the same code runs there. Prints one JSON line.
Exit codes: 0 done; 2 refused (bad input, a name that exists already, a disabled analyst); 3 unknown
(no such analyst, site or token); 4 ClickHouse or the collector unreachable.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from datetime import datetime, timezone
from typing import Any

import orjson

from collector.core.client import CollectorUnreachable, call_admin, local_url, running_collector_url
from collector.core.errors import CollectorError, PayloadError
from collector.core.settings import Settings
from collector.core.sites import load_sites
from collector.core.storage import open_storage
from dashboards import page_templates
from dashboards.accounts import Accounts
from dashboards.admin import ACTIONS, account_action
from dashboards.errors import NotFound
from dashboards.queries import view_available
from dashboards.reports.scheduler import ReportDeps, send_due
from ingest_schema.storage import StorageError, folder_is_held

EXIT_OK, EXIT_REFUSED, EXIT_UNKNOWN, EXIT_UNREACHABLE = 0, 2, 3, 4
NEEDS_NAME = frozenset(ACTIONS) - {"list-users", "list-tokens", "send-reports"}
NEEDS_PASSWORD = ("create-user", "set-password")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m dashboards", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("action", choices=ACTIONS)
    parser.add_argument(
        "name", nargs="?", default="", help="analyst name (create-token: its owner; revoke-token: the token or its id)"
    )
    parser.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    parser.add_argument("--role", help="create-user: view or admin (default admin); set-role: view, admin or none")
    parser.add_argument(
        "--site", action="append", default=[], help="a site id the role applies to (repeatable; default: every site)"
    )
    parser.add_argument("--label", default="", help="create-token: what the token is for")
    parser.add_argument(
        "--now", action="store_true", help="send-reports: send each schedule's last complete period unless already sent"
    )
    parser.add_argument(
        "--url",
        "--collector",
        dest="url",
        help="send the request to the collector at this URL (default: the one holding the data folder)",
    )
    args = parser.parse_args(argv)
    if args.action in NEEDS_NAME and not args.name:
        parser.error(f"{args.action} needs a name")
    if args.action == "set-role" and not args.role:
        parser.error("set-role needs --role view, admin or none")
    return args


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise PayloadError("the two passwords differ")
    return first


def run_remotely(url: str, admin_token: str, request: dict[str, Any]) -> dict[str, Any]:
    """The request carried out by the collector that holds the data folder, its errors mapped to ours."""
    try:
        return dict(call_admin(url, "/dashboard/admin/accounts", admin_token, request, timeout_s=120))
    except CollectorUnreachable as exc:
        detail = _error_text(exc.body)
        if exc.status == 404:
            raise NotFound(detail) from exc
        if exc.status == 401:
            raise PayloadError(f"the collector at {url} refused the admin token (COLLECTOR_ADMIN_TOKEN)") from exc
        if 0 < exc.status < 500:
            raise PayloadError(detail) from exc
        raise StorageError(str(exc) if not exc.status else f"the collector failed ({exc.status}): {detail}") from exc


def _error_text(body: bytes) -> str:
    try:
        return str(orjson.loads(body)["error"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return body[:200].decode(errors="replace")


def run_locally(settings: Settings, request: dict[str, Any]) -> dict[str, Any]:
    sites = load_sites(settings.sites_file, settings.public_url)
    storage = open_storage(settings, workers=1)
    try:
        storage.migrate()
        accounts = Accounts(storage, settings.secret_key)
        if request["action"] == "send-reports":
            deps = ReportDeps(storage, accounts, sites, settings, page_templates(), view_available(storage))
            sent = send_due(deps, datetime.now(timezone.utc), bool(request.get("now")))
            return {"ok": True, "action": "send-reports", "reports": sent}
        return account_action(accounts, request, [site.id for site in sites.all()])
    finally:
        storage.close()


def build_request(args: argparse.Namespace) -> dict[str, Any]:
    request: dict[str, Any] = {
        "action": args.action,
        "name": args.name,
        "label": args.label,
        "sites": args.site,
        "now": args.now,
    }
    if args.role:
        request["role"] = args.role
    if args.action in NEEDS_PASSWORD:
        request["password"] = read_password(args.password_stdin)
    return request


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        settings = Settings.from_env()
        request = build_request(args)
        if args.url or folder_is_held(settings.clickhouse_dsn):
            result = run_remotely(
                args.url or running_collector_url(settings.data_dir) or local_url(settings),
                settings.admin_token,
                request,
            )
        else:
            result = run_locally(settings, request)
    except StorageError as exc:
        return _fail(str(exc), EXIT_UNREACHABLE)
    except NotFound as exc:
        return _fail(str(exc), EXIT_UNKNOWN)
    except CollectorError as exc:
        return _fail(str(exc), EXIT_REFUSED)
    print(orjson.dumps(result).decode())
    return EXIT_OK


def _fail(message: str, code: int) -> int:
    """The refusal as JSON on stdout (for scripts) and as a sentence on stderr (for people)."""
    print(orjson.dumps({"ok": False, "error": message[:300]}).decode())
    print(f"python -m dashboards: {message[:300]}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main())
