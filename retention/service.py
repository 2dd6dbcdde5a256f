"""One entry point for every retention request, used by the CLI and the collector's admin endpoint.

A request is a small dict (`action`, `kind`, `visitor`, `sites`, `dry_run`); the answer is the
JSON report. Every request is written to the audit table (counts only).
"""

from __future__ import annotations

from typing import Any

from ingest_schema.hashing import Hasher
from ingest_schema.storage import Storage
from retention import jobs

ACTIONS = ("run", "verify", "export", "erase")


def validate(request: Any, known_sites: list[str]) -> dict[str, Any]:
    """Check a request's shape; raises ValueError with a short reason."""
    if not isinstance(request, dict) or request.get("action") not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    sites = request.get("sites") or known_sites
    if not isinstance(sites, list) or not all(isinstance(s, str) and s in known_sites for s in sites):
        raise ValueError("sites must be a list of configured site ids")
    clean = {"action": request["action"], "sites": sites, "dry_run": bool(request.get("dry_run", False))}
    if request["action"] in ("export", "erase"):
        visitor, kind = request.get("visitor"), request.get("kind", "clarity")
        if not isinstance(visitor, str) or not 0 < len(visitor) <= 512:
            raise ValueError("visitor must be a non-empty string")
        if kind not in jobs.KINDS:
            raise ValueError(f"kind must be one of {', '.join(jobs.KINDS)}")
        clean.update(visitor=visitor, kind=kind)
    return clean


def execute(
    storage: Storage, hasher: Hasher, request: dict[str, Any], progress: jobs.Progress = jobs._no_progress
) -> dict[str, Any]:
    """Carry out a validated request and audit it."""
    action = request["action"]
    if action == "verify":
        report = {"action": "verify", **jobs.verify(storage, progress)}
    elif action == "run":
        report = jobs.run(storage, request["dry_run"], progress)
    elif action == "export":
        report = jobs.export_visitor(storage, hasher, request["sites"], request["kind"], request["visitor"], progress)
    else:
        report = jobs.erase_visitor(
            storage, hasher, request["sites"], request["kind"], request["visitor"], request["dry_run"], progress
        )
    report["request_id"] = jobs.audit(storage, report, ",".join(request["sites"]), request.get("kind", ""))
    return report
