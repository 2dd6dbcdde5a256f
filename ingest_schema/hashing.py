"""Keyed hashes for visitors, sessions and page views: ids are never stored in clear.

A BLAKE2b keyed hash with the collector's secret key: the same client id always maps to the
same 64-bit number (so GDPR requests can find it), and nobody without the key can reverse it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


class Hasher:
    def __init__(self, key: bytes) -> None:
        self._key = key if len(key) <= 64 else hashlib.blake2b(key).digest()

    def h64(self, *parts: str) -> int:
        digest = hashlib.blake2b("\x1f".join(parts).encode(), key=self._key, digest_size=8).digest()
        return int.from_bytes(digest, "big")

    def hex(self, *parts: str) -> str:
        """A longer keyed hash as text (for user ids a site passes through `identify`)."""
        return hashlib.blake2b("\x1f".join(parts).encode(), key=self._key, digest_size=16).hexdigest()

    def user(self, site: str, user_id_sha256: str) -> str:
        """The site's own user id (Clarity `identify`, Matomo `uid`), given as its SHA-256 hex as
        clarity-js sends it, as a keyed hash: the same person gets the same hash on both paths."""
        return self.hex("user", site, user_id_sha256.lower())

    def visitor(self, site: str, user_id: str) -> int:
        return self.h64("visitor", site, user_id)

    def keys(self, site: str, user_id: str, session_id: str, page_num: int) -> "PageViewKeys":
        return PageViewKeys(
            visitor_hash=self.visitor(site, user_id),
            session_hash=self.h64("session", site, user_id, session_id),
            pageview_id=self.h64("pageview", site, user_id, session_id, str(page_num)),
            page_num=page_num,
        )


def matomo_visitor_hash(hasher: Hasher, site_id: str, visitor_id: str) -> int:
    """The stored hash of a Matomo visitor id (the 16-hex `_pk_id` cookie id, `_id` or `cid`).

    Ingest and the retention job both call this one function, so a GDPR request finds what ingest stored.
    """
    return hasher.visitor(site_id, "matomo:" + visitor_id.lower()[:16])


def user_id_hash(hasher: Hasher, site_id: str, user_id: str) -> str:
    """The stored hash of a site's own user id given in clear (Matomo `uid`, a GDPR request's id):
    its SHA-256 hex, as clarity-js sends `identify` ids, then the keyed `Hasher.user` hash."""
    return hasher.user(site_id, hashlib.sha256(user_id.encode()).hexdigest())


@dataclass(frozen=True)
class PageViewKeys:
    visitor_hash: int
    session_hash: int
    pageview_id: int
    page_num: int
