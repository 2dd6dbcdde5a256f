"""Helpers shared by test modules, moved out of tests/test_matomo_semantics.py (which uses them too)."""

from __future__ import annotations

from typing import Any

from dashboards.queries import PANELS, parse_query, run_panel
from tests.support.collector import RunningCollector


async def panel_rows(collector: RunningCollector, name: str, site: str = "shop") -> list[dict[str, Any]]:
    """A dashboards panel's rows (the query layer behind the HTML, JSON and CSV answers)."""
    panel = PANELS[name]
    result = await collector.storage.run(run_panel, collector.storage, panel, parse_query(panel, {"site": site}))
    return result.records()
