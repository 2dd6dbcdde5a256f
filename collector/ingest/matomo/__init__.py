"""Matomo drop-in: the tracking API (`/matomo.php`), visits, consent modes and a `_paq` tracker.

A site that runs Matomo today changes only its tracker URL; its hits land in the same `pageviews`
and `events` tables as Clarity data (source 'matomo'), plus one `visits` row per visit.
"""

from __future__ import annotations

from ingest_schema.hashing import Hasher

SOURCE = "matomo"


def matomo_visitor_hash(hasher: Hasher, site_id: str, visitor_id: str) -> int:
    """The stored hash of a Matomo visitor id (the 16-hex `_pk_id` cookie id, `_id` or `cid`).

    The retention job hashes a GDPR request's Matomo id with exactly this function.
    """
    return hasher.visitor(site_id, "matomo:" + visitor_id.lower()[:16])
