"""The published retention policy as rules over the tables, derived from `ingest_schema.tables`.

Each rule names a table, the rows that are older than policy (a SQL condition), and the TTL
clause that should enforce it. `verify` counts those rows; `run` makes ClickHouse apply its TTL
and deletes whatever the TTL left behind. Both use these same rules.
"""

from __future__ import annotations

from dataclasses import dataclass

from ingest_schema.codes import COOKIE_SOURCE, explicit_source_sql
from ingest_schema.tables import (
    ANALYTICS_MONTHS,
    CONSENT_VALID_DAYS,
    KEPT_PLAYBACK_MONTHS,
    PLAYBACK_DAYS,
    TABLES,
)


@dataclass(frozen=True)
class Rule:
    table: str
    description: str
    expired: str  # SQL condition: rows older than policy

    @property
    def ttl(self) -> str:
        return TABLES[self.table].ttl


RULES: tuple[Rule, ...] = (
    Rule(
        "playback",
        f"recordings {PLAYBACK_DAYS} days, kept (favourited or labelled) ones {KEPT_PLAYBACK_MONTHS} months",
        f"(keep = 0 AND ts < now64(3) - INTERVAL {PLAYBACK_DAYS} DAY) "
        f"OR ts < now64(3) - INTERVAL {KEPT_PLAYBACK_MONTHS} MONTH",
    ),
    Rule(
        "events",
        f"analytics, click and heatmap events {ANALYTICS_MONTHS} months",
        f"day < today() - INTERVAL {ANALYTICS_MONTHS} MONTH",
    ),
    Rule(
        "pageviews",
        f"page views and visits {ANALYTICS_MONTHS} months",
        f"day < today() - INTERVAL {ANALYTICS_MONTHS} MONTH",
    ),
    Rule("visits", f"visits (Matomo) {ANALYTICS_MONTHS} months", f"day < today() - INTERVAL {ANALYTICS_MONTHS} MONTH"),
    Rule(
        "visit_stats",
        f"visit pre-aggregation of the dashboards {ANALYTICS_MONTHS} months",
        f"day < today() - INTERVAL {ANALYTICS_MONTHS} MONTH",
    ),
    Rule(
        "consent_ledger",
        f"consent proofs expire with the data they justify ({ANALYTICS_MONTHS} months)",
        f"ts < now64(3) - INTERVAL {ANALYTICS_MONTHS} MONTH",
    ),
    Rule(
        "recordings",
        f"favourites and labels {KEPT_PLAYBACK_MONTHS} months",
        f"updated_at < now64(3) - INTERVAL {KEPT_PLAYBACK_MONTHS} MONTH",
    ),
)

#: Page views stored on a remembered (cookie, source 6) consent whose explicit grant is missing or
#: older than the consent validity: the ingest side refuses these, the job reports any that slipped.
STALE_CONSENT_SQL = f"""
SELECT count() FROM (
    SELECT site, visitor_hash, min(started_at) AS first_seen
    FROM {{pageviews}} WHERE consent_source = {COOKIE_SOURCE} GROUP BY site, visitor_hash
) AS stored
LEFT JOIN (
    SELECT site, visitor_hash, max(ts) AS granted
    FROM {{ledger}} WHERE decision = 'grant' AND {explicit_source_sql()}
    GROUP BY site, visitor_hash
) AS grants USING (site, visitor_hash)
WHERE grants.granted < stored.first_seen - INTERVAL {CONSENT_VALID_DAYS} DAY
"""
