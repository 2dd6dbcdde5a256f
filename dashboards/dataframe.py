"""Any panel as a pandas DataFrame, for analysts in notebooks.

    from dashboards import frame
    frame("top_pages", site="demo", period="30d", url="http://localhost:8000", token="wat_…")
    frame("overview", site="demo", dsn="http://clickhouse:8123")      # straight from a ClickHouse server

With `url` the numbers come from a running collector's JSON API (the usual case: the embedded engine
lets one process hold its folder, and that is the collector). Without it the panel runs here, through
the same query layer (`run_panel`), on the ClickHouse of the environment's settings or of `dsn`.
Either way the rows pass through the API's JSON conversion, so a DataFrame, the JSON and the CSV
hold the same values.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from collector.core.client import CollectorUnreachable, call
from collector.core.settings import Settings
from collector.core.sites import load_sites
from dashboards.errors import BadQuery, Unauthorized
from dashboards.export import as_document, as_frame
from dashboards.queries import panel_named, parse_query, run_panel, view_available
from ingest_schema.storage import Storage, StorageError, folder_is_held

API_PATH = "/dashboard/api/v1/"


def frame(
    panel: str,
    *,
    site: str,
    url: str | None = None,
    token: str | None = None,
    dsn: str | None = None,
    database: str | None = None,
    **params: Any,
) -> Any:
    """A `pandas.DataFrame` of one panel: `params` are the API's query parameters (period, from, to,
    limit, filters such as country="DE", panel options such as page="/pricing")."""
    chosen = panel_named(panel)
    raw = {"site": site, **{k: str(v) for k, v in params.items() if v is not None}}
    if url is not None:
        return as_frame(chosen, _from_api(url, token, panel, raw))
    settings = Settings.from_env()
    target = dsn or settings.clickhouse_dsn
    if folder_is_held(target):
        raise Unauthorized(
            "a running collector holds the embedded ClickHouse folder: call frame(..., url=<collector URL>, "
            "token=<API token from /dashboard/tokens>)"
        )
    registry = load_sites(settings.sites_file, settings.public_url)
    known = registry.get(site)
    if known is None:
        raise BadQuery(f"unknown site {site[:40]!r}")
    own = dsn is None  # the configured DSN comes with the configured credentials
    storage = Storage(
        target,
        database or settings.database,
        workers=1,
        user=settings.clickhouse_user if own else "",
        password=settings.clickhouse_password if own else "",
    )
    try:
        return frame_from_storage(storage, panel, known.timezone, raw)
    finally:
        storage.close()


def frame_from_storage(storage: Storage, panel: str, timezone: str, raw: dict[str, str]) -> Any:
    """A panel's DataFrame from an open `Storage` (blocking), through the API's own conversion."""
    chosen = panel_named(panel)
    query = parse_query(chosen, raw, timezone)
    result = run_panel(storage, chosen, query, view_available(storage))
    return as_frame(chosen, as_document(chosen, query, result)["rows"])


def _from_api(url: str, token: str | None, panel: str, raw: dict[str, str]) -> list[dict[str, Any]]:
    """Rows of the JSON API (a plain HTTP call: a notebook needs no event loop for this)."""
    if not token:
        raise Unauthorized("token is required with url (create one on /dashboard/tokens)")
    try:
        document = call(url, f"{API_PATH}{panel}?{urlencode(raw)}", token)
    except CollectorUnreachable as exc:
        detail = exc.body[:200].decode(errors="replace")
        if exc.status == 401:
            raise Unauthorized(f"the collector refused the token: {detail}") from exc
        if 0 < exc.status < 500:
            raise BadQuery(f"the collector refused the query ({exc.status}): {detail}") from exc
        raise StorageError(
            str(exc) if not exc.status else f"the collector could not answer ({exc.status}): {detail}"
        ) from exc
    rows: list[dict[str, Any]] = document["rows"]
    return rows
