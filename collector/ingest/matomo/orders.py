"""One stored e-commerce order per site and `ec_id`, as Matomo (log_conversion's unique (idsite, idorder)).

A reloaded order page re-sends the order; Matomo refuses it ("Invalid non-unique idsite/idorder
combination", HTTP 400) and so do we, across processes and restarts: an order is claimed in the
`matomo_orders` table (a keyed hash of the order id, never the id) before it is stored, and the
earliest claim wins, with `claimed_at` set by the ClickHouse server on insert. Two processes that
claim at once both read both claims and agree on the winner; a claim that reads back before a
rival's insert sees only itself and wins, and the rival's later claim sorts after it.

In front sits a bounded in-memory set of orders known to be taken, and in one process concurrent
claims of the same order share one look-up.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import OrderedDict

from ingest_schema import TABLES
from ingest_schema.hashing import Hasher
from ingest_schema.storage import Storage

CACHE_SIZE = 100_000
CLAIM_COLUMNS = ("site", "order_hash", "claim")  # claimed_at: the server's now64(6)
assert set(CLAIM_COLUMNS) < set(TABLES["matomo_orders"].column_names)


class OrderClaims:
    def __init__(self, storage: Storage, hasher: Hasher, cache_size: int = CACHE_SIZE) -> None:
        self._storage = storage
        self._hasher = hasher
        self._taken: OrderedDict[tuple[str, int], None] = OrderedDict()
        self._cache_size = cache_size
        self._locks: dict[tuple[str, int], asyncio.Lock] = {}

    def order_hash(self, site: str, order_id: str) -> int:
        return self._hasher.h64("matomo-order", site, order_id)

    async def claim(self, site: str, order_id: str) -> bool:
        """True when this hit may store the order (the first for the site and id), else False."""
        key = (site, self.order_hash(site, order_id))
        if key in self._taken:
            return False
        lock = self._locks.setdefault(key, asyncio.Lock())
        try:
            async with lock:
                if key in self._taken:
                    return False
                won = await self._storage.run(self._claim, key[0], key[1])
                self._remember(key)
                return won
        finally:
            if not lock.locked():
                self._locks.pop(key, None)

    def _remember(self, key: tuple[str, int]) -> None:
        self._taken[key] = None
        self._taken.move_to_end(key)
        while len(self._taken) > self._cache_size:
            self._taken.popitem(last=False)

    def _claim(self, site: str, order_hash: int) -> bool:
        """Look up, else insert a claim and read back the earliest one (blocking: run in the storage pool)."""
        if self._earliest(site, order_hash) is not None:
            return False
        mine = secrets.token_hex(16)
        self._storage.insert("matomo_orders", CLAIM_COLUMNS, [(site, order_hash, mine)])
        return self._earliest(site, order_hash) == mine

    def _earliest(self, site: str, order_hash: int) -> str | None:
        rows = self._storage.query_rows(
            f"SELECT claim FROM {self._storage.table('matomo_orders')} "
            "WHERE site = {site:String} AND order_hash = {order:UInt64} ORDER BY claimed_at, claim LIMIT 1",
            {"site": site, "order": order_hash},
        )
        return str(rows[0][0]) if rows else None
