"""The wheel the Docker image installs carries the dashboards' and the collector's data files."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any


def test_dashboard_package_ships_its_templates_and_scripts(tmp_path: Any) -> None:
    """A wheel (as `pip install .` in the Docker image builds) carries every page template and script."""
    root = Path(__file__).resolve().parents[1]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(root)],
        check=True,
        cwd=tmp_path,
    )
    names = set(zipfile.ZipFile(next(tmp_path.glob("*.whl"))).namelist())
    wanted = [
        f"dashboards/{p.relative_to(root / 'dashboards')}"
        for p in (root / "dashboards").rglob("*")
        if p.suffix in (".html", ".js", ".css")
    ]
    wanted += [f"collector/static/{p.name}" for p in (root / "collector" / "static").glob("*.js")]
    assert wanted and not [name for name in wanted if name not in names]
