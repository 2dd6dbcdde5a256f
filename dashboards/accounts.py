"""Analyst accounts, log-in sessions and API tokens, stored in ClickHouse (migration 5).

Passwords are kept as scrypt hashes; a session cookie and a token secret are kept only as SHA-256
hashes, so a copy of the database lets nobody in. Lookups are cached for a short while (a revoked
session or token stops working on other collector processes within CACHE_SECONDS). Methods block:
handlers call them through `storage.run`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from dashboards.errors import BadQuery, TooManyAttempts
from ingest_schema.storage import Storage

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_MAXMEM = 2**15, 8, 1, 64 * 1024 * 1024
SESSION_HOURS = 12
CACHE_SECONDS = 30
CACHE_ENTRIES = 10_000
MAX_FAILURES, LOCK_SECONDS = 5, 60
MIN_PASSWORD_CHARS = 12
TOKEN_PREFIX = "wat_"
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise BadQuery("an analyst name is 1-64 letters, digits or . _ @ -")
    return name


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM)
    encode = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${encode(salt).decode()}${encode(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p),
                                  maxmem=SCRYPT_MAXMEM)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass
class _Cached:
    analyst: str | None
    checked: float


class Accounts:
    """Analysts, sessions and tokens of one ClickHouse database."""

    def __init__(self, storage: Storage, secret_key: bytes) -> None:
        self.storage = storage
        self._csrf_key = hmac.new(secret_key, b"dashboard-csrf", hashlib.sha256).digest()
        self._sessions: dict[str, _Cached] = {}
        self._tokens: dict[str, _Cached] = {}
        self._failures: dict[str, tuple[int, float]] = {}

    # analysts -------------------------------------------------------------------------------------

    def analyst_count(self) -> int:
        rows = self.storage.query_rows(f"SELECT uniqExact(name) FROM {self.storage.table('analysts')}")
        return int(rows[0][0]) if rows else 0

    def save_analyst(self, name: str, password: str) -> None:
        """Create an analyst or give one a new password (the newest version wins)."""
        check_name(name)
        if len(password) < MIN_PASSWORD_CHARS:
            raise BadQuery(f"a password has at least {MIN_PASSWORD_CHARS} characters")
        self.storage.insert(
            "analysts", ("name", "password_hash", "disabled", "created_at", "version"),
            [(name, hash_password(password), 0, _now(), time.time_ns())],
        )

    def _stored_hash(self, name: str) -> str | None:
        rows = self.storage.query_rows(
            f"SELECT argMax(password_hash, version), argMax(disabled, version) FROM {self.storage.table('analysts')} "
            "WHERE name = {name:String} GROUP BY name", {"name": name},
        )
        if not rows or rows[0][1]:
            return None
        return str(rows[0][0])

    def check_login(self, name: str, password: str) -> bool:
        """Whether the password is right; after MAX_FAILURES wrong ones a name is locked for a while."""
        count, since = self._failures.get(name, (0, 0.0))
        if count >= MAX_FAILURES and time.monotonic() - since < LOCK_SECONDS:
            raise TooManyAttempts("too many failed log-ins, wait a minute")
        stored = self._stored_hash(name) if _NAME.fullmatch(name) else None
        ok = verify_password(password, stored) if stored else verify_password(password, _DUMMY_HASH) and False
        if ok:
            self._failures.pop(name, None)
        else:
            if len(self._failures) >= CACHE_ENTRIES:
                self._failures.clear()
            self._failures[name] = (count + 1 if count < MAX_FAILURES else 1, time.monotonic())
        return ok

    # sessions -------------------------------------------------------------------------------------

    def start_session(self, analyst: str) -> str:
        """A new session; returns the cookie value (only its hash is stored)."""
        value = secrets.token_urlsafe(32)
        now = _now()
        self.storage.insert(
            "dashboard_sessions", ("id_hash", "analyst", "created_at", "expires_at", "revoked", "version"),
            [(_sha256(value), analyst, now, now + timedelta(hours=SESSION_HOURS), 0, time.time_ns())],
        )
        return value

    def end_session(self, value: str) -> None:
        now = _now()
        self.storage.insert(
            "dashboard_sessions", ("id_hash", "analyst", "created_at", "expires_at", "revoked", "version"),
            [(_sha256(value), "", now, now, 1, time.time_ns())],
        )
        self._sessions.pop(_sha256(value), None)

    def session_analyst(self, value: str) -> str | None:
        key = _sha256(value)
        cached = self._cached(self._sessions, key)
        if cached is not None:
            return cached.analyst
        rows = self.storage.query_rows(
            f"SELECT argMax(analyst, version), argMax(expires_at, version), argMax(revoked, version) "
            f"FROM {self.storage.table('dashboard_sessions')} WHERE id_hash = {{h:String}} GROUP BY id_hash",
            {"h": key},
        )
        analyst = None
        if rows and not rows[0][2] and _aware(rows[0][1]) > _now():
            analyst = str(rows[0][0])
        self._remember(self._sessions, key, analyst)
        return analyst

    def csrf_token(self, session_value: str) -> str:
        """The CSRF token of a session: an HMAC of its cookie, so nothing more is stored."""
        return hmac.new(self._csrf_key, session_value.encode(), hashlib.sha256).hexdigest()

    # tokens ---------------------------------------------------------------------------------------

    def create_token(self, analyst: str, label: str = "") -> str:
        """A bearer token `wat_<id>_<secret>` for scripts; shown once, only the secret's hash is kept."""
        check_name(analyst)
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        self.storage.insert(
            "api_tokens", ("token_id", "secret_hash", "analyst", "label", "created_at", "revoked", "version"),
            [(token_id, _sha256(secret), analyst, label[:100], _now(), 0, time.time_ns())],
        )
        return f"{TOKEN_PREFIX}{token_id}_{secret}"

    def revoke_token(self, token_id: str) -> None:
        self.storage.insert(
            "api_tokens", ("token_id", "secret_hash", "analyst", "label", "created_at", "revoked", "version"),
            [(token_id, "", "", "", _now(), 1, time.time_ns())],
        )
        self._tokens = {k: v for k, v in self._tokens.items() if not k.startswith(token_id + ":")}

    def token_analyst(self, token: str) -> str | None:
        if not token.startswith(TOKEN_PREFIX) or token.count("_") < 2:
            return None
        token_id, _, secret = token[len(TOKEN_PREFIX):].partition("_")
        key = f"{token_id}:{_sha256(secret)}"
        cached = self._cached(self._tokens, key)
        if cached is not None:
            return cached.analyst
        rows = self.storage.query_rows(
            f"SELECT argMax(secret_hash, version), argMax(analyst, version), argMax(revoked, version) "
            f"FROM {self.storage.table('api_tokens')} WHERE token_id = {{t:String}} GROUP BY token_id",
            {"t": token_id},
        )
        analyst = None
        if rows and not rows[0][2] and hmac.compare_digest(str(rows[0][0]), _sha256(secret)):
            analyst = str(rows[0][1])
        self._remember(self._tokens, key, analyst)
        return analyst

    # cache ----------------------------------------------------------------------------------------

    @staticmethod
    def _cached(cache: dict[str, _Cached], key: str) -> _Cached | None:
        entry = cache.get(key)
        if entry is not None and time.monotonic() - entry.checked < CACHE_SECONDS:
            return entry
        return None

    @staticmethod
    def _remember(cache: dict[str, _Cached], key: str, analyst: str | None) -> None:
        if len(cache) >= CACHE_ENTRIES:
            cache.pop(next(iter(cache)))
        cache[key] = _Cached(analyst, time.monotonic())


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


#: Checked when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


def generated_password() -> str:
    return secrets.token_urlsafe(15)
