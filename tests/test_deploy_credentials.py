"""The ClickHouse password travels as a client argument, never pasted into a URL: any character works.

No ClickHouse server runs here (chdb ignores credentials), so a small HTTP server on a real socket stands
in for one and records the credentials clickhouse-connect sends; the figures compared are the password as
written, decoded from the wire independently of our code.
"""

from __future__ import annotations

import base64
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest

from collector.core.errors import ConfigError
from collector.core.settings import Settings
from collector.core.storage import open_storage
from ingest_schema.storage import Storage, StorageError, client_args, database_from_dsn
from tests.support.collector import ROOT

#: every character that breaks a password pasted into a URL, and a few that break shells and XML
NASTY = "p@ss:w/rd#?%&=+ ;'\"<>`$\\é"


class AuthRecorder(BaseHTTPRequestHandler):
    """Answers every request as ClickHouse does a wrong password (516), after noting who asked."""

    seen: list[str] = []

    def _refuse(self) -> None:
        self.seen.append(self.headers.get("Authorization", ""))
        body = b"Code: 516. DB::Exception: Authentication failed. (AUTHENTICATION_FAILED)"
        self.send_response(401)
        self.send_header("X-ClickHouse-Exception-Code", "516")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _refuse

    def log_message(self, *args: object) -> None:
        """Quiet."""


@pytest.fixture
def fake_server() -> Iterator[tuple[str, list[str]]]:
    AuthRecorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), AuthRecorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", AuthRecorder.seen
    server.shutdown()
    server.server_close()


def basic_credentials(header: str) -> str:
    assert header.startswith("Basic "), header
    return base64.b64decode(header.removeprefix("Basic ")).decode()


def test_deploy_client_args_pass_the_password_untouched_and_strip_it_from_the_url() -> None:
    args = client_args("http://clickhouse:8123/analytics", "collector", NASTY)
    assert args["username"] == "collector" and args["password"] == NASTY
    assert args["dsn"] == "http://clickhouse:8123"


def test_deploy_a_percent_encoded_dsn_still_works_and_explicit_credentials_win() -> None:
    dsn = f"http://collector:{quote(NASTY, safe='')}@clickhouse:8123/analytics"
    args = client_args(dsn)
    assert (args["username"], args["password"], args["dsn"]) == ("collector", NASTY, "http://clickhouse:8123")
    assert database_from_dsn(dsn, "other") == "analytics"
    assert client_args(dsn, "reader", "plain")["password"] == "plain"
    assert client_args(dsn, "reader", "plain")["username"] == "reader"
    assert client_args("chdb:///tmp/folder") == {"dsn": "chdb:///tmp/folder"}


def test_deploy_the_password_reaches_the_server_byte_for_byte(fake_server: tuple[str, list[str]]) -> None:
    url, seen = fake_server
    with pytest.raises(StorageError):
        Storage(f"{url}/analytics", "analytics", user="collector", password=NASTY)
    assert seen and basic_credentials(seen[0]) == f"collector:{NASTY}"


def test_deploy_every_process_opens_clickhouse_with_the_configured_credentials(
    fake_server: tuple[str, list[str]], tmp_path: Path
) -> None:
    """The collector, the CLIs and the Matomo history import all open storage through `open_storage`."""
    url, seen = fake_server
    settings = Settings.from_env(
        {
            "COLLECTOR_CLICKHOUSE_DSN": f"{url}/analytics",
            "COLLECTOR_CLICKHOUSE_USER": "collector",
            "COLLECTOR_CLICKHOUSE_PASSWORD": NASTY,
            "COLLECTOR_DATA_DIR": str(tmp_path),
        }
    )
    with pytest.raises(StorageError):
        open_storage(settings, workers=1)
    assert seen and basic_credentials(seen[0]) == f"collector:{NASTY}"


def test_deploy_the_schema_job_reads_its_password_file(fake_server: tuple[str, list[str]], tmp_path: Path) -> None:
    secret = tmp_path / "clickhouse_password"
    secret.write_text(NASTY + "\n")
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ingest_schema",
            "--cluster",
            "prod",
            "--apply",
            fake_server[0],
            "--user",
            "collector",
            "--password-file",
            str(secret),
        ],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert result.returncode != 0  # the stand-in refuses everyone
    assert basic_credentials(fake_server[1][0]) == f"collector:{NASTY}"


def test_deploy_settings_read_the_password_from_a_secret_file(tmp_path: Path) -> None:
    secret = tmp_path / "pw"
    secret.write_text(NASTY + "\n")
    env = {
        "COLLECTOR_DATA_DIR": str(tmp_path),
        "COLLECTOR_SECRET_KEY": "k",
        "COLLECTOR_CLICKHOUSE_DSN": "http://clickhouse:8123/analytics",
        "COLLECTOR_CLICKHOUSE_USER": "collector",
        "COLLECTOR_CLICKHOUSE_PASSWORD_FILE": str(secret),
    }
    settings = Settings.from_env(env)
    assert (settings.clickhouse_user, settings.clickhouse_password) == ("collector", NASTY)
    assert NASTY not in str(settings.describe()) and NASTY not in repr(settings)
    assert (
        Settings.from_env(
            {**env, "COLLECTOR_CLICKHOUSE_PASSWORD_FILE": "", "COLLECTOR_CLICKHOUSE_PASSWORD": NASTY}
        ).clickhouse_password
        == NASTY
    )
    with pytest.raises(ConfigError, match="not both"):
        Settings.from_env({**env, "COLLECTOR_CLICKHOUSE_PASSWORD": "x"})
    with pytest.raises(ConfigError, match="PASSWORD_FILE"):
        Settings.from_env({**env, "COLLECTOR_CLICKHOUSE_PASSWORD_FILE": str(tmp_path / "missing")})


def test_deploy_a_folder_in_place_of_the_sites_file_is_refused_with_the_reason(tmp_path: Path) -> None:
    folder = tmp_path / "sites.toml"
    folder.mkdir()  # what Docker leaves when the host file to bind-mount is missing
    with pytest.raises(ConfigError, match="is a folder.*sites.example.toml"):
        Settings.from_env({"COLLECTOR_DATA_DIR": str(tmp_path), "COLLECTOR_SITES_FILE": str(folder)})
    result = subprocess.run(
        [sys.executable, "-m", "collector"],
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        env={
            "PATH": "/usr/bin:/bin",
            "PYTHONPATH": str(ROOT),
            "COLLECTOR_DATA_DIR": str(tmp_path / "data"),
            "COLLECTOR_SITES_FILE": str(folder),
        },
    )
    assert result.returncode == 2
    assert b"is a folder" in result.stderr
