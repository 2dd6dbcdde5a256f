"""A real MariaDB server (Debian's `mariadb-server`) with Matomo's schema, filled as Matomo fills it.

Used by tests/test_matomo_import.py and bench/bench_import.py. The server runs as root on a temp
datadir, on a loopback port and a unix socket; the tables come from Matomo's own CREATE TABLE
statements (tests/fixtures/matomo_schema/). The generator writes visits the way Matomo's tracker
does: binary(8) `idvisitor`, `config_id` and `location_ip` (which the import must never read), UTC
DATETIMEs, `idaction` references into `log_action` with their type codes and URL prefixes, Matomo's
referrer types, goal conversions, orders with items, abandoned carts.
"""

from __future__ import annotations

import random
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Iterable

import MySQLdb

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "matomo_schema"
MARIADBD = "/usr/sbin/mariadbd"
INSTALL_DB = "/usr/bin/mariadb-install-db"
USER, PASSWORD = "matomo", "s3cret-pw"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def available() -> bool:
    return Path(MARIADBD).exists() and Path(INSTALL_DB).exists()


class MariaDB:
    """One mariadbd process on a temp datadir; `stop()` ends it and removes the folder."""

    def __init__(self, base: Path | None = None, buffer_pool: str = "256M") -> None:
        self.base = base or Path(tempfile.mkdtemp(prefix="mariadb-"))
        self.datadir, self.socket = self.base / "data", str(self.base / "mysqld.sock")
        self.port = _free_port()
        self.buffer_pool = buffer_pool
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> "MariaDB":
        self.datadir.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                INSTALL_DB,
                "--no-defaults",
                f"--datadir={self.datadir}",
                "--user=root",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ],
            check=True,
            capture_output=True,
            timeout=timeout,
        )
        self.process = subprocess.Popen(
            [
                MARIADBD,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                "--user=root",
                "--skip-log-bin",
                "--local-infile=1",
                f"--innodb-buffer-pool-size={self.buffer_pool}",
                "--innodb-flush-log-at-trx-commit=0",
                f"--pid-file={self.base / 'mysqld.pid'}",
                f"--log-error={self.base / 'error.log'}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.connect().close()
                break
            except MySQLdb.Error:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    log = (self.base / "error.log").read_text(errors="replace")[-2000:]
                    raise RuntimeError(f"mariadbd did not start: {log}") from None
                time.sleep(0.1)
        with self.connect() as conn, conn.cursor() as cursor:
            cursor.execute(f"CREATE USER '{USER}'@'%' IDENTIFIED BY '{PASSWORD}'")
            cursor.execute(f"GRANT ALL ON *.* TO '{USER}'@'%'")
        return self

    def connect(self, database: str | None = None) -> Any:
        where = {"database": database} if database else {}
        return MySQLdb.connect(
            unix_socket=self.socket, user="root", local_infile=True, autocommit=True, charset="utf8mb4", **where
        )

    def dsn(self, database: str, password: bool = True) -> str:
        return f"mysql://{USER}{':' + PASSWORD if password else ''}@127.0.0.1:{self.port}/{database}"

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.base, ignore_errors=True)


def create_schema(conn: Any, database: str, prefix: str = "matomo_") -> None:
    """Matomo's tables (core CREATE TABLEs, then the core plugins' dimension columns)."""
    with conn.cursor() as cursor:
        cursor.execute(f"CREATE DATABASE `{database}`")
        cursor.execute(f"USE `{database}`")
        for name in ("core.sql", "dimensions.sql"):
            text = (SCHEMA / name).read_text().replace("matomo_", prefix)
            body = "\n".join(line.split(" -- ")[0] for line in text.splitlines() if not line.startswith("--"))
            for statement in body.split(";"):
                if statement.strip():
                    cursor.execute(statement)


SITES = (
    (1, "Shop", "https://shop.example", "Europe/Berlin"),
    (2, "Blog", "https://blog.example", "America/New_York"),
    (3, "Other", "https://other.example", "UTC+5.5"),
)
SEARCH = (("Google", "https://www.google.com/search?q=secret+words"), ("Bing", "https://www.bing.com/search?q=x"))
SOCIAL = (("Facebook", "https://www.facebook.com/"), ("LinkedIn", "https://www.linkedin.com/feed/"))
WEBSITES = ("partner.example", "news.example")
CAMPAIGNS = (("Spring_Sale", "Banner"), ("NEWSLETTER", ""))
EMAIL = "jane.doe@example.com"


@dataclass
class Generator:
    """Writes visits into Matomo's tables through LOAD DATA (fast enough for the benchmark's 10M actions)."""

    conn: Any
    prefix: str = "matomo_"
    seed: int = 7
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0, tzinfo=None))
    rng: random.Random = field(init=False)
    actions: dict[tuple[str, int], int] = field(default_factory=dict)
    pending: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)
    idvisit: int = 0
    idlink: int = 0
    orders: int = 0

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)

    def action(self, name: str, kind: int, prefix: int | None = None) -> int:
        key = (name, kind)
        if key not in self.actions:
            self.actions[key] = len(self.actions) + 1
            self._row("log_action", (self.actions[key], name, kind, "\\N" if prefix is None else prefix))
        return self.actions[key]

    def _row(self, table: str, row: tuple[Any, ...]) -> None:
        self.pending.setdefault(table, []).append(row)

    def sites(self) -> None:
        with self.conn.cursor() as cursor:
            for idsite, name, url, zone in SITES:
                cursor.execute(
                    f"INSERT INTO {self.prefix}site (idsite, name, main_url, ts_created, ecommerce, sitesearch, "
                    "sitesearch_keyword_parameters, sitesearch_category_parameters, timezone, currency, excluded_ips, "
                    "excluded_parameters, excluded_user_agents, excluded_referrers, `group`, `type`) VALUES "
                    "(%s, %s, %s, NOW(), 1, 1, '', '', %s, 'EUR', '', '', '', '', '', 'website')",
                    (idsite, name, url, zone),
                )

    def visits(self, count: int, expired_share: float = 0.05, days: int = 40, sites: Iterable[int] = (1, 2)) -> None:
        site_list = list(sites)
        for _ in range(count):
            idsite = self.rng.choice(site_list)
            if self.rng.random() < expired_share:
                start = self.now - timedelta(days=430 + self.rng.randint(0, 30), seconds=self.rng.randint(0, 86400))
            else:
                start = self.now - timedelta(days=self.rng.randint(0, days - 1), seconds=self.rng.randint(3600, 86400))
            self.visit(idsite, start)
            if len(self.pending.get("log_link_visit_action", ())) > 200_000:
                self.flush()
        self.flush()

    def visit(self, idsite: int, start: datetime) -> None:
        rng = self.rng
        self.idvisit += 1
        idvisit = self.idvisit
        host = SITES[idsite - 1][2].removeprefix("https://")
        idvisitor = rng.randbytes(8).hex()
        ref_type = rng.choice((1, 1, 2, 3, 6, 7))
        ref_name = ref_url = ref_kw = ""
        landing = f"{host}/products/{rng.randint(1, 40)}"
        if ref_type == 2:
            ref_name, ref_url = rng.choice(SEARCH)
            ref_kw = "secret words"
        elif ref_type == 3:
            ref_name = rng.choice(WEBSITES)
            ref_url = f"https://{ref_name}/post/{rng.randint(1, 9)}"
        elif ref_type == 6:
            ref_name, ref_kw = rng.choice(CAMPAIGNS)
            landing += f"?mtm_campaign={ref_name}&mtm_source=newsletter&mtm_medium=email"
            ref_name, ref_kw = ref_name.lower(), ref_kw.lower()  # Matomo lowercases campaign values
        elif ref_type == 7:
            ref_name, ref_url = rng.choice(SOCIAL)
        t = start
        kinds = ["page"] + [
            rng.choice(("page", "page", "page", "event", "search", "outlink", "download", "content"))
            for _ in range(rng.choice((0, 0, 0, 1, 2, 3, 5, 8)))
        ]
        total_actions, last_link, pv = 0, 0, ""
        entry = exit_ = (0, 0)
        for position, kind in enumerate(kinds):
            if position:
                t += timedelta(seconds=rng.randint(5, 240))
            self.idlink += 1
            last_link = self.idlink
            url_id = name_id = cat = act = None
            search_cat = search_count = content = None
            product: tuple[Any, ...] = (None, None, None, None)
            custom_float: Any = None
            timings: tuple[Any, ...] = (None,) * 6
            if kind == "page":
                path = landing if position == 0 else f"{host}/products/{rng.randint(1, 40)}"
                if rng.random() < 0.03:
                    path = f"{host}/account?email={EMAIL}&tab=orders"
                url_id = self.action(path, 1, 2)
                name_id = self.action(f"Product {path.rsplit('/', 1)[-1][:20]}", 4)
                pv = rng.randbytes(3).hex()
                if rng.random() < 0.3:
                    product = (
                        self.action(f"SKU-{position}", 5),
                        self.action(f"Shoe {position}", 6),
                        self.action("Shoes", 7),
                        49.5,
                    )
                if rng.random() < 0.5:
                    timings = (12, 80, 5, 300, 420, 10)
                total_actions += 1
                exit_ = (url_id, name_id)
                if position == 0:
                    entry = exit_
            elif kind == "event":
                url_id = self.action(f"{host}/products/1", 1, 2)
                cat, act = self.action("Video", 10), self.action(rng.choice(("play", "pause")), 11)
                name_id = self.action("Intro", 12)
                custom_float = rng.choice((None, 3.5))
                total_actions += 1
            elif kind == "search":
                name_id = self.action(rng.choice(("shoes", f"mail {EMAIL}")), 8)
                search_cat, search_count = "catalog", rng.randint(0, 20)
                total_actions += 1
            elif kind == "outlink":
                url_id = self.action("partner.example/offer", 2, 2)
                total_actions += 1
            elif kind == "download":
                url_id = self.action(f"{host}/files/catalog.pdf", 3, 2)
                total_actions += 1
            else:  # a content interaction (not a Matomo action)
                url_id = self.action(f"{host}/products/1", 1, 2)
                content = (
                    self.action("Banner", 13),
                    self.action("spring.png", 14),
                    self.action("https://shop.example/spring", 15),
                    self.action("click", 16),
                )
            self._row(
                "log_link_visit_action",
                (
                    self.idlink,
                    idsite,
                    idvisitor,
                    idvisit,
                    _n(url_id),
                    _n(name_id),
                    pv,
                    t,
                    _n(cat),
                    _n(act),
                    _n(custom_float),
                    _n(search_cat),
                    _n(search_count),
                    *(_n(c) for c in (content or (None,) * 4)),
                    *(_n(p) for p in product),
                    *(_n(x) for x in timings),
                ),
            )
        last = t + timedelta(seconds=rng.randint(0, 30))
        goals = 0
        if rng.random() < 0.2:
            self._conversion(idsite, idvisitor, idvisit, last_link, t, 1, 0, None, 10.0, ref_type, ref_name, ref_kw)
            goals += 1
        if rng.random() < 0.1:
            self.orders += 1
            order = f"ORD-{self.orders}"
            items = [
                (self.action(f"SKU-{i}", 5), self.action(f"Shoe {i}", 6), self.action("Shoes", 7), 20.0 + i, 1 + i % 2)
                for i in range(rng.randint(1, 3))
            ]
            revenue = sum(price * qty for _, _, _, price, qty in items) + 4.9
            self._conversion(
                idsite,
                idvisitor,
                idvisit,
                last_link,
                t,
                0,
                self.orders,
                order,
                revenue,
                ref_type,
                ref_name,
                ref_kw,
                len(items),
            )
            for sku, name, category, price, qty in items:
                self._row(
                    "log_conversion_item", (idsite, idvisitor, t, idvisit, order, sku, name, category, price, qty, 0)
                )
            goals += 1
        elif rng.random() < 0.05:
            sku, name, category = self.action("SKU-9", 5), self.action("Shoe 9", 6), self.action("Shoes", 7)
            self._conversion(idsite, idvisitor, idvisit, last_link, t, -1, 0, None, 30.0, ref_type, ref_name, ref_kw, 1)
            self._row("log_conversion_item", (idsite, idvisitor, t, idvisit, "0", sku, name, category, 30.0, 1, 0))
        user_id = f"user{rng.randint(1, 50)}@example.com" if rng.random() < 0.1 else None
        self._row(
            "log_visit",
            (
                idvisit,
                idsite,
                idvisitor,
                last,
                rng.randbytes(8).hex(),
                rng.randbytes(4).hex(),
                _n(user_id),
                start,
                int(goals > 0),
                total_actions,
                int((last - start).total_seconds()),
                ref_type,
                _n(ref_name or None),
                _n(ref_kw or None),
                _n(ref_url or None),
                rng.choice(("CH", "FF", "SF", "PS")),
                rng.choice(("WIN", "MAC", "AND", "IOS")),
                rng.choice((0, 1, 2)),
                "1920x1080",
                rng.choice(("de", "us", "fr")),
                _n(entry[0]),
                _n(entry[1]),
                _n(exit_[0]),
                _n(exit_[1]),
            ),
        )

    def _conversion(
        self,
        idsite: int,
        idvisitor: str,
        idvisit: int,
        idlink: int,
        at: datetime,
        idgoal: int,
        buster: int,
        order: str | None,
        revenue: float,
        ref_type: int,
        ref_name: str,
        ref_kw: str,
        items: int | None = None,
    ) -> None:
        self._row(
            "log_conversion",
            (
                idvisit,
                idsite,
                idvisitor,
                at,
                idlink,
                idgoal,
                buster,
                _n(order),
                _n(items),
                "https://shop.example/",
                revenue,
                _n(items and revenue - 4.9),
                _n(items and 1.0),
                _n(items and 3.9),
                _n(items and 0.0),
                ref_type,
                _n(ref_name or None),
                _n(ref_kw or None),
            ),
        )

    COLUMNS = {
        "log_action": "(idaction, name, type, url_prefix)",
        "log_link_visit_action": (
            "(idlink_va, idsite, @idvisitor, idvisit, idaction_url, idaction_name, idpageview, server_time, "
            "idaction_event_category, idaction_event_action, custom_float, search_cat, search_count, "
            "idaction_content_name, idaction_content_piece, idaction_content_target, idaction_content_interaction, "
            "idaction_product_sku, idaction_product_name, idaction_product_cat, product_price, time_network, "
            "time_server, time_transfer, time_dom_processing, time_dom_completion, time_on_load) "
            "SET idvisitor = UNHEX(@idvisitor)"
        ),
        "log_visit": (
            "(idvisit, idsite, @idvisitor, visit_last_action_time, @config_id, @location_ip, user_id, "
            "visit_first_action_time, visit_goal_converted, visit_total_actions, visit_total_time, referer_type, "
            "referer_name, referer_keyword, referer_url, config_browser_name, config_os, config_device_type, "
            "config_resolution, location_country, visit_entry_idaction_url, visit_entry_idaction_name, "
            "visit_exit_idaction_url, visit_exit_idaction_name) "
            "SET idvisitor = UNHEX(@idvisitor), config_id = UNHEX(@config_id), location_ip = UNHEX(@location_ip)"
        ),
        "log_conversion": (
            "(idvisit, idsite, @idvisitor, server_time, idlink_va, idgoal, buster, idorder, items, url, revenue, "
            "revenue_subtotal, revenue_tax, revenue_shipping, revenue_discount, referer_type, referer_name, "
            "referer_keyword) SET idvisitor = UNHEX(@idvisitor)"
        ),
        "log_conversion_item": (
            "(idsite, @idvisitor, server_time, idvisit, idorder, idaction_sku, idaction_name, idaction_category, "
            "price, quantity, deleted) SET idvisitor = UNHEX(@idvisitor), idaction_category2 = 0, "
            "idaction_category3 = 0, idaction_category4 = 0, idaction_category5 = 0"
        ),
    }

    def flush(self) -> None:
        with tempfile.TemporaryDirectory() as folder, self.conn.cursor() as cursor:
            for table in ("log_action", "log_visit", "log_link_visit_action", "log_conversion", "log_conversion_item"):
                rows = self.pending.pop(table, [])
                if not rows:
                    continue
                path = Path(folder) / f"{table}.tsv"
                with open(path, "w", encoding="utf-8") as handle:
                    for row in rows:
                        handle.write("\t".join(_tsv(v) for v in row) + "\n")
                cursor.execute(
                    f"LOAD DATA LOCAL INFILE '{path}' INTO TABLE {self.prefix}{table} "
                    f"CHARACTER SET utf8mb4 {self.COLUMNS[table]}"
                )


def _n(value: Any) -> Any:
    return "\\N" if value is None else value


def _tsv(value: Any) -> str:
    if value == "\\N":
        return "\\N"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    return str(value).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")


def fill(
    server: MariaDB, database: str, visits: int, seed: int = 7, prefix: str = "matomo_", now: datetime | None = None
) -> Generator:
    """A Matomo database with `visits` generated visits (about 3 actions each)."""
    conn = server.connect()
    create_schema(conn, database, prefix)
    generator = Generator(conn, prefix, seed)
    if now is not None:
        generator.now = now
    generator.sites()
    generator.visits(visits)
    conn.close()
    return generator
