"""One real run of the installed ``goflow`` console script (the entry point, not click's runner)."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path


def _goflow_script() -> str:
    beside = Path(sys.executable).parent / "goflow"
    found = str(beside) if beside.is_file() else shutil.which("goflow")
    assert found, ("the `goflow` console script is not installed next to this Python or on PATH; "
                   "install the project first: pip install -e '.[test]'")
    return found


def _run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([_goflow_script(), *args], capture_output=True, text=True, timeout=120)


def test_installed_script_validates_the_example_and_the_broken_seed(example_paths,
                                                                   broken_example_paths):
    ok = _run("validate", *example_paths)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert ok.stdout.count(": warning: ") == 4
    broken = _run("validate", *broken_example_paths)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "inquiry.flow.json:59:2: error:" in broken.stdout
    assert "trailing comma" in broken.stdout.lower()
    usage = _run("validate")
    assert usage.returncode == 2
    version = _run("--version")
    assert version.returncode == 0 and version.stdout.startswith("goflow ")
