"""The Matomo history import against a real MariaDB (Debian's mariadb-server) holding Matomo's own schema.

Expected figures are Matomo's own SQL over the generated rows (its archiver's definitions: visits,
visit_total_actions, bounce = visits with at most one action, referer_type, log_conversion), compared with
what the dashboards' query layer (`run_panel`) shows after the import.
"""

from __future__ import annotations

import fcntl
import ipaddress
import json
import os
import re
import signal
import subprocess
import sys
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import pytest

from collector.core.settings import Settings
from collector.core.sites import SiteRegistry, site_from_dict
from collector.ingest.matomo_import.errors import ImportRefused
from collector.ingest.matomo_import.run import Options, retention_cutoff, run_import
from collector.ingest.matomo_import.source import MatomoSource, SourceDsn
from dashboards.queries import panel_named, parse_query, run_panel
from ingest_schema.hashing import Hasher
from ingest_schema.storage import Storage
from tests.support import matomo_db
from tests.support.collector import ROOT

pytestmark = pytest.mark.skipif(not matomo_db.available(), reason="Debian's mariadb-server is not installed")

PYTHON = sys.executable
SECRET = "test-secret-key"
SITES_TOML = """
[[site]]
id = "shop"
origins = ["https://shop.example"]
timezone = "Europe/Berlin"
matomo_idsite = 1

[[site]]
id = "blog"
origins = ["https://blog.example"]
timezone = "America/New_York"
matomo_idsite = 2
"""
ZONES = {"shop": "Europe/Berlin", "blog": "America/New_York"}
IDSITES = {"shop": 1, "blog": 2}


@pytest.fixture(scope="session")
def mariadb() -> Iterator[matomo_db.MariaDB]:
    server = matomo_db.MariaDB().start()
    try:
        matomo_db.fill(server, "matomo", visits=1500)
        with server.connect() as conn:
            matomo_db.create_schema(conn, "empty_other", prefix="other_")  # tables under another prefix only
            with conn.cursor() as cursor:  # Matomo 3's actions had no idpageview (another schema version)
                matomo_db.create_schema(conn, "matomo3")
                cursor.execute("ALTER TABLE matomo3.matomo_log_link_visit_action DROP COLUMN idpageview")
        yield server
    finally:
        server.stop()


@pytest.fixture
def registry() -> SiteRegistry:
    sites = [
        site_from_dict(
            {"id": s, "origins": [f"https://{s}.example"], "timezone": ZONES[s], "matomo_idsite": IDSITES[s]}
        )
        for s in ZONES
    ]
    return SiteRegistry({s.id: s for s in sites})


@pytest.fixture
def storage(settings_factory: Any) -> Iterator[Storage]:
    settings: Settings = settings_factory()
    store = Storage(settings.clickhouse_dsn, settings.database, workers=1)
    store.migrate()
    yield store
    store.close()


def import_all(mariadb: matomo_db.MariaDB, storage: Storage, registry: SiteRegistry, **options: Any) -> dict[str, Any]:
    source = MatomoSource(SourceDsn.parse(mariadb.dsn("matomo")), "matomo_")
    try:
        return run_import(storage, source, "test", Hasher(SECRET.encode()), registry, Options(**options), 65536)
    finally:
        source.close()


def matomo(mariadb: matomo_db.MariaDB, sql: str, *args: Any) -> list[tuple[Any, ...]]:
    with mariadb.connect("matomo") as conn, conn.cursor() as cursor:
        cursor.execute(sql, args)
        return list(cursor.fetchall())


def local_window(site: str, first: date, last: date) -> tuple[datetime, datetime]:
    """The dashboards' custom period [first, last] in the site's zone, as Matomo's naive UTC."""
    zone = ZoneInfo(ZONES[site])

    def utc(day: date) -> datetime:
        return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(timezone.utc).replace(tzinfo=None)

    return utc(first), utc(last + timedelta(days=1))


def panel(storage: Storage, name: str, site: str, first: date, last: date, limit: int = 1000) -> list[dict[str, Any]]:
    query = parse_query(
        panel_named(name),
        {"site": site, "period": "custom", "from": first.isoformat(), "to": last.isoformat(), "limit": str(limit)},
        ZONES[site],
    )
    return run_panel(storage, panel_named(name), query).records()


def count(storage: Storage, table: str) -> int:
    return int(storage.query_rows(f"SELECT count() FROM {storage.table(table)}")[0][0])


# --- the figures ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def imported(
    mariadb: matomo_db.MariaDB, tmp_path_factory: pytest.TempPathFactory, chdb_folder: Path
) -> Iterator[tuple[Storage, dict[str, Any]]]:
    store = Storage(f"chdb://{chdb_folder}", "t_import_" + uuid.uuid4().hex[:8], workers=1)
    store.migrate()
    sites = [
        site_from_dict(
            {"id": s, "origins": [f"https://{s}.example"], "timezone": ZONES[s], "matomo_idsite": IDSITES[s]}
        )
        for s in ZONES
    ]
    report = import_all(mariadb, store, SiteRegistry({s.id: s for s in sites}), batch_visits=200)
    yield store, report
    store.close()


@pytest.mark.parametrize("site", ["shop", "blog"])
def test_dashboard_figures_equal_matomo_sql(
    imported: tuple[Storage, dict[str, Any]], mariadb: matomo_db.MariaDB, site: str
) -> None:
    storage, _ = imported
    last = datetime.now(ZoneInfo(ZONES[site])).date()
    first = last - timedelta(days=60)
    since, until = local_window(site, first, last)
    idsite = IDSITES[site]
    window = "v.idsite = %s AND v.visit_first_action_time >= %s AND v.visit_first_action_time < %s"
    args = (idsite, since, until)
    visits, visitors, actions, bounces = matomo(
        mariadb,
        "SELECT COUNT(*), COUNT(DISTINCT idvisitor), SUM(visit_total_actions), "
        "SUM(CASE visit_total_actions WHEN 1 THEN 1 WHEN 0 THEN 1 ELSE 0 END) "
        f"FROM matomo_log_visit v WHERE {window}",
        *args,
    )[0]
    per_visit = matomo(
        mariadb,
        "SELECT v.idvisit, SUM(CASE WHEN u.type = 1 THEN 1 ELSE 0 END) FROM matomo_log_visit v "
        "LEFT JOIN matomo_log_link_visit_action a ON a.idvisit = v.idvisit "
        "LEFT JOIN matomo_log_action u ON u.idaction = a.idaction_url AND a.idaction_event_category IS NULL "
        f"AND a.idaction_content_name IS NULL WHERE {window} GROUP BY v.idvisit",
        *args,
    )
    pageviews = sum(int(n) for _, n in per_visit)
    one_page = sum(1 for _, n in per_visit if int(n) == 1)
    assert visits > 100 and pageviews > visits

    overview = {r["metric"]: r["value"] for r in panel(storage, "overview", site, first, last)}
    assert overview["visits"] == visits
    assert overview["visitors"] == visitors
    assert overview["pageviews"] == pageviews
    assert overview["bounce_rate"] == round(one_page * 100 / visits, 1), "the dashboards' bounce: one page view"

    ours = storage.query_rows(
        f"SELECT count(), sum(actions), countIf(bounce = 1) FROM {storage.table('visits')} FINAL "
        "WHERE site = {site:String} AND started_at >= {a:DateTime64(3)} AND started_at < {b:DateTime64(3)}",
        {"site": site, "a": since, "b": until},
    )[0]
    assert (int(ours[0]), int(ours[1]), int(ours[2])) == (visits, int(actions), int(bounces)), (
        "visits, actions and Matomo's bounce (at most one action) as log_visit has them"
    )

    names = {1: "direct", 2: "search", 3: "website", 6: "campaign", 7: "social"}
    expected = {
        names[int(t)]: int(n)
        for t, n in matomo(
            mariadb,
            f"SELECT referer_type, COUNT(*) FROM matomo_log_visit v WHERE {window} GROUP BY referer_type",
            *args,
        )
    }
    channels = {r["channel"]: r["visits"] for r in panel(storage, "channels", site, first, last)}
    assert channels == expected

    campaigns: dict[str, int] = {}
    for row in panel(storage, "campaigns", site, first, last):  # by campaign and medium: add the mediums up
        if row["campaign"]:
            campaigns[row["campaign"]] = campaigns.get(row["campaign"], 0) + row["visits"]
    assert campaigns == {
        str(n): int(c)
        for n, c in matomo(
            mariadb,
            f"SELECT referer_name, COUNT(*) FROM matomo_log_visit v WHERE {window} AND referer_type = 6 "
            "GROUP BY referer_name",
            *args,
        )
    }
    assert set(campaigns) <= {"spring_sale", "newsletter"}, "campaign names lowercased, as Matomo stores them"

    goals = {r["goal"]: (r["conversions"], r["revenue"]) for r in panel(storage, "goals", site, first, last)}
    expected_goals = {
        ("ecommerce order" if int(g) == 0 else f"goal {g}"): (int(n), round(float(r), 2))
        for g, n, r in matomo(
            mariadb,
            "SELECT c.idgoal, COUNT(*), SUM(c.revenue) FROM matomo_log_conversion c "
            f"JOIN matomo_log_visit v ON v.idvisit = c.idvisit WHERE {window} AND c.idgoal >= 0 GROUP BY c.idgoal",
            *args,
        )
    }
    assert goals == expected_goals and "ecommerce order" in goals

    events: dict[str, int] = {}
    for row in panel(storage, "events", site, first, last):
        events[row["kind"]] = events.get(row["kind"], 0) + row["events"]
    kinds = dict(
        matomo(
            mariadb,
            "SELECT CASE WHEN a.idaction_event_category IS NOT NULL THEN 'event' WHEN n.type = 8 THEN "
            "'site_search' WHEN u.type = 2 THEN 'outlink' WHEN u.type = 3 THEN 'download' "
            "WHEN a.idaction_content_name IS NOT NULL THEN 'content' END AS k, COUNT(*) "
            "FROM matomo_log_link_visit_action a JOIN matomo_log_visit v ON v.idvisit = a.idvisit "
            "LEFT JOIN matomo_log_action u ON u.idaction = a.idaction_url "
            f"LEFT JOIN matomo_log_action n ON n.idaction = a.idaction_name WHERE {window} GROUP BY k",
            *args,
        )
    )
    assert events == {str(k): int(n) for k, n in kinds.items() if k}


def test_nothing_older_than_retention_unless_asked(
    imported: tuple[Storage, dict[str, Any]], mariadb: matomo_db.MariaDB, storage: Storage, registry: SiteRegistry
) -> None:
    store, _ = imported
    cutoff = retention_cutoff(datetime.now(timezone.utc).date())
    kept, expired = matomo(
        mariadb,
        "SELECT SUM(visit_first_action_time >= %s), SUM(visit_first_action_time < %s) "
        "FROM matomo_log_visit WHERE idsite IN (1, 2)",
        cutoff,
        cutoff,
    )[0]
    assert int(expired) > 0
    assert count(store, "visits") == int(kept)
    assert int(store.query_rows(f"SELECT min(day) FROM {store.table('visits')}")[0][0] >= cutoff)

    report = import_all(
        mariadb,
        storage,
        registry,
        include_expired=True,
        since=cutoff - timedelta(days=500),
        until=cutoff - timedelta(days=1),
    )
    assert sum(s["visits"] for s in report["sites"]) == int(expired), "--include-expired imports the older visits"


def test_imported_rows_are_marked_and_private(
    imported: tuple[Storage, dict[str, Any]], mariadb: matomo_db.MariaDB
) -> None:
    storage, _ = imported
    for table in ("pageviews", "events", "visits"):
        sources = {r[0] for r in storage.query_rows(f"SELECT DISTINCT source FROM {storage.table(table)}")}
        assert sources == {"matomo-import"}, table
    raw = matomo(
        mariadb, "SELECT LOWER(HEX(idvisitor)), LOWER(HEX(config_id)), location_ip, user_id FROM matomo_log_visit"
    )
    hexes = {h for row in raw for h in row[:2]}
    ips = {str(ipaddress.ip_address(bytes(row[2]))) for row in raw}
    users = {row[3] for row in raw if row[3]}
    assert hexes and ips and users
    texts: list[str] = []
    for table in ("pageviews", "events", "visits", "matomo_orders"):
        columns = [
            r[0]
            for r in storage.query_rows(
                "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} "
                "AND (type LIKE '%String%' OR type LIKE 'Map%')",
                {"db": storage.database, "t": table},
            )
        ]
        for row in storage.query_rows(
            f"SELECT {', '.join(f'toString({c})' for c in columns)} FROM {storage.table(table)}"
        ):
            texts.extend(str(v) for v in row)
    blob = "\n".join(texts)
    windows = set(re.findall(r"(?=([0-9a-f]{16}))", blob.lower()))  # every 16-hex run, overlapping
    assert not hexes & windows, "no raw Matomo visitor or config id"
    assert not ips & set(re.findall(r"\d{1,3}(?:\.\d{1,3}){3}", blob)), "no IP address"
    assert not any(user in blob for user in users), "no user id in clear"
    assert matomo_db.EMAIL not in blob, "e-mail addresses masked in URLs and search keywords"
    assert "secret words" not in blob, "search keywords of referrers are never kept"
    user_hashes = storage.query_rows(f"SELECT count() FROM {storage.table('visits')} FINAL WHERE user_hash != ''")
    assert int(user_hashes[0][0]) > 0, "user ids kept as their keyed hash"


def test_second_run_adds_nothing(
    imported: tuple[Storage, dict[str, Any]], mariadb: matomo_db.MariaDB, registry: SiteRegistry
) -> None:
    storage, first = imported
    tables = ("pageviews", "events", "visits", "matomo_orders", "matomo_import_progress")
    before = {t: count(storage, t) for t in tables}
    assert sum(s["visits"] for s in first["sites"]) == before["visits"]
    again = import_all(mariadb, storage, registry, batch_visits=300)  # another run key: only visits are checked
    assert all(sum(s["rows"].values()) == 0 for s in again["sites"])
    after = {t: count(storage, t) for t in tables}
    assert {t: after[t] for t in tables[:4]} == {t: before[t] for t in tables[:4]}


# --- killed and resumed ---------------------------------------------------------------------------

DIGEST = {
    "events": "SELECT count(), sum(cityHash64(site, day, visitor_hash, session_hash, page_num, pageview_id, ts, "
    "source, type, name, url, text, link, key, value, num, data)) FROM {db}.events",
    "pageviews": "SELECT count(), sum(h) FROM (SELECT cityHash64(site, day, visitor_hash, session_hash, page_num, "
    "pageview_id, max(source), min(started_at), max(last_at), max(url), max(referrer), max(title), "
    "sum(clicks), sum(events), sum(payloads), max(channel), max(user_hash)) AS h FROM {db}.pageviews "
    "GROUP BY site, day, visitor_hash, session_hash, page_num, pageview_id)",
    "visits": "SELECT count(), sum(cityHash64(site, day, session_hash, visitor_hash, pageviews, actions, bounce, "
    "goals, revenue, entry_url, exit_url, channel, campaign_name, version)) FROM {db}.visits FINAL",
    "matomo_orders": "SELECT count(), sum(cityHash64(site, order_hash, claim, claimed_at)) FROM {db}.matomo_orders",
}

DUMP = """
import json, sys
from ingest_schema.storage import Storage
storage = Storage(sys.argv[1], "analytics", workers=1)
digest = json.loads(sys.argv[2])
out = {t: [str(v) for v in storage.query_rows(sql.replace("{db}", "`analytics`"))[0]] for t, sql in digest.items()}
out["progress"] = [[str(v) for v in r] for r in storage.query_rows(
    "SELECT site, last_idvisit, finished FROM analytics.matomo_import_progress FINAL ORDER BY site")]
print(json.dumps(out))
"""


def cli_env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "sites.toml").write_text(SITES_TOML)
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "COLLECTOR_DATA_DIR": str(tmp_path / "data"),
        "COLLECTOR_CLICKHOUSE_DSN": f"chdb://{tmp_path / 'clickhouse'}",
        "COLLECTOR_SECRET_KEY": SECRET,
        "COLLECTOR_SITES_FILE": str(tmp_path / "sites.toml"),
    }


def cli(env: dict[str, str], *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "collector.ingest.matomo_import", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_killed_run_resumes_to_the_same_rows(
    imported: tuple[Storage, dict[str, Any]], mariadb: matomo_db.MariaDB, tmp_path: Path
) -> None:
    storage, _ = imported
    env = cli_env(tmp_path)
    command = [PYTHON, "-m", "collector.ingest.matomo_import", "--dsn", mariadb.dsn("matomo"), "--batch-visits", "40"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stderr is not None
    checkpoints = 0
    for line in process.stderr:  # one line per checkpoint, written once the batch is in ClickHouse
        if '"checkpoint"' in line:
            checkpoints += 1
            if checkpoints == 5:
                process.send_signal(signal.SIGKILL)
                break
    process.wait(timeout=120)
    assert process.returncode == -signal.SIGKILL, "the import was killed halfway, not finished"

    dump = [PYTHON, "-c", DUMP, f"chdb://{tmp_path / 'clickhouse'}", json.dumps(DIGEST)]
    halfway = json.loads(subprocess.run(dump, env=env, capture_output=True, text=True, check=True).stdout)
    assert halfway["progress"] and all(r[2] == "0" for r in halfway["progress"]), "progress checkpointed, unfinished"
    assert 0 < int(halfway["visits"][0]) < count(storage, "visits")

    resumed = cli(env, "--dsn", mariadb.dsn("matomo"), "--batch-visits", "40")
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    report = json.loads(resumed.stdout)
    assert any(s["resumed_after_idvisit"] > 0 for s in report["sites"])
    final = json.loads(subprocess.run(dump, env=env, capture_output=True, text=True, check=True).stdout)
    reference = {
        t: [str(v) for v in storage.query_rows(sql.replace("{db}", f"`{storage.database}`"))[0]]
        for t, sql in DIGEST.items()
    }
    assert {t: final[t] for t in DIGEST} == reference, "same rows as one uninterrupted import"


# --- bad input ------------------------------------------------------------------------------------


def test_bad_input_is_refused_clearly(mariadb: matomo_db.MariaDB, tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    cases = [
        (["--dsn", mariadb.dsn("matomo").replace(matomo_db.PASSWORD, "wrong")], "cannot connect"),
        (
            ["--dsn", f"mysql://nobody@127.0.0.1:{mariadb.port}/matomo", "--password-env", "NOT_SET_ANYWHERE"],
            "is not set",
        ),
        (["--dsn", "postgres://u@h/db"], "must look like mysql://"),
        (["--dsn", mariadb.dsn("empty_other")], "are missing"),
        (["--dsn", mariadb.dsn("matomo"), "--table-prefix", "piwik_"], "are missing"),
        (["--dsn", mariadb.dsn("matomo3")], "lacks columns idpageview"),
        (["--dsn", mariadb.dsn("matomo"), "--site", "99=shop"], "no site with idsite 99"),
        (["--dsn", mariadb.dsn("matomo"), "--site", "1=nowhere"], "'nowhere' is not in the sites file"),
    ]
    for args, message in cases:
        result = cli(env, *args)
        assert result.returncode == 2, (args, result.stdout, result.stderr)
        assert message in json.loads(result.stdout)["error"], (args, result.stdout)
    assert not (tmp_path / "clickhouse").exists() or not any((tmp_path / "clickhouse").rglob("*.bin")), (
        "nothing written"
    )

    ok = cli(
        env,
        "--dsn",
        mariadb.dsn("matomo", password=False),
        "--password-stdin",
        "--dry-run",
        stdin=matomo_db.PASSWORD + "\n",
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    dry = json.loads(ok.stdout)
    visits = matomo(
        mariadb,
        "SELECT COUNT(*) FROM matomo_log_visit WHERE idsite = 1 AND visit_first_action_time >= %s",
        retention_cutoff(datetime.now(timezone.utc).date()),
    )[0][0]
    assert dry["sites"][0]["would_read"]["visits"] == int(visits)
    assert not (tmp_path / "clickhouse").exists(), "a dry run does not touch our storage"


def test_unknown_site_writes_nothing(mariadb: matomo_db.MariaDB, storage: Storage, registry: SiteRegistry) -> None:
    with pytest.raises(ImportRefused, match="no site with idsite 7"):
        import_all(mariadb, storage, registry, sites={1: "shop", 7: "blog"})
    assert count(storage, "visits") == 0 and count(storage, "events") == 0


def test_held_folder_needs_a_stopped_collector(mariadb: matomo_db.MariaDB, tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    folder = tmp_path / "clickhouse"
    folder.mkdir()
    with open(folder / "status", "wb") as status:  # what a running collector's engine holds
        fcntl.flock(status, fcntl.LOCK_EX | fcntl.LOCK_NB)
        result = cli(env, "--dsn", mariadb.dsn("matomo"))
    assert result.returncode == 4
    assert "stop it for the import" in json.loads(result.stdout)["error"]


def test_gdpr_export_finds_an_imported_visitor_by_matomo_id(
    imported: tuple[Storage, dict[str, Any]], mariadb: matomo_db.MariaDB
) -> None:
    from retention.service import execute, validate

    storage, _ = imported
    cutoff = retention_cutoff(datetime.now(timezone.utc).date())
    visitor, visits = matomo(
        mariadb,
        "SELECT LOWER(HEX(idvisitor)), COUNT(*) FROM matomo_log_visit WHERE idsite = 1 "
        "AND visit_first_action_time >= %s GROUP BY idvisitor ORDER BY MIN(idvisit) LIMIT 1",
        cutoff,
    )[0]
    request = validate({"action": "export", "visitor": visitor, "kind": "matomo", "sites": ["shop"]}, ["shop", "blog"])
    report = execute(storage, Hasher(SECRET.encode()), request)
    assert len(report["tables"]["visits"]) == int(visits), "the same keyed hash as live Matomo ids"
    assert report["tables"]["pageviews"], "with the visitor's page views"
