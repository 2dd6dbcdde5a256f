"""docs/configuration.md lists every environment variable the collector reads (the README links to it)."""

from __future__ import annotations

from collector.core.settings import ENVIRONMENT
from tests.support.collector import ROOT


def test_ingest_every_setting_is_documented() -> None:
    documented = (ROOT / "docs" / "configuration.md").read_text()
    missing = [name for name in ENVIRONMENT if f"`{name}`" not in documented]
    assert missing == []
    assert "docs/configuration.md" in (ROOT / "README.md").read_text()
