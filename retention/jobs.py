"""What the retention job does, against any `Storage` (chdb folder or ClickHouse server).

The CLI calls these functions directly on a stopped collector's folder or a server; a running
collector calls the very same functions from its admin endpoint. Reports are plain dicts that
serialise to JSON and hold counts, never visitor identifiers.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from ingest_schema.hashing import Hasher, matomo_visitor_hash, user_id_hash
from ingest_schema.storage import Storage
from ingest_schema.tables import TABLES, VISITOR_TABLES
from retention.policy import RULES, STALE_CONSENT_SQL

Progress = Callable[[Iterable[Any]], Iterable[Any]]
KINDS = ("clarity", "matomo", "user")
SYNC = {"mutations_sync": 2}
SALTS_TABLE = "daily_salts"


def _no_progress(items: Iterable[Any]) -> Iterable[Any]:
    return items


def _exists(storage: Storage, table: str) -> bool:
    rows = storage.query_rows(
        "SELECT count() FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        {"db": storage.database, "t": table},
    )
    return bool(rows[0][0])


def _count(storage: Storage, table: str, where: str) -> int:
    return int(storage.query_rows(f"SELECT count() FROM {storage.table(table)} WHERE {where}")[0][0])


def _ttl_declared(storage: Storage, table: str) -> bool:
    ddl = storage.query_rows(
        "SELECT create_table_query FROM system.tables WHERE database = {db:String} AND name = {t:String}",
        {"db": storage.database, "t": table},
    )
    return bool(ddl) and " TTL " in str(ddl[0][0])


def verify(storage: Storage, progress: Progress = _no_progress) -> dict[str, Any]:
    """Count everything older than policy; `ok` is false when anything is, or a TTL is missing."""
    tables: dict[str, Any] = {}
    for rule in progress(RULES):
        tables[rule.table] = {
            "policy": rule.description,
            "older_than_policy": _count(storage, rule.table, rule.expired),
            "ttl_declared": _ttl_declared(storage, rule.table),
        }
    stale = int(
        storage.query_rows(
            STALE_CONSENT_SQL.format(pageviews=storage.table("pageviews"), ledger=storage.table("consent_ledger"))
        )[0][0]
    )
    salts: Any = "no daily salt table"
    if _exists(storage, SALTS_TABLE):
        salts = _count(storage, SALTS_TABLE, "day < today() - 1")
    ok = (
        all(t["older_than_policy"] == 0 and t["ttl_declared"] for t in tables.values())
        and stale == 0
        and not (isinstance(salts, int) and salts > 0)
    )
    return {"ok": ok, "tables": tables, "stale_cookie_consent_visitors": stale, "salts_older_than_yesterday": salts}


def sync_kept_recordings(storage: Storage, dry_run: bool) -> dict[str, int]:
    """playback.keep must follow the recordings table: marked → 13 months, unmarked → 30 days."""
    kept = storage.query_rows(
        f"SELECT site, session_hash FROM {storage.table('recordings')} FINAL WHERE favourite = 1 OR notEmpty(labels)"
    )
    literal = "[" + ",".join(f"('{str(site).replace(chr(39), '')}', {int(h)})" for site, h in kept) + "]"
    member = f"has({literal}, (site, session_hash))" if kept else "0"
    to_keep = _count(storage, "playback", f"keep = 0 AND {member}")
    to_release = _count(storage, "playback", f"keep = 1 AND NOT {member}")
    if not dry_run:
        playback = storage.table("playback")
        if to_keep:
            storage.command(f"ALTER TABLE {playback} UPDATE keep = 1 WHERE keep = 0 AND {member}", settings=SYNC)
        if to_release:
            storage.command(f"ALTER TABLE {playback} UPDATE keep = 0 WHERE keep = 1 AND NOT {member}", settings=SYNC)
    return {"marked_kept": to_keep, "released": to_release}


def run(storage: Storage, dry_run: bool = False, progress: Progress = _no_progress) -> dict[str, Any]:
    """Apply the policy: follow recording marks, restore missing TTLs, make ClickHouse apply them,
    delete what TTL cannot express or left behind, then verify."""
    started = datetime.now(timezone.utc)
    report: dict[str, Any] = {"action": "run", "dry_run": dry_run, "kept_recordings": {}, "tables": {}}
    report["kept_recordings"] = sync_kept_recordings(storage, dry_run)
    for rule in progress(RULES):
        table = storage.table(rule.table)
        entry: dict[str, Any] = {"ttl_restored": False}
        if not _ttl_declared(storage, rule.table):
            entry["ttl_restored"] = True
            if not dry_run:
                storage.command(f"ALTER TABLE {table} MODIFY TTL {rule.ttl}", settings=SYNC)
        before = _count(storage, rule.table, rule.expired)
        if not dry_run:
            storage.command(f"ALTER TABLE {table} MATERIALIZE TTL", settings=SYNC)
            left = _count(storage, rule.table, rule.expired)
            if left:
                storage.command(f"DELETE FROM {table} WHERE {rule.expired}", settings=SYNC)
        entry["older_than_policy_before"] = before
        report["tables"][rule.table] = entry
    if _exists(storage, SALTS_TABLE):
        old_salts = _count(storage, SALTS_TABLE, "day < today() - 1")
        if old_salts and not dry_run:
            storage.command(f"DELETE FROM {storage.table(SALTS_TABLE)} WHERE day < today() - 1", settings=SYNC)
        report["salts_destroyed"] = old_salts
    report["verify"] = verify(storage)
    report["ok"] = dry_run or report["verify"]["ok"]
    report["seconds"] = round((datetime.now(timezone.utc) - started).total_seconds(), 3)
    return report


@dataclass(frozen=True)
class Link:
    """The rows of one person on one site: the visitor hashes their id maps to, the user hash (kind
    `user`), and every session (a Clarity session, a Matomo visit) in which a row carries one of them.

    A row belongs to the person when it carries one of the hashes or one of the sessions: Matomo stores
    the hits queued before consent under the daily cookieless hash, and only the visit links them.
    """

    site: str
    hashes: tuple[int, ...]
    user_hash: str
    sessions: tuple[int, ...]

    def where(self, table: str) -> str:
        """SQL condition (with the `params()` placeholders) for this person's rows in `table`."""
        columns = TABLES[table].column_names
        terms = []
        if "visitor_hash" in columns:
            terms.append("visitor_hash IN {hashes:Array(UInt64)}")
        if "session_hash" in columns:
            terms.append("session_hash IN {sessions:Array(UInt64)}")
        if self.user_hash and "user_hash" in columns:
            terms.append("user_hash = {user:String}")
        return f"site = {{site:String}} AND ({' OR '.join(terms) or '0'})"

    def params(self) -> dict[str, Any]:
        return {"site": self.site, "hashes": list(self.hashes), "sessions": list(self.sessions), "user": self.user_hash}


def linked_tables() -> tuple[str, ...]:
    """Every table holding rows of a visitor or a session (from the schema source, so new tables are covered)."""
    keys = {"visitor_hash", "session_hash"}
    return tuple(t for t in TABLES if t in VISITOR_TABLES or keys & set(TABLES[t].column_names))


def visitor_tables() -> tuple[str, ...]:
    """Every table keyed by visitor (kept for callers that scan by visitor hash)."""
    return tuple(t for t in TABLES if t in VISITOR_TABLES or "visitor_hash" in TABLES[t].column_names)


def _id_hashes(storage: Storage, hasher: Hasher, site: str, kind: str, visitor: str) -> tuple[list[int], str]:
    """(visitor hashes, user hash) of the id, hashed with the very functions ingest uses."""
    if kind == "clarity":
        return [hasher.visitor(site, visitor)], ""
    if kind == "matomo":
        return [matomo_visitor_hash(hasher, site, visitor)], ""
    if kind == "user":
        user_hash = user_id_hash(hasher, site, visitor)
        # a Clarity visitor id is the person's own cookie: all its page views are theirs. Matomo rows may
        # carry a daily cookieless hash shared by everyone behind one IP and browser, so there only the
        # visits carrying the user id are linked (through their sessions, below).
        rows = storage.query_rows(
            f"SELECT DISTINCT visitor_hash FROM {storage.table('pageviews')} "
            "WHERE site = {site:String} AND user_hash = {user:String} AND source NOT IN ('matomo', 'matomo-import')",
            {"site": site, "user": user_hash},
        )
        return [int(r[0]) for r in rows], user_hash
    raise ValueError(f"kind must be one of {KINDS}")


def link(storage: Storage, hasher: Hasher, site: str, kind: str, visitor: str) -> Link:
    """Find the person's sessions: every session in which some row carries one of their hashes."""
    hashes, user_hash = _id_hashes(storage, hasher, site, kind, visitor)
    seed = Link(site, tuple(h for h in hashes if h), user_hash, ())
    selects = [
        f"SELECT session_hash FROM {storage.table(t)} WHERE {seed.where(t)} AND session_hash != 0"
        for t in linked_tables()
        if "session_hash" in TABLES[t].column_names and _exists(storage, t)
    ]
    rows = storage.query_rows(" UNION DISTINCT ".join(selects), seed.params()) if selects else []
    return Link(site, seed.hashes, user_hash, tuple(sorted({int(r[0]) for r in rows})))


def _linked_count(storage: Storage, table: str, person: Link) -> int:
    rows = storage.query_rows(
        f"SELECT count() FROM {storage.table(table)} WHERE {person.where(table)}", person.params()
    )
    return int(rows[0][0])


def export_visitor(
    storage: Storage, hasher: Hasher, sites: list[str], kind: str, visitor: str, progress: Progress = _no_progress
) -> dict[str, Any]:
    """Every stored row about one person, per table (the answer to an access request)."""
    tables: dict[str, list[dict[str, Any]]] = {t: [] for t in linked_tables()}
    sessions = 0
    for site in sites:
        person = link(storage, hasher, site, kind, visitor)
        sessions += len(person.sessions)
        for table in progress(linked_tables()):
            result = storage.client.query(
                f"SELECT * FROM {storage.table(table)} WHERE {person.where(table)}", parameters=person.params()
            )
            tables[table].extend(dict(zip(result.column_names, row, strict=True)) for row in result.result_rows)
    return {
        "action": "export",
        "kind": kind,
        "sessions": sessions,
        "rows": {t: len(r) for t, r in tables.items()},
        "tables": tables,
    }


def erase_visitor(
    storage: Storage,
    hasher: Hasher,
    sites: list[str],
    kind: str,
    visitor: str,
    dry_run: bool = False,
    progress: Progress = _no_progress,
) -> dict[str, Any]:
    """Delete every row about one person from every table, then count again by the same link (0 expected).

    The link (hashes and sessions) is found once, before deleting: counting afterwards by a fresh link
    would find nothing and prove nothing.
    """
    erased = {t: 0 for t in linked_tables()}
    remaining = dict(erased)
    sessions = 0
    for site in sites:
        person = link(storage, hasher, site, kind, visitor)
        sessions += len(person.sessions)
        for table in progress(linked_tables()):
            erased[table] += _linked_count(storage, table, person)
            if dry_run:
                continue
            if erased[table]:
                storage.command(
                    f"DELETE FROM {storage.table(table)} WHERE {person.where(table)}",
                    parameters=person.params(),
                    settings=SYNC,
                )
            remaining[table] += _linked_count(storage, table, person)
    return {
        "action": "erase",
        "kind": kind,
        "dry_run": dry_run,
        "sessions": sessions,
        "erased": erased,
        "remaining": remaining,
        "ok": not any(remaining.values()),
    }


def audit(storage: Storage, report: dict[str, Any], site: str = "", kind: str = "") -> str:
    """One audit row per table touched, with counts only; returns the request id."""
    request_id = str(report.setdefault("request_id", uuid.uuid4().hex))
    now = datetime.now(timezone.utc)
    action = str(report.get("action", ""))
    counts: dict[str, int] = (
        report.get("erased")
        or report.get("rows")
        or {t: v.get("older_than_policy_before", v.get("older_than_policy", 0)) for t, v in report["tables"].items()}
    )
    status = "ok" if report.get("ok", True) else "failed"
    rows = [
        [now, request_id, action, site, kind, table, int(count), int(bool(report.get("dry_run"))), status, ""]
        for table, count in sorted(counts.items())
    ] or [[now, request_id, action, site, kind, "", 0, int(bool(report.get("dry_run"))), status, ""]]
    storage.insert("retention_audit", TABLES["retention_audit"].column_names, rows)
    return request_id
