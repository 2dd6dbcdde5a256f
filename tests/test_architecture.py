"""The package layout is a contract: imports point one way (docs/architecture.md).

`lint-imports` (import-linter) checks the layers and sibling cycles declared in pyproject.toml; the
second test plants a cycle in a copy of the tree to show the check can fail.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("collector", "dashboards", "retention", "ingest_schema")


def lint_imports(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    command = [str(Path(sys.executable).with_name("lint-imports")), "--no-cache"]
    return subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, timeout=300)


def test_the_tree_keeps_its_layers_and_has_no_import_cycle() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "0 broken" in result.stdout


def test_a_planted_cycle_or_upward_import_breaks_the_contract(tmp_path: Path) -> None:
    for package in PACKAGES:
        shutil.copytree(ROOT / package, tmp_path / package, ignore=shutil.ignore_patterns("static", "templates"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "collector" / "core" / "errors.py").open("a") as errors:
        errors.write("\nimport collector.core.settings  # planted: settings already imports errors\n")
    with (tmp_path / "dashboards" / "model.py").open("a") as model:
        model.write("\nimport collector.ingest.writer  # planted: dashboards must not reach into ingest\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "2 broken" in result.stdout
