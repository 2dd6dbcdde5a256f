"""`./run` and `./test` skip the install when nothing it depends on changed. scripts/install.sh runs for real
in a copy of the project; pip, npm and node are stand-ins on PATH that record their calls and leave what the
real ones would (a real install downloads hundreds of MB and `npm ci` would wipe the shared node_modules)."""

from __future__ import annotations

import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest

from tests.support.collector import ROOT

COPIED = [
    "scripts/install.sh",
    "scripts/build_beacon.mjs",
    "pyproject.toml",
    "package.json",
    "package-lock.json",
    *[str(p.relative_to(ROOT)) for p in (ROOT / "collector" / "static").glob("*.js")],
]

PYTHON_STANDIN = """#!/bin/bash
echo "python $*" >> "$CALLS"
if [ "$1" = "--version" ]; then echo "Python 3.11.2"; fi
if [ "$1 $2" = "-m venv" ]; then mkdir -p "$3/bin" && cp "$0" "$3/bin/python"; fi
exit 0
"""
NPM_STANDIN = """#!/bin/bash
echo "npm $*" >> "$CALLS"
mkdir -p node_modules && touch node_modules/.package-lock.json
"""
NODE_STANDIN = """#!/bin/bash
echo "node $*" >> "$CALLS"
mkdir -p collector/static/dist && touch collector/static/dist/beacon.min.js collector/static/dist/banner.min.js
"""


def executable(path: Path, text: str) -> None:
    path.write_text(text)
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name in COPIED:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, root / name)
    tools = tmp_path / "tools"
    tools.mkdir()
    executable(tools / "python3", PYTHON_STANDIN)
    executable(tools / "npm", NPM_STANDIN)
    executable(tools / "node", NODE_STANDIN)
    executable(tools / "chromium", "#!/bin/bash\n")  # present: the install must not reach for apt-get
    return root


def install(project: Path, *args: str, **env: str) -> tuple[list[str], str, float]:
    """Run scripts/install.sh: the tool calls it made, its output and how long it took."""
    calls = project.parent / "calls.log"
    calls.write_text("")
    started = time.monotonic()
    result = subprocess.run(
        ["bash", "scripts/install.sh", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": f"{project.parent / 'tools'}:/usr/bin:/bin", "CALLS": str(calls), **env},
    )
    elapsed = time.monotonic() - started
    assert result.returncode == 0, result.stderr
    return (
        [
            line.split(" ", 2)[0] + " " + line.split(" ", 2)[1]
            for line in calls.read_text().splitlines()
            if line.split()[0] != "python" or line.split()[1] != "--version"
        ],
        result.stdout,
        elapsed,
    )


def installs(calls: list[str]) -> bool:
    return "python -m" in calls and "npm ci" in calls and "node scripts/build_beacon.mjs" in calls


def test_first_minutes_second_run_skips_the_install(project: Path) -> None:
    first, _, _ = install(project)
    assert installs(first)
    second, output, seconds = install(project)
    assert second == [] and "nothing changed" in output
    print(f"skipped install took {seconds * 1000:.0f} ms")


@pytest.mark.parametrize(
    "change", ["pyproject.toml", "package-lock.json", "collector/static/beacon.js", "scripts/build_beacon.mjs"]
)
def test_first_minutes_a_changed_input_installs_again(project: Path, change: str) -> None:
    assert installs(install(project)[0])
    with open(project / change, "a") as handle:
        handle.write("\n")
    assert installs(install(project)[0])
    assert install(project)[0] == []


def test_first_minutes_missing_artefacts_or_force_install_again(project: Path) -> None:
    install(project)
    (project / "collector" / "static" / "dist" / "banner.min.js").unlink()
    assert installs(install(project)[0])
    (project / "node_modules" / ".package-lock.json").unlink()
    assert installs(install(project)[0])
    assert installs(install(project, INSTALL_FORCE="1")[0])


def test_first_minutes_test_install_serves_run_but_not_the_reverse(project: Path) -> None:
    install(project)
    test_calls = install(project, "--test")[0]
    assert installs(test_calls)  # ./run installed no test tools
    assert install(project, "--test")[0] == []
    assert install(project)[0] == []  # everything ./run needs came with the test install
