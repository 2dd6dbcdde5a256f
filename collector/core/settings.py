"""All configuration in one place: environment variables with documented defaults.

`Settings.from_env()` is the only reader of the environment; everything else receives a Settings.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Mapping

from collector.core.errors import ConfigError

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

#: Every variable the collector reads, its default, and what it means (printed by `--help-env`).
ENVIRONMENT: dict[str, tuple[str, str]] = {
    "COLLECTOR_HOST": ("127.0.0.1", "listen address"),
    "COLLECTOR_PORT": ("8000", "listen port"),
    "COLLECTOR_DATA_DIR": ("./data", "folder for the embedded ClickHouse, the secret key and the spool"),
    "COLLECTOR_CLICKHOUSE_DSN": (
        "chdb:///<DATA_DIR>/clickhouse",
        "ClickHouse: chdb:///folder (embedded) or http://clickhouse:8123/db (server; credentials in the "
        "variables below, or percent-encoded in the URL)",
    ),
    "COLLECTOR_CLICKHOUSE_USER": ("", "ClickHouse user of a server DSN (wins over a user in the URL)"),
    "COLLECTOR_CLICKHOUSE_PASSWORD": (
        "",
        "ClickHouse password of a server DSN, any characters, passed to the client as is (wins over the URL)",
    ),
    "COLLECTOR_CLICKHOUSE_PASSWORD_FILE": (
        "",
        "file holding the ClickHouse password (Docker secrets: /run/secrets/...); one trailing newline is ignored",
    ),
    "COLLECTOR_DATABASE": ("analytics", "ClickHouse database (a database in an http DSN path wins)"),
    "COLLECTOR_CLICKHOUSE_CLUSTER": (
        "",
        "cluster name: the schema is applied by `python -m ingest_schema --cluster`, the collector only checks it",
    ),
    "COLLECTOR_SITES_FILE": (
        "./sites.toml",
        "sites file; when it is missing a demo site is used (a folder in its place is refused: Docker makes one "
        "when a bind-mounted file is missing)",
    ),
    "COLLECTOR_PUBLIC_URL": ("", "URL printed at start and used in snippets (default http://HOST:PORT)"),
    "COLLECTOR_BATCH_ROWS": ("5000", "flush a table's buffer at this many rows"),
    "COLLECTOR_BATCH_INTERVAL_MS": ("1000", "flush buffers at least this often"),
    "COLLECTOR_SPOOL_MAX_BYTES": ("1073741824", "disk budget of the write-ahead spool; above it uploads get 503"),
    "COLLECTOR_SPOOL_SEGMENT_BYTES": ("16777216", "seal a spool segment (and insert it) at this size"),
    "COLLECTOR_SPOOL_FSYNC_MS": ("2", "group-commit window: requests of this many ms share one fsync (0: none)"),
    "COLLECTOR_MAX_BODY_BYTES": ("8388608", "largest request body accepted (413 above)"),
    "COLLECTOR_MAX_DECOMPRESSED_BYTES": ("33554432", "largest gunzipped body (gzip bombs get 413)"),
    "COLLECTOR_MAX_EVENTS": ("20000", "most events in one upload (413 above)"),
    "COLLECTOR_MAX_STRING_CHARS": ("65536", "longest string kept in a stored field (longer is cut)"),
    "COLLECTOR_RATE_LIMIT_PER_MINUTE": (
        "600",
        "requests per client IP per minute on the tracking endpoints (429 + Retry-After above; 0: no limit); "
        "counted in memory under a keyed hash of the IP",
    ),
    "COLLECTOR_RATE_LIMIT_EXEMPT": (
        "127.0.0.0/8,::1",
        "client networks never rate limited, comma-separated (the host itself: health checks, local load tests, "
        "a same-host proxy that does not pass the client IP); empty: none",
    ),
    "COLLECTOR_BODY_TIMEOUT_S": (
        "15",
        "seconds a client has to send its request body (408 and closed above); also how long the rest of a "
        "refused body is read before the connection closes",
    ),
    "COLLECTOR_KEEPALIVE_TIMEOUT_S": (
        "15",
        "seconds a connection may sit idle or spend sending request headers before it is closed",
    ),
    "COLLECTOR_SECRET_KEY": ("<generated into DATA_DIR/secret.key>", "key for visitor hashes"),
    "COLLECTOR_ADMIN_TOKEN": (
        "<generated into DATA_DIR/admin.token>",
        "bearer token of /admin (the retention job uses it to reach a running collector)",
    ),
    "COLLECTOR_CONSENT_CACHE_SIZE": ("100000", "page views whose consent state is kept in memory"),
    "COLLECTOR_WORKERS": (
        "auto",
        "collector processes serving the one port (`auto`: the number of cores; docs/scale-out.md); on the "
        "embedded engine the first owns ClickHouse and the others hand it their spooled rows",
    ),
    "COLLECTOR_WORKER_INDEX": ("0", "set by the collector for the worker processes it starts; do not set it"),
    "COLLECTOR_CONSENT_STORE_HOURS": (
        "24",
        "hours the shared consent store (DATA_DIR/consent.sqlite3) keeps a page view's or visitor's decisions; "
        "older ones are read from the consent ledger",
    ),
    "COLLECTOR_CLIENT_IP_HEADER": (
        "",
        "header with the client IP behind a reverse proxy (X-Real-IP, or X-Forwarded-For: its last address); "
        "empty: the TCP peer. Used for the country and the cookieless hash, never stored",
    ),
    "COLLECTOR_MATOMO_TOKEN_AUTH": (
        "",
        "Matomo token_auth allowing cip, cdt older than 24 h and country; empty: those parameters get 400",
    ),
    "COLLECTOR_DROP_BOTS": ("1", "1 drops requests from crawlers and headless browsers (counted, not stored)"),
    "COLLECTOR_SMTP_HOST": ("", "SMTP server of the scheduled e-mail reports; empty: no report is sent"),
    "COLLECTOR_SMTP_PORT": ("587", "SMTP port (587 with starttls, 465 with ssl, 25 with none)"),
    "COLLECTOR_SMTP_SECURITY": ("starttls", "starttls (upgrade after connecting), ssl (TLS from the start) or none"),
    "COLLECTOR_SMTP_USER": ("", "SMTP user name; empty: no log-in"),
    "COLLECTOR_SMTP_PASSWORD": ("", "SMTP password (from the environment only, never logged)"),
    "COLLECTOR_SMTP_FROM": ("", "From: address of the reports (default analytics@ the public URL's host)"),
    "COLLECTOR_REPORTS_CHECK_S": ("300", "how often (seconds) the collector looks for reports that are due"),
    "COLLECTOR_SIGNALS_ARCHIVE_GRACE_MIN": (
        "60",
        "minutes after a UTC day ends before its frustration signals are archived for the insights (0: no archive)",
    ),
    "COLLECTOR_EVENT_LOOP": ("uvloop", "uvloop (measured 13% more requests/s, see bench/) or asyncio"),
    "COLLECTOR_LOG_LEVEL": ("INFO", "logging level"),
    "COLLECTOR_RETENTION_SCHEDULE": (
        "17 3 * * *",
        "cron expression (UTC) of `python -m retention schedule`: when the retention job runs",
    ),
}


def _int(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, ENVIRONMENT[name][0])
    try:
        value = int(raw)
    except ValueError as exc:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from exc
    if value <= 0:
        raise ConfigError(f"{name} must be positive, got {value}")
    return value


def _non_negative(env: Mapping[str, str], name: str) -> int:
    raw = env.get(name, ENVIRONMENT[name][0])
    if not raw.isdecimal():
        raise ConfigError(f"{name} must be a whole number, got {raw!r}")
    return int(raw)


def _choice(env: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = env.get(name, ENVIRONMENT[name][0]).strip().lower()
    if value not in allowed:
        raise ConfigError(f"{name} must be one of {', '.join(allowed)}, got {value!r}")
    return value


def _workers(env: Mapping[str, str]) -> int:
    """COLLECTOR_WORKERS: a positive number, or `auto` (the default) for the number of cores."""
    raw = env.get("COLLECTOR_WORKERS", "").strip().lower() or ENVIRONMENT["COLLECTOR_WORKERS"][0]
    if raw == "auto":
        return max(1, os.cpu_count() or 1)
    return _int(env, "COLLECTOR_WORKERS")


def _networks(env: Mapping[str, str], name: str) -> tuple[IPNetwork, ...]:
    raw = env.get(name, ENVIRONMENT[name][0])
    try:
        return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise ConfigError(f"{name} must be comma-separated networks such as 10.0.0.0/8, got {raw!r}") from exc


def _secret_key(
    env: Mapping[str, str], data_dir: Path, variable: str = "COLLECTOR_SECRET_KEY", filename: str = "secret.key"
) -> bytes:
    """A secret: from the environment, else generated once and kept beside the data (mode 0600)."""
    if env.get(variable):
        return env[variable].encode()
    path = data_dir / filename
    if path.exists():
        return path.read_bytes().strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_hex(32).encode()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key)
    return key


def _password(env: Mapping[str, str]) -> str:
    """The ClickHouse password from its variable or its file (Docker secrets), never from a URL."""
    path = env.get("COLLECTOR_CLICKHOUSE_PASSWORD_FILE", "")
    if not path:
        return env.get("COLLECTOR_CLICKHOUSE_PASSWORD", "")
    if env.get("COLLECTOR_CLICKHOUSE_PASSWORD"):
        raise ConfigError("set COLLECTOR_CLICKHOUSE_PASSWORD or COLLECTOR_CLICKHOUSE_PASSWORD_FILE, not both")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"COLLECTOR_CLICKHOUSE_PASSWORD_FILE {path}: {exc}") from exc
    return text[:-1] if text.endswith("\n") else text


def _sites_file(env: Mapping[str, str]) -> Path:
    """A folder where the sites file should be is what Docker leaves when the file to bind-mount is missing."""
    path = Path(env.get("COLLECTOR_SITES_FILE", ENVIRONMENT["COLLECTOR_SITES_FILE"][0]))
    if path.is_dir():
        raise ConfigError(
            f"COLLECTOR_SITES_FILE {path} is a folder, not a file: with Docker this means the host's sites.toml "
            "was missing (Docker created a folder in its place). Remove that folder, copy sites.example.toml to "
            "sites.toml and start again"
        )
    return path


@dataclass(frozen=True)
class Settings:
    host: str
    port: int
    data_dir: Path
    clickhouse_dsn: str = field(repr=False)
    database: str
    clickhouse_cluster: str
    sites_file: Path
    public_url: str
    batch_rows: int
    batch_interval_ms: int
    spool_max_bytes: int
    spool_segment_bytes: int
    spool_fsync_ms: int
    max_body_bytes: int
    max_decompressed_bytes: int
    max_events: int
    max_string_chars: int
    consent_cache_size: int
    #: COLLECTOR_RATE_LIMIT_PER_MINUTE (default 600, 0: off): tracking requests per client IP per minute
    rate_limit_per_minute: int
    #: COLLECTOR_RATE_LIMIT_EXEMPT (default loopback): networks the rate limit does not apply to
    rate_limit_exempt: tuple[IPNetwork, ...]
    #: COLLECTOR_BODY_TIMEOUT_S (default 15): time allowed for a request body to arrive
    body_timeout_s: int
    #: COLLECTOR_KEEPALIVE_TIMEOUT_S (default 15): an idle connection, or one trickling its headers, is closed
    keepalive_timeout_s: int
    log_level: str
    event_loop: str
    drop_bots: bool
    secret_key: bytes = field(repr=False)
    admin_token: str = field(repr=False, default="")
    #: COLLECTOR_CLIENT_IP_HEADER (default empty: the TCP peer): the header holding the client IP behind a
    #: reverse proxy (X-Real-IP, or X-Forwarded-For: its last address); see docs/matomo.md
    client_ip_header: str = ""
    #: COLLECTOR_MATOMO_TOKEN_AUTH (default empty: refused): Matomo token_auth for cip, old cdt and country
    matomo_token_auth: str = field(repr=False, default="")
    #: COLLECTOR_SMTP_* (issue 15): where scheduled e-mail reports are sent from; no host, no reports
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_security: str = "starttls"
    smtp_user: str = ""
    smtp_password: str = field(repr=False, default="")
    smtp_from: str = ""
    #: COLLECTOR_REPORTS_CHECK_S (default 300): the report scheduler's tick
    reports_check_s: int = 300
    #: COLLECTOR_SIGNALS_ARCHIVE_GRACE_MIN (default 60; 0: off): a UTC day is archived (dashboards/archive.py)
    #: this long after it ended
    signals_archive_grace_min: int = 60
    #: COLLECTOR_CLICKHOUSE_USER (default empty: the DSN's user, else ClickHouse's default user)
    clickhouse_user: str = ""
    #: COLLECTOR_CLICKHOUSE_PASSWORD or the content of COLLECTOR_CLICKHOUSE_PASSWORD_FILE (default empty:
    #: the DSN's percent-decoded password); handed to clickhouse-connect as an argument, never put in a URL
    clickhouse_password: str = field(repr=False, default="")
    #: COLLECTOR_RETENTION_SCHEDULE (default "17 3 * * *", UTC): when `python -m retention schedule` runs the job
    retention_schedule: str = "17 3 * * *"
    #: COLLECTOR_WORKERS (default `auto`: the number of cores): processes serving the port (docs/scale-out.md)
    workers: int = 1
    #: COLLECTOR_WORKER_INDEX (set by `python -m collector` for its children): 0 is the primary
    worker_index: int = 0
    #: COLLECTOR_CONSENT_STORE_HOURS (default 24): how long the shared consent store keeps decisions
    consent_store_hours: int = 24

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> "Settings":
        """Read the environment (or `env`), then apply keyword overrides (tests use these)."""
        env = dict(os.environ if env is None else env)
        for key, value in overrides.items():
            env["COLLECTOR_" + key.upper()] = str(value)
        data_dir = Path(env.get("COLLECTOR_DATA_DIR", "./data")).resolve()
        host = env.get("COLLECTOR_HOST", "127.0.0.1")
        port = _int(env, "COLLECTOR_PORT") if env.get("COLLECTOR_PORT") != "0" else 0
        dsn = env.get("COLLECTOR_CLICKHOUSE_DSN") or f"chdb://{data_dir / 'clickhouse'}"
        return cls(
            host=host,
            port=port,
            data_dir=data_dir,
            clickhouse_dsn=dsn,
            database=env.get("COLLECTOR_DATABASE", "analytics"),
            clickhouse_cluster=env.get("COLLECTOR_CLICKHOUSE_CLUSTER", ""),
            sites_file=_sites_file(env),
            public_url=env.get("COLLECTOR_PUBLIC_URL", "") or f"http://{host}:{port}",
            batch_rows=_int(env, "COLLECTOR_BATCH_ROWS"),
            batch_interval_ms=_int(env, "COLLECTOR_BATCH_INTERVAL_MS"),
            spool_max_bytes=_int(env, "COLLECTOR_SPOOL_MAX_BYTES"),
            spool_segment_bytes=_int(env, "COLLECTOR_SPOOL_SEGMENT_BYTES"),
            spool_fsync_ms=_non_negative(env, "COLLECTOR_SPOOL_FSYNC_MS"),
            max_body_bytes=_int(env, "COLLECTOR_MAX_BODY_BYTES"),
            max_decompressed_bytes=_int(env, "COLLECTOR_MAX_DECOMPRESSED_BYTES"),
            max_events=_int(env, "COLLECTOR_MAX_EVENTS"),
            max_string_chars=_int(env, "COLLECTOR_MAX_STRING_CHARS"),
            consent_cache_size=_int(env, "COLLECTOR_CONSENT_CACHE_SIZE"),
            rate_limit_per_minute=_non_negative(env, "COLLECTOR_RATE_LIMIT_PER_MINUTE"),
            rate_limit_exempt=_networks(env, "COLLECTOR_RATE_LIMIT_EXEMPT"),
            body_timeout_s=_int(env, "COLLECTOR_BODY_TIMEOUT_S"),
            keepalive_timeout_s=_int(env, "COLLECTOR_KEEPALIVE_TIMEOUT_S"),
            log_level=env.get("COLLECTOR_LOG_LEVEL", "INFO"),
            event_loop=_choice(env, "COLLECTOR_EVENT_LOOP", ("uvloop", "asyncio")),
            drop_bots=env.get("COLLECTOR_DROP_BOTS", "1").strip().lower() not in ("0", "false", "no", "off"),
            secret_key=_secret_key(env, data_dir),
            admin_token=_secret_key(env, data_dir, "COLLECTOR_ADMIN_TOKEN", "admin.token").decode(),
            client_ip_header=env.get("COLLECTOR_CLIENT_IP_HEADER", "").strip(),
            matomo_token_auth=env.get("COLLECTOR_MATOMO_TOKEN_AUTH", "").strip(),
            smtp_host=env.get("COLLECTOR_SMTP_HOST", "").strip(),
            smtp_port=_int(env, "COLLECTOR_SMTP_PORT"),
            smtp_security=_choice(env, "COLLECTOR_SMTP_SECURITY", ("starttls", "ssl", "none")),
            smtp_user=env.get("COLLECTOR_SMTP_USER", ""),
            smtp_password=env.get("COLLECTOR_SMTP_PASSWORD", ""),
            smtp_from=env.get("COLLECTOR_SMTP_FROM", "").strip(),
            reports_check_s=_int(env, "COLLECTOR_REPORTS_CHECK_S"),
            signals_archive_grace_min=_non_negative(env, "COLLECTOR_SIGNALS_ARCHIVE_GRACE_MIN"),
            clickhouse_user=env.get("COLLECTOR_CLICKHOUSE_USER", "").strip(),
            clickhouse_password=_password(env),
            retention_schedule=env.get("COLLECTOR_RETENTION_SCHEDULE", "").strip()
            or ENVIRONMENT["COLLECTOR_RETENTION_SCHEDULE"][0],
            workers=_workers(env),
            worker_index=_non_negative(env, "COLLECTOR_WORKER_INDEX"),
            consent_store_hours=_int(env, "COLLECTOR_CONSENT_STORE_HOURS"),
        )

    @property
    def embedded(self) -> bool:
        """The embedded engine (chdb): one process per data folder may open it."""
        return self.clickhouse_dsn.startswith("chdb:")

    @property
    def primary(self) -> bool:
        """The worker that serves everything but `/collect` (docs/scale-out.md); the only one with
        storage on the embedded engine."""
        return self.worker_index == 0

    @property
    def has_storage(self) -> bool:
        """Whether this process opens ClickHouse itself (any worker with a server DSN)."""
        return self.primary or not self.embedded

    @property
    def spool_folder(self) -> Path:
        """This worker's spool: DATA_DIR/spool for the primary, DATA_DIR/spool/w<index> for the others
        (the primary drains theirs on the embedded engine)."""
        base = self.data_dir / "spool"
        return base if self.primary else base / f"w{self.worker_index}"

    def describe(self) -> dict[str, object]:
        """Settings for the start-up log, with secrets and DSN passwords hidden."""
        shown = asdict(self)
        shown.pop("secret_key")
        shown.pop("admin_token")
        shown.pop("matomo_token_auth")
        shown.pop("smtp_password")
        shown.pop("clickhouse_password")
        shown["clickhouse_dsn"] = _hide_password(self.clickhouse_dsn)
        return {key: str(value) for key, value in shown.items()}


def _hide_password(dsn: str) -> str:
    scheme, sep, rest = dsn.partition("://")
    if "@" not in rest:
        return dsn
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}{sep}{user}:***@{host}"
