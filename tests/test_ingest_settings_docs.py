"""The README's configuration table lists every environment variable the collector reads."""

from __future__ import annotations

from collector.core.settings import ENVIRONMENT
from tests.support.collector import ROOT


def test_ingest_every_setting_is_documented_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [name for name in ENVIRONMENT if f"`{name}`" not in readme]
    assert missing == []
