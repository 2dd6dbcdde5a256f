"""Every table the collector writes, described once as data.

Retention lives here as TTL clauses: playback 30 days unless the recording is kept
(favourited or labelled: 13 months); heatmap, click, analytics and consent data 13 months.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Published retention policy, in one place (README "Retention" quotes these).
PLAYBACK_DAYS = 30
KEPT_PLAYBACK_MONTHS = 13
ANALYTICS_MONTHS = 13
CONSENT_VALID_DAYS = 183


#: Inserts from the write-ahead spool carry a stable token per batch; keeping the last tokens
#: makes ClickHouse drop a batch replayed after a crash instead of counting it twice.
DEDUPLICATION = "non_replicated_deduplication_window = 1000"
SPOOLED_TABLES = ("pageviews", "events", "playback", "consent_ledger", "visits")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    codec: str = ""
    default: str = ""
    #: an expression ClickHouse computes from the row's other columns when the row is written (never inserted)
    materialized: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    columns: tuple[Column, ...]
    engine: str
    order_by: str
    partition_by: str = ""
    ttl: str = ""
    settings: str = ""
    comment: str = ""

    @property
    def column_names(self) -> tuple[str, ...]:
        """The columns a row is written with (materialized ones are computed by ClickHouse, never inserted)."""
        return tuple(c.name for c in self.columns if not c.materialized)


def _c(name: str, type_: str, codec: str = "", default: str = "") -> Column:
    return Column(name, type_, codec, default)


_PAGEVIEW_KEY = (
    _c("site", "LowCardinality(String)"),
    _c("day", "Date"),
    _c("visitor_hash", "UInt64"),
    _c("session_hash", "UInt64"),
    _c("page_num", "UInt32"),
    _c("pageview_id", "UInt64"),
)

#: Added by migration 2: who the site says the user is (keyed hash of the SHA-256 of the site's own
#: user id, the same for Clarity `identify` and Matomo `uid`), and where the visit came from.
ATTRIBUTION_COLUMNS = (
    _c("user_hash", "SimpleAggregateFunction(max, String)"),
    _c("channel", "SimpleAggregateFunction(max, LowCardinality(String))"),
    _c("referrer_host", "SimpleAggregateFunction(max, String)"),
    _c("referrer_name", "SimpleAggregateFunction(max, String)"),
    _c("campaign_name", "SimpleAggregateFunction(max, String)"),
    _c("campaign_source", "SimpleAggregateFunction(max, String)"),
    _c("campaign_medium", "SimpleAggregateFunction(max, String)"),
    _c("campaign_keyword", "SimpleAggregateFunction(max, String)"),
    _c("campaign_content", "SimpleAggregateFunction(max, String)"),
)

PAGEVIEWS = Table(
    name="pageviews",
    comment="one row per consented page view (payloads merge by the key); feeds traffic panels",
    columns=_PAGEVIEW_KEY
    + (
        _c("source", "SimpleAggregateFunction(max, LowCardinality(String))"),
        _c("started_at", "SimpleAggregateFunction(min, DateTime64(3, 'UTC'))"),
        _c("last_at", "SimpleAggregateFunction(max, DateTime64(3, 'UTC'))"),
        _c("url", "SimpleAggregateFunction(max, String)", "ZSTD(3)"),
        _c("referrer", "SimpleAggregateFunction(max, String)", "ZSTD(3)"),
        _c("title", "SimpleAggregateFunction(max, String)", "ZSTD(3)"),
        _c("browser", "SimpleAggregateFunction(max, LowCardinality(String))"),
        _c("os", "SimpleAggregateFunction(max, LowCardinality(String))"),
        _c("device", "SimpleAggregateFunction(max, LowCardinality(String))"),
        _c("country", "SimpleAggregateFunction(max, LowCardinality(String))"),
        _c("screen_width", "SimpleAggregateFunction(max, UInt16)"),
        _c("screen_height", "SimpleAggregateFunction(max, UInt16)"),
        _c("doc_height", "SimpleAggregateFunction(max, UInt32)"),
        _c("scroll_bottom", "SimpleAggregateFunction(max, UInt32)"),
        _c("clicks", "SimpleAggregateFunction(sum, UInt64)"),
        _c("events", "SimpleAggregateFunction(sum, UInt64)"),
        _c("payloads", "SimpleAggregateFunction(sum, UInt64)"),
        _c("ended", "SimpleAggregateFunction(max, UInt8)"),
        _c("consent_source", "SimpleAggregateFunction(max, UInt16)"),
    )
    + ATTRIBUTION_COLUMNS,
    engine="AggregatingMergeTree",
    settings=DEDUPLICATION,
    partition_by="toYYYYMM(day)",
    order_by="(site, day, visitor_hash, session_hash, page_num, pageview_id)",
    ttl=f"day + INTERVAL {ANALYTICS_MONTHS} MONTH",
)

EVENTS = Table(
    name="events",
    comment="analytics events (clicks with page coordinates and target hash, scroll, input, custom, ...)",
    columns=_PAGEVIEW_KEY
    + (
        _c("ts", "DateTime64(3, 'UTC')", "Delta, ZSTD(1)"),
        _c("source", "LowCardinality(String)"),
        _c("type", "UInt16"),
        _c("name", "LowCardinality(String)"),
        _c("url", "String", "ZSTD(3)"),
        _c("x", "Int32"),
        _c("y", "Int32"),
        _c("target", "Int64"),
        _c("target_hash", "String", "ZSTD(1)"),
        _c("target_tag", "LowCardinality(String)"),
        _c("text", "String", "ZSTD(3)"),
        _c("link", "String", "ZSTD(3)"),
        _c("doc_width", "UInt32"),
        _c("doc_height", "UInt32"),
        _c("key", "String", "ZSTD(1)"),
        _c("value", "String", "ZSTD(3)"),
        _c("num", "Float64"),
        _c("data", "String", "ZSTD(3)"),
    ),
    engine="MergeTree",
    settings=DEDUPLICATION,
    partition_by="toYYYYMM(day)",
    order_by="(site, day, type, pageview_id, ts)",
    ttl=f"day + INTERVAL {ANALYTICS_MONTHS} MONTH",
)

#: Added by migration 12: what the insights and the recordings list need from each stored upload, computed by
#: ClickHouse from the payload when the row is written (MATERIALIZED columns, so the rows, their TTL, `keep` and
#: a GDPR erase are the playback rows' own). Reading these narrow columns replaces searching the payloads at
#: query time: whether the upload opens with clarity-js's DOM snapshot (Discover, 5: its page view can be
#: replayed), the page times of its DOM changes (Mutation, 6; the beacon's markers too), its clicks (page time,
#: target node, x, y) and the end of the page time it covers (envelope start + duration). The patterns are the
#: ones the dead-click rule and the recordings list searched the payloads with before, so the results are equal.
SNAPSHOT_PATTERN = r'"p":\[\[\d+,5,'
MUTATION_PATTERN = r"(?:\[|\],)\[(\d+),6,"
CLICK_PATTERN = r"\[(\d+),9,(-?\d+),(-?\d+),(-?\d+),"
ENVELOPE_TIME_PATTERN = r'^\{"e":\["[^"]*",\d+,(\d+),(\d+),'


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


PLAYBACK_FACTS = (
    Column("has_snapshot", "UInt8", materialized=f"match(payload, {_sql_string(SNAPSHOT_PATTERN)})"),
    Column(
        "mutation_times",
        "Array(Int64)",
        "Delta, ZSTD(1)",  # times ascend within an upload: a third of ZSTD(1) alone on the bench's payloads
        materialized=f"arrayMap(m -> toInt64(m), extractAll(payload, {_sql_string(MUTATION_PATTERN)}))",
    ),
    Column(
        "payload_clicks",
        "Array(Tuple(Int64, Int64, Int32, Int32))",
        "ZSTD(1)",
        materialized="arrayMap(c -> (toInt64(c[1]), toInt64(c[2]), toInt32(c[3]), toInt32(c[4])), "
        f"extractAllGroupsVertical(payload, {_sql_string(CLICK_PATTERN)}))",
    ),
    Column(
        "page_end",
        "Int64",
        materialized="arraySum(arrayMap(v -> toInt64(v), arrayFlatten(extractAllGroupsVertical(payload, "
        f"{_sql_string(ENVELOPE_TIME_PATTERN)}))))",
    ),
)

PLAYBACK = Table(
    name="playback",
    comment="masked Clarity payloads in upload order, for replay; 30 days unless the recording is kept",
    columns=_PAGEVIEW_KEY
    + (
        _c("ts", "DateTime64(3, 'UTC')", "Delta, ZSTD(1)"),
        _c("sequence", "UInt32"),
        _c("is_end", "UInt8"),
        _c("wire_bytes", "UInt32"),
        _c("payload", "String", "ZSTD(6)"),
        _c("keep", "UInt8", default="0"),
    )
    + PLAYBACK_FACTS,
    engine="MergeTree",
    settings=DEDUPLICATION,
    partition_by="toYYYYMM(day)",
    order_by="(site, session_hash, page_num, pageview_id, sequence)",
    ttl=(
        f"toDateTime(ts) + INTERVAL {PLAYBACK_DAYS} DAY DELETE WHERE keep = 0, "
        f"toDateTime(ts) + INTERVAL {KEPT_PLAYBACK_MONTHS} MONTH DELETE"
    ),
)

RECORDINGS = Table(
    name="recordings",
    comment="analyst marks on a recording (favourite, labels); a marked recording is kept 13 months",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("session_hash", "UInt64"),
        _c("favourite", "UInt8"),
        _c("labels", "Array(String)"),
        _c("updated_at", "DateTime64(3, 'UTC')"),
    ),
    engine="ReplacingMergeTree(updated_at)",
    order_by="(site, session_hash)",
    ttl=f"toDateTime(updated_at) + INTERVAL {KEPT_PLAYBACK_MONTHS} MONTH",
)

CONSENT_LEDGER = Table(
    name="consent_ledger",
    comment="proof of consent (GDPR Art. 7(1)): one row per decision, no IP, no user agent",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("ts", "DateTime64(3, 'UTC')"),
        _c("visitor_hash", "UInt64"),
        _c("session_hash", "UInt64"),
        _c("pageview_id", "UInt64"),
        _c("page_time", "UInt32"),
        _c("ingest_path", "LowCardinality(String)"),
        _c("decision", "LowCardinality(String)"),
        _c("consent_source", "UInt16"),
        _c("analytics", "UInt8"),
        _c("ad", "UInt8"),
        _c("categories_granted", "Array(LowCardinality(String))"),
        _c("categories_denied", "Array(LowCardinality(String))"),
        _c("policy_version", "LowCardinality(String)"),
    ),
    engine="MergeTree",
    settings=DEDUPLICATION,
    partition_by="toYYYYMM(ts)",
    order_by="(site, visitor_hash, ts)",
    ttl=f"toDateTime(ts) + INTERVAL {ANALYTICS_MONTHS} MONTH",
)

RETENTION_AUDIT = Table(
    name="retention_audit",
    comment="what the retention job and GDPR requests did: counts only, no visitor identifiers",
    columns=(
        _c("ts", "DateTime64(3, 'UTC')"),
        _c("request_id", "String"),
        _c("action", "LowCardinality(String)"),
        _c("site", "LowCardinality(String)"),
        _c("kind", "LowCardinality(String)"),
        _c("table_name", "LowCardinality(String)"),
        _c("rows", "UInt64"),
        _c("dry_run", "UInt8"),
        _c("status", "LowCardinality(String)"),
        _c("detail", "String"),
    ),
    engine="MergeTree",
    partition_by="toYYYYMM(ts)",
    order_by="(ts, action)",
    ttl="toDateTime(ts) + INTERVAL 3 YEAR",
)

#: Added by migration 3: one row per Matomo visit (replaced as the visit grows), and the daily salts
#: of cookieless visitor hashes.
VISITS = Table(
    name="visits",
    comment="Matomo visits: entry/exit, bounce, duration, attribution; the latest state of each visit wins",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("day", "Date"),
        _c("session_hash", "UInt64"),
        _c("visitor_hash", "UInt64"),
        _c("user_hash", "String"),
        _c("source", "LowCardinality(String)"),
        _c("started_at", "DateTime64(3, 'UTC')"),
        _c("last_at", "DateTime64(3, 'UTC')"),
        _c("duration_s", "UInt32"),
        _c("pageviews", "UInt32"),
        _c("actions", "UInt32"),
        _c("bounce", "UInt8"),
        _c("entry_url", "String", "ZSTD(3)"),
        _c("entry_title", "String", "ZSTD(3)"),
        _c("exit_url", "String", "ZSTD(3)"),
        _c("exit_title", "String", "ZSTD(3)"),
        _c("goals", "UInt32"),
        _c("revenue", "Float64"),
        _c("cookieless", "UInt8"),
        _c("consent_source", "UInt16"),
        _c("browser", "LowCardinality(String)"),
        _c("os", "LowCardinality(String)"),
        _c("device", "LowCardinality(String)"),
        _c("country", "LowCardinality(String)"),
        _c("channel", "LowCardinality(String)"),
        _c("referrer_host", "String"),
        _c("referrer_name", "String"),
        _c("campaign_name", "String"),
        _c("campaign_source", "String"),
        _c("campaign_medium", "String"),
        _c("campaign_keyword", "String"),
        _c("campaign_content", "String"),
        _c("dimensions", "Map(String, String)"),
        _c("version", "UInt64"),
    ),
    engine="ReplacingMergeTree(version)",
    settings=DEDUPLICATION,
    partition_by="toYYYYMM(day)",
    order_by="(site, day, session_hash)",
    ttl=f"day + INTERVAL {ANALYTICS_MONTHS} MONTH",
)

#: A daily salt must be gone once its day is over everywhere on Earth (UTC-12 ends 36 h after the
#: UTC midnight that starts the day), plus a small grace for requests in flight.
SALT_HOURS = 38

DAILY_SALTS = Table(
    name="daily_salts",
    comment="random salt of cookieless visitor hashes, one per site and day, deleted after its day",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("day", "Date"),
        _c("salt", "String"),
        _c("created_at", "DateTime64(3, 'UTC')"),
    ),
    engine="MergeTree",
    order_by="(site, day, created_at)",
    ttl=f"toDateTime(day, 'UTC') + INTERVAL {SALT_HOURS} HOUR",
)

#: Added by migration 5 (dashboards): analyst accounts, their browser sessions and API tokens. Rows are
#: versioned and read with argMax(…, version), which also holds on a sharded cluster. `deleted` came with the
#: accounts migration (issue 15).
ANALYST_DELETED = _c("deleted", "UInt8", default="0")
ANALYSTS = Table(
    name="analysts",
    comment="dashboard accounts: scrypt password hashes, never a password",
    columns=(
        _c("name", "String"),
        _c("password_hash", "String"),
        _c("disabled", "UInt8"),
        _c("created_at", "DateTime64(3, 'UTC')"),
        _c("version", "UInt64"),
        ANALYST_DELETED,
    ),
    engine="ReplacingMergeTree(version)",
    order_by="name",
)

DASHBOARD_SESSIONS = Table(
    name="dashboard_sessions",
    comment="analyst log-in sessions: the SHA-256 of the cookie value, never the value; gone after expiry",
    columns=(
        _c("id_hash", "String"),
        _c("analyst", "String"),
        _c("created_at", "DateTime64(3, 'UTC')"),
        _c("expires_at", "DateTime64(3, 'UTC')"),
        _c("revoked", "UInt8"),
        _c("version", "UInt64"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by="id_hash",
    ttl="toDateTime(expires_at) + INTERVAL 1 DAY",
)

API_TOKENS = Table(
    name="api_tokens",
    comment="bearer tokens for scripts: a public id and the SHA-256 of the secret part",
    columns=(
        _c("token_id", "String"),
        _c("secret_hash", "String"),
        _c("analyst", "String"),
        _c("label", "String"),
        _c("created_at", "DateTime64(3, 'UTC')"),
        _c("revoked", "UInt8"),
        _c("version", "UInt64"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by="token_id",
)

#: Visit attributes taken from the visit's first payload row: each is stored as min((started_at, value)),
#: so the earliest value wins whatever order rows arrive in (the raw-table fallback uses the same expressions).
VISIT_ENTRY_VALUES: dict[str, str] = {
    "entry_page": "path(url)",
    "channel": "channel",
    "source_name": "if(campaign_source != '', campaign_source, if(referrer_name != '', referrer_name, referrer_host))",
    "campaign_name": "campaign_name",
    "campaign_medium": "campaign_medium",
    "country": "country",
    "device": "device",
    "browser": "browser",
    "os": "os",
}
_FIRST = "SimpleAggregateFunction(min, Tuple(DateTime64(3, 'UTC'), String))"

VISIT_STATS = Table(
    name="visit_stats",
    comment="one row per visit and day, pre-aggregated from pageviews by visit_stats_mv for the traffic panels",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("day", "Date"),
        _c("session_hash", "UInt64"),
        _c("visitor_hash", "UInt64"),
        _c("started_at", "SimpleAggregateFunction(min, DateTime64(3, 'UTC'))"),
        _c("last_at", "SimpleAggregateFunction(max, DateTime64(3, 'UTC'))"),
        _c("pageview_ids", "SimpleAggregateFunction(groupUniqArrayArray, Array(UInt64))"),
        _c("exit_page", "SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), String))"),
    )
    + tuple(_c(name, _FIRST) for name in VISIT_ENTRY_VALUES),
    engine="AggregatingMergeTree",
    partition_by="toYYYYMM(day)",
    order_by="(site, day, session_hash, visitor_hash)",
    ttl=f"day + INTERVAL {ANALYTICS_MONTHS} MONTH",
)


def visit_rows_sql(source: str) -> str:
    """Payload rows of `source` (pageviews) with the visit's aggregation inputs: t0, t1, pv, exit_page
    and one (started_at, value) tuple per entry value. Feeds visit_stats and the raw fallback alike."""
    entries = ", ".join(f"(started_at, {expr}) AS e_{name}" for name, expr in VISIT_ENTRY_VALUES.items())
    return (
        "SELECT site, day, session_hash, visitor_hash, started_at AS t0, last_at AS t1, pageview_id AS pv, "
        f"(started_at, path(url)) AS e_exit_page, {entries} FROM {source}"
    )


def visit_stats_select(database: str) -> str:
    """What visit_stats_mv inserts for each block written to pageviews (also the migration's backfill).
    Every aggregate is idempotent (min, max, distinct ids), so a row seen twice changes nothing."""
    entries = ", ".join(f"min(e_{name}) AS {name}" for name in VISIT_ENTRY_VALUES)
    return (
        "SELECT site, day, session_hash, visitor_hash, min(t0) AS started_at, max(t1) AS last_at, "
        f"groupUniqArray(pv) AS pageview_ids, max(e_exit_page) AS exit_page, {entries} "
        f"FROM ({visit_rows_sql(f'`{database}`.`pageviews`')}) GROUP BY site, day, session_hash, visitor_hash"
    )


VISIT_STATS_VIEW = "visit_stats_mv"

#: Added by migration 7: Matomo refuses a repeated `ec_id` for a site (log_conversion's unique
#: (idsite, idorder)); every process claims an order here before storing it and the earliest claim
#: wins. `claimed_at` is set by the server on insert, so claims from several processes compare on one clock.
MATOMO_ORDERS = Table(
    name="matomo_orders",
    comment="claims of Matomo e-commerce order ids (keyed hash), one stored order per site and id",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("order_hash", "UInt64"),
        _c("claim", "String"),
        _c("claimed_at", "DateTime64(6, 'UTC')", default="now64(6)"),
    ),
    engine="MergeTree",
    order_by="(site, order_hash, claimed_at, claim)",
    ttl=f"toDateTime(claimed_at) + INTERVAL {ANALYTICS_MONTHS} MONTH",
)

#: Added by the accounts migration (issue 15): per-site roles of analysts (`site = '*'`: every site, and the
#: right to manage accounts), e-mail report schedules and their send log. Versioned rows, read with argMax.
ANALYST_ROLES = Table(
    name="analyst_roles",
    comment="what each analyst may do on each site: view or admin; site '*' means every site",
    columns=(
        _c("analyst", "String"),
        _c("site", "String"),
        _c("role", "LowCardinality(String)"),
        _c("deleted", "UInt8"),
        _c("version", "UInt64"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(analyst, site)",
)

REPORT_SCHEDULES = Table(
    name="report_schedules",
    comment="scheduled e-mail reports: one analyst, one site, weekly or monthly, to one address",
    columns=(
        _c("id", "String"),
        _c("analyst", "String"),
        _c("site", "String"),
        _c("frequency", "LowCardinality(String)"),
        _c("email", "String"),
        _c("created_at", "DateTime64(3, 'UTC')"),
        _c("deleted", "UInt8"),
        _c("version", "UInt64"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by="id",
)

REPORT_SENDS = Table(
    name="report_sends",
    comment="send log of e-mail reports: a claim before the SMTP conversation, then its outcome",
    columns=(
        _c("schedule_id", "String"),
        _c("period_start", "Date"),
        _c("period_end", "Date"),
        _c("attempt", "UInt32"),
        _c("status", "LowCardinality(String)"),
        _c("claim", "String"),
        _c("detail", "String"),
        _c("at", "DateTime64(6, 'UTC')", default="now64(6)"),
    ),
    engine="MergeTree",
    order_by="(schedule_id, period_start, attempt, at)",
    ttl=f"toDateTime(at) + INTERVAL {ANALYTICS_MONTHS} MONTH",
)


#: Added by the workbench goals/funnels migration: what analysts define in the dashboards, evaluated over
#: the stored events at query time (so a new definition also counts the past). A change or a deletion is a
#: new row with a higher version (`deleted = 1` for a deletion); readers use FINAL and skip deleted rows.
def _definitions(name: str, comment: str) -> Table:
    return Table(
        name=name,
        comment=comment,
        columns=(
            _c("site", "LowCardinality(String)"),
            _c("id", "String"),
            _c("name", "String"),
            _c("definition", "String"),
            _c("updated_by", "String"),
            _c("updated_at", "DateTime64(3, 'UTC')"),
            _c("version", "UInt64"),
            _c("deleted", "UInt8"),
        ),
        engine="ReplacingMergeTree(version)",
        order_by="(site, id)",
    )


GOAL_DEFINITIONS = _definitions("goal_definitions", "analyst-defined goals (JSON definition), per site")
FUNNEL_DEFINITIONS = _definitions("funnel_definitions", "analyst-defined funnels (JSON steps), per site")


#: Added by migration 11: where an import of Matomo's raw log tables (`python -m collector.ingest.matomo_import`)
#: got to, one row per batch (the latest version wins), so a killed import resumes after its last whole batch.
#: Counts and Matomo visit ids only: no visitor data.
MATOMO_IMPORT_PROGRESS = Table(
    name="matomo_import_progress",
    comment="checkpoints of Matomo history imports: the last imported Matomo idvisit per site and run",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("matomo_idsite", "UInt32"),
        _c("run_key", "String"),
        _c("last_idvisit", "UInt64"),
        _c("visits", "UInt64"),
        _c("actions", "UInt64"),
        _c("rows", "UInt64"),
        _c("finished", "UInt8"),
        _c("updated_at", "DateTime64(3, 'UTC')"),
        _c("version", "UInt64"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(site, matomo_idsite, run_key)",
)

SCHEMA_MIGRATIONS = Table(
    name="schema_migrations",
    comment="which numbered migrations this database has applied",
    columns=(
        _c("version", "UInt32"),
        _c("description", "String"),
        _c("applied_at", "DateTime('UTC')", default="now()"),
    ),
    engine="ReplacingMergeTree",
    order_by="version",
)

#: Added by migration 9: analysts' saved segments and chart annotations, shared per
#: site. Each edit inserts a new row with a higher version; a delete inserts one with `deleted = 1`; read
#: with FINAL (or argMax by version), so the latest state wins and nothing is half-saved.
SEGMENTS = Table(
    name="segments",
    comment="saved segments: a named set of conditions over visit, page and event attributes (JSON)",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("segment_id", "String"),
        _c("name", "String"),
        _c("definition", "String"),
        _c("author", "String"),
        _c("updated_at", "DateTime64(3, 'UTC')"),
        _c("deleted", "UInt8"),
        _c("version", "UInt64"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(site, segment_id)",
)

ANNOTATIONS = Table(
    name="annotations",
    comment="notes on a day of a site's traffic chart (a release, a campaign, an outage)",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("annotation_id", "String"),
        _c("day", "Date"),
        _c("note", "String"),
        _c("author", "String"),
        _c("updated_at", "DateTime64(3, 'UTC')"),
        _c("deleted", "UInt8"),
        _c("version", "UInt64"),
    ),
    engine="ReplacingMergeTree(version)",
    order_by="(site, annotation_id)",
)

#: Frustration signals of closed days (issue 14, dashboards/archive.py): one row per occurrence, as the
#: insights compute it live (dashboards.insights.SIGNAL_COLUMNS), filed under the UTC day its visit began, with
#: the visitor (GDPR). `archived_at` is the archive's version: a day archived again (late uploads) writes all its
#: rows with a newer one and deletes the older; readers take only the day's newest version (signal_archive_days).
SIGNAL_OCCURRENCES = Table(
    name="signal_occurrences",
    comment="frustration signal occurrences of the visits of closed days, archived (read by the insights panels)",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("day", "Date"),
        _c("session_hash", "UInt64"),
        _c("visitor_hash", "UInt64"),
        _c("signal", "LowCardinality(String)"),
        _c("pageview_id", "UInt64"),
        _c("page", "String"),
        _c("at", "DateTime64(3, 'UTC')"),
        _c("element", "String"),
        _c("label", "String"),
        _c("x", "Int32"),
        _c("y", "Int32"),
        _c("width", "UInt32"),
        _c("detail", "String"),
        _c("archived_at", "DateTime64(3, 'UTC')"),
    ),
    engine="MergeTree",
    partition_by="toYYYYMM(day)",
    order_by="(site, day, session_hash, signal, at)",
    ttl=f"day + INTERVAL {ANALYTICS_MONTHS} MONTH",
)

#: Which days are archived, and from how many stored rows (events and playback of the day and the next): a
#: day whose rows changed since (a late upload) is archived again.
SIGNAL_ARCHIVE_DAYS = Table(
    name="signal_archive_days",
    comment="days whose frustration signals are archived in signal_occurrences, with the archive's version",
    columns=(
        _c("site", "LowCardinality(String)"),
        _c("day", "Date"),
        _c("source_rows", "UInt64"),
        _c("archived_at", "DateTime64(3, 'UTC')"),
    ),
    engine="ReplacingMergeTree(archived_at)",
    order_by="(site, day)",
    ttl=f"day + INTERVAL {ANALYTICS_MONTHS} MONTH",
)

TABLES: dict[str, Table] = {
    t.name: t
    for t in (
        PAGEVIEWS,
        EVENTS,
        PLAYBACK,
        RECORDINGS,
        CONSENT_LEDGER,
        RETENTION_AUDIT,
        VISITS,
        DAILY_SALTS,
        SCHEMA_MIGRATIONS,
        ANALYSTS,
        DASHBOARD_SESSIONS,
        API_TOKENS,
        VISIT_STATS,
        MATOMO_ORDERS,
        ANALYST_ROLES,
        REPORT_SCHEDULES,
        REPORT_SENDS,
        SEGMENTS,
        ANNOTATIONS,
        GOAL_DEFINITIONS,
        FUNNEL_DEFINITIONS,
        MATOMO_IMPORT_PROGRESS,
        SIGNAL_OCCURRENCES,
        SIGNAL_ARCHIVE_DAYS,
    )
}

#: Tables holding data about visitors (GDPR export/erase and retention act on these).
VISITOR_TABLES = ("pageviews", "events", "playback", "consent_ledger", "visits", "visit_stats", "signal_occurrences")
