"""Analyst accounts, per-site roles, log-in sessions and API tokens, stored in ClickHouse.

Passwords are kept as scrypt hashes; a session cookie and a token secret are kept only as SHA-256
hashes, so a copy of the database lets nobody in. A session or a token is worth only what its analyst
is worth now: an analyst who is unknown, disabled or deleted gets no identity, whatever they hold.
Roles are per site (`view` or `admin`); `site = '*'` covers every site, and `admin` on '*' also
manages accounts. Lookups are cached for a short while (a change made on another collector process
is seen within CACHE_SECONDS; on this process at once). Methods block: handlers call them through
`storage.run`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Mapping

from dashboards.errors import BadQuery, Conflict, NotFound, TooManyAttempts
from ingest_schema.storage import Storage

SCRYPT_N, SCRYPT_R, SCRYPT_P, SCRYPT_MAXMEM = 2**15, 8, 1, 64 * 1024 * 1024
SESSION_HOURS = 12
CACHE_SECONDS = 30
CACHE_ENTRIES = 10_000
MAX_FAILURES, LOCK_SECONDS = 5, 60
MIN_PASSWORD_CHARS = 12
TOKEN_PREFIX = "wat_"
ROLES = ("view", "admin")
ALL_SITES = "*"
_NAME = re.compile(r"^[A-Za-z0-9._@-]{1,64}$")
_TOKEN_ID = re.compile(r"^[0-9a-f]{12}$")


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise BadQuery("an analyst name is 1-64 letters, digits or . _ @ -")
    return name


def check_role(role: str) -> str:
    if role not in ROLES:
        raise BadQuery(f"role must be one of {', '.join(ROLES)}")
    return role


def token_id_of(value: str) -> str:
    """The public id of a token, given the whole token or the id alone; anything else is refused."""
    token_id = value.strip().removeprefix(TOKEN_PREFIX).split("_")[0]
    if not _TOKEN_ID.fullmatch(token_id):
        raise BadQuery("not a token or token id (wat_<12 hex>_… or the 12 hex digits)")
    return token_id


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
        computed = hashlib.scrypt(
            password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), maxmem=SCRYPT_MAXMEM
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(computed, base64.b64decode(digest))


def _check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_CHARS:
        raise BadQuery(f"a password has at least {MIN_PASSWORD_CHARS} characters")
    return password


def _sha256(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Identity:
    """Who a request is: an enabled analyst and their roles by site ('*': every site)."""

    analyst: str
    roles: Mapping[str, str] = field(default_factory=dict)

    def role(self, site: str) -> str | None:
        found = {self.roles.get(site), self.roles.get(ALL_SITES)}
        return "admin" if "admin" in found else "view" if "view" in found else None

    def can_view(self, site: str) -> bool:
        return self.role(site) is not None

    def can_admin(self, site: str) -> bool:
        return self.role(site) == "admin"

    @property
    def manages_accounts(self) -> bool:
        return self.roles.get(ALL_SITES) == "admin"


@dataclass(frozen=True)
class _Analyst:
    name: str
    password_hash: str
    disabled: bool
    created_at: datetime


@dataclass
class _Cached:
    identity: Identity | None
    checked: float


_ANALYST_COLUMNS = ("name", "password_hash", "disabled", "deleted", "created_at", "version")
_TOKEN_COLUMNS = ("token_id", "secret_hash", "analyst", "label", "created_at", "revoked", "version")


class Accounts:
    """Analysts, roles, sessions and tokens of one ClickHouse database."""

    def __init__(self, storage: Storage, secret_key: bytes) -> None:
        self.storage = storage
        self._csrf_key = hmac.new(secret_key, b"dashboard-csrf", hashlib.sha256).digest()
        self._sessions: dict[str, _Cached] = {}
        self._tokens: dict[str, _Cached] = {}
        self._failures: dict[str, tuple[int, float]] = {}

    # analysts -------------------------------------------------------------------------------------

    def analyst_count(self) -> int:
        rows = self.storage.query_rows(
            f"SELECT count() FROM (SELECT name FROM {self.storage.table('analysts')} "
            "GROUP BY name HAVING argMax(deleted, version) = 0)"
        )
        return int(rows[0][0]) if rows else 0

    def _analysts(self, name: str | None = None) -> list[_Analyst]:
        """Analysts that exist (not deleted), newest version of each; one name or all."""
        where = "WHERE name = {name:String}" if name is not None else ""
        rows = self.storage.query_rows(
            "SELECT name, argMax(password_hash, version), argMax(disabled, version), min(created_at) "
            f"FROM {self.storage.table('analysts')} {where} GROUP BY name HAVING argMax(deleted, version) = 0 "
            "ORDER BY name",
            {"name": name} if name is not None else None,
        )
        return [_Analyst(str(r[0]), str(r[1]), bool(r[2]), _aware(r[3])) for r in rows]

    def _existing(self, name: str) -> _Analyst:
        check_name(name)
        found = self._analysts(name)
        if not found:
            raise NotFound(f"no analyst named {name!r}")
        return found[0]

    def _write_analyst(self, name: str, password_hash: str, disabled: bool, deleted: bool = False) -> None:
        self.storage.insert(
            "analysts", _ANALYST_COLUMNS, [(name, password_hash, int(disabled), int(deleted), _now(), time.time_ns())]
        )
        self._forget()

    def create_analyst(self, name: str, password: str, roles: Mapping[str, str]) -> None:
        """A new analyst with roles by site; an existing name is refused (nothing is written then)."""
        check_name(name)
        _check_password(password)
        for role in roles.values():
            check_role(role)
        if self._analysts(name):
            raise Conflict(f"an analyst named {name!r} already exists")
        self.set_roles(name, roles, replace=True, check=False)
        self._write_analyst(name, hash_password(password), False)

    def set_password(self, name: str, password: str) -> None:
        _check_password(password)
        analyst = self._existing(name)
        self._write_analyst(name, hash_password(password), analyst.disabled)

    def save_analyst(self, name: str, password: str) -> None:
        """Create an analyst (admin of every site, as every analyst was before roles) or set a new password."""
        check_name(name)
        if self._analysts(name):
            self.set_password(name, password)
        else:
            self.create_analyst(name, password, {ALL_SITES: "admin"})

    def set_disabled(self, name: str, disabled: bool) -> None:
        """A disabled analyst can neither log in nor use a session or token until enabled again."""
        analyst = self._existing(name)
        self._write_analyst(name, analyst.password_hash, disabled)

    def delete_analyst(self, name: str) -> None:
        """Delete an analyst, their roles and tokens (the name may be created again later)."""
        self._existing(name)
        for token in self.list_tokens(name):
            self.revoke_token(str(token["token_id"]))
        self.set_roles(name, {}, replace=True, check=False)
        self._write_analyst(name, "", True, deleted=True)

    def list_analysts(self) -> list[dict[str, Any]]:
        roles = self._all_roles()
        return [
            {"name": a.name, "disabled": a.disabled, "created_at": a.created_at, "roles": roles.get(a.name, {})}
            for a in self._analysts()
        ]

    def _stored_hash(self, name: str) -> str | None:
        found = self._analysts(name)
        if not found or found[0].disabled:
            return None
        return found[0].password_hash

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

    # roles ----------------------------------------------------------------------------------------

    def _all_roles(self, name: str | None = None) -> dict[str, dict[str, str]]:
        where = "WHERE analyst = {name:String}" if name is not None else ""
        rows = self.storage.query_rows(
            f"SELECT analyst, site, argMax(role, version) FROM {self.storage.table('analyst_roles')} {where} "
            "GROUP BY analyst, site HAVING argMax(deleted, version) = 0 ORDER BY analyst, site",
            {"name": name} if name is not None else None,
        )
        out: dict[str, dict[str, str]] = {}
        for analyst, site, role in rows:
            out.setdefault(str(analyst), {})[str(site)] = str(role)
        return out

    def roles_of(self, name: str) -> dict[str, str]:
        return self._all_roles(name).get(name, {})

    def set_roles(self, name: str, roles: Mapping[str, str], replace: bool = False, check: bool = True) -> None:
        """Give `name` these roles by site; `replace` also removes the roles not listed. A role of '' removes."""
        if check:
            self._existing(name)
        for role in roles.values():
            if role:
                check_role(role)
        current = self.roles_of(name)
        version = time.time_ns()
        rows = [(name, site, role, int(not role), version) for site, role in roles.items()]
        if replace:
            rows += [(name, site, "", 1, version) for site in current if site not in roles]
        if rows:
            self.storage.insert("analyst_roles", ("analyst", "site", "role", "deleted", "version"), rows)
        self._forget()

    # sessions -------------------------------------------------------------------------------------

    def start_session(self, analyst: str) -> str:
        """A new session; returns the cookie value (only its hash is stored)."""
        value = secrets.token_urlsafe(32)
        now = _now()
        self.storage.insert(
            "dashboard_sessions",
            ("id_hash", "analyst", "created_at", "expires_at", "revoked", "version"),
            [(_sha256(value), analyst, now, now + timedelta(hours=SESSION_HOURS), 0, time.time_ns())],
        )
        return value

    def end_session(self, value: str) -> None:
        now = _now()
        self.storage.insert(
            "dashboard_sessions",
            ("id_hash", "analyst", "created_at", "expires_at", "revoked", "version"),
            [(_sha256(value), "", now, now, 1, time.time_ns())],
        )
        self._sessions.pop(_sha256(value), None)

    def session_identity(self, value: str) -> Identity | None:
        key = _sha256(value)
        cached = self._cached(self._sessions, key)
        if cached is not None:
            return cached.identity
        rows = self.storage.query_rows(
            f"SELECT argMax(analyst, version), argMax(expires_at, version), argMax(revoked, version) "
            f"FROM {self.storage.table('dashboard_sessions')} WHERE id_hash = {{h:String}} GROUP BY id_hash",
            {"h": key},
        )
        identity = None
        if rows and not rows[0][2] and _aware(rows[0][1]) > _now():
            identity = self.identity_of(str(rows[0][0]))
        self._remember(self._sessions, key, identity)
        return identity

    def session_analyst(self, value: str) -> str | None:
        identity = self.session_identity(value)
        return identity.analyst if identity else None

    def csrf_token(self, session_value: str) -> str:
        """The CSRF token of a session: an HMAC of its cookie, so nothing more is stored."""
        return hmac.new(self._csrf_key, session_value.encode(), hashlib.sha256).hexdigest()

    def identity_of(self, name: str) -> Identity | None:
        """The identity of an existing, enabled analyst; None for anyone else."""
        found = self._analysts(name) if _NAME.fullmatch(name) else []
        if not found or found[0].disabled:
            return None
        return Identity(name, self.roles_of(name))

    # tokens ---------------------------------------------------------------------------------------

    def create_token(self, analyst: str, label: str = "") -> str:
        """A bearer token `wat_<id>_<secret>` for an existing, enabled analyst; shown once, only the
        secret's hash is kept. The token acts as that analyst, with their roles at the time of use."""
        if self._existing(analyst).disabled:
            raise BadQuery(f"analyst {analyst!r} is disabled")
        token_id, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        row = (token_id, _sha256(secret), analyst, label[:100], _now(), 0, time.time_ns())
        self.storage.insert("api_tokens", _TOKEN_COLUMNS, [row])
        return f"{TOKEN_PREFIX}{token_id}_{secret}"

    def _token_rows(self, where: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
        return self.storage.query_rows(
            "SELECT token_id, argMax(secret_hash, version), argMax(analyst, version), argMax(label, version), "
            "min(created_at), argMax(revoked, version) "
            f"FROM {self.storage.table('api_tokens')} {where} GROUP BY token_id ORDER BY min(created_at), token_id",
            params,
        )

    def list_tokens(self, analyst: str | None = None) -> list[dict[str, Any]]:
        """Tokens not revoked (never their secret), oldest first; of one analyst or of all."""
        where, params = ("WHERE analyst = {a:String}", {"a": analyst}) if analyst else ("", {})
        existing = {a.name for a in self._analysts()}
        return [
            {"token_id": str(r[0]), "analyst": str(r[2]), "label": str(r[3]), "created_at": _aware(r[4])}
            for r in self._token_rows(where, params)
            if not r[5] and str(r[2]) in existing
        ]

    def token_owner(self, token_id: str) -> str:
        """The analyst a token (not revoked) belongs to; NotFound for an unknown or revoked id."""
        rows = self._token_rows("WHERE token_id = {t:String}", {"t": token_id_of(token_id)})
        if not rows or rows[0][5]:
            raise NotFound(f"no active token with id {token_id_of(token_id)}")
        return str(rows[0][2])

    def revoke_token(self, token: str) -> str:
        """Revoke a token given whole or by id; an unknown id is refused. Returns the id."""
        token_id = token_id_of(token)
        rows = self._token_rows("WHERE token_id = {t:String}", {"t": token_id})
        if not rows:
            raise NotFound(f"no token with id {token_id}")
        _, secret_hash, analyst, label, created_at, _revoked = rows[0]
        self.storage.insert(
            "api_tokens", _TOKEN_COLUMNS, [(token_id, secret_hash, analyst, label, created_at, 1, time.time_ns())]
        )
        self._tokens = {k: v for k, v in self._tokens.items() if not k.startswith(token_id + ":")}
        return token_id

    def token_identity(self, token: str) -> Identity | None:
        if not token.startswith(TOKEN_PREFIX) or token.count("_") < 2:
            return None
        token_id, _, secret = token[len(TOKEN_PREFIX) :].partition("_")
        key = f"{token_id}:{_sha256(secret)}"
        cached = self._cached(self._tokens, key)
        if cached is not None:
            return cached.identity
        rows = self._token_rows("WHERE token_id = {t:String}", {"t": token_id})
        identity = None
        if rows and not rows[0][5] and hmac.compare_digest(str(rows[0][1]), _sha256(secret)):
            identity = self.identity_of(str(rows[0][2]))
        self._remember(self._tokens, key, identity)
        return identity

    def token_analyst(self, token: str) -> str | None:
        identity = self.token_identity(token)
        return identity.analyst if identity else None

    # cache ----------------------------------------------------------------------------------------

    def _forget(self) -> None:
        """An account or role changed: every cached identity of this process is looked up again."""
        self._sessions.clear()
        self._tokens.clear()

    @staticmethod
    def _cached(cache: dict[str, _Cached], key: str) -> _Cached | None:
        entry = cache.get(key)
        if entry is not None and time.monotonic() - entry.checked < CACHE_SECONDS:
            return entry
        return None

    @staticmethod
    def _remember(cache: dict[str, _Cached], key: str, identity: Identity | None) -> None:
        if len(cache) >= CACHE_ENTRIES:
            cache.pop(next(iter(cache)))
        cache[key] = _Cached(identity, time.monotonic())


def parse_roles(sites: Iterable[str], role: str, known_sites: Iterable[str]) -> dict[str, str]:
    """Roles from a list of site ids ('*' or none: every site) and one role; unknown sites are refused."""
    check_role(role)
    wanted = [s.strip() for s in sites if s.strip()] or [ALL_SITES]
    known = set(known_sites)
    for site in wanted:
        if site != ALL_SITES and site not in known:
            raise NotFound(f"unknown site {site!r}")
    return {site: role for site in wanted}


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


#: Checked when the name is unknown, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = hash_password(secrets.token_hex(16))


def generated_password() -> str:
    return secrets.token_urlsafe(15)
