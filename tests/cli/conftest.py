"""Fixtures for the ``goflow`` command tests: the seed, fixed copies of it, a click runner."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = REPO / "goflow" / "examples"
SEED_FILES = ("inquiry.flow.json", "inquiry.workers.json")
# The seed's one defect: the comma after the last transition, line 59 column 2 of the flow.
TRAILING_COMMA_LINE = 59


def _seed_dir() -> Path:
    override = os.environ.get("GOFLOW_SEED_DIR")
    if override:
        return Path(override)
    return REPO / "tests" / "blueprints" / "data" / "seed"     # shipped with the tests


@pytest.fixture
def seed_dir() -> Path:
    """The verbatim seed (trailing comma included); a missing file is a failure, not a skip."""
    d = _seed_dir()
    missing = [f for f in SEED_FILES if not (d / f).is_file()]
    if missing:
        pytest.fail(f"verbatim seed not found at {d}: {', '.join(missing)} missing")
    return d


@pytest.fixture
def seed_paths(seed_dir: Path) -> list[str]:
    return [str(seed_dir / f) for f in SEED_FILES]


def _copy_fixed(source: Path, dest: Path) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    for f in SEED_FILES:
        shutil.copy(source / f, dest / f)
    flow = dest / SEED_FILES[0]
    lines = flow.read_text(encoding="utf-8").split("\n")
    if lines[TRAILING_COMMA_LINE - 1] == "},":
        lines[TRAILING_COMMA_LINE - 1] = "}"
    flow.write_text("\n".join(lines), encoding="utf-8")
    return [str(dest / f) for f in SEED_FILES]


@pytest.fixture
def fixed_seed_paths(seed_dir: Path, tmp_path: Path) -> list[str]:
    """A copy of the shared seed in tmp_path with the trailing comma removed, nothing else changed."""
    return _copy_fixed(seed_dir, tmp_path / "fixed")


@pytest.fixture
def example_paths() -> list[str]:
    """The bundled example (the fixed seed) inside the package."""
    return [str(EXAMPLES / f) for f in SEED_FILES]


@pytest.fixture
def broken_example_paths(tmp_path: Path) -> list[str]:
    """The bundled example with the seed's trailing comma put back: the verbatim seed, rebuilt from
    the repository alone (so the syntax-error case runs where the shared seed is absent)."""
    dest = tmp_path / "broken"
    dest.mkdir()
    for f in SEED_FILES:
        shutil.copy(EXAMPLES / f, dest / f)
    flow = dest / SEED_FILES[0]
    lines = flow.read_text(encoding="utf-8").split("\n")
    assert lines[TRAILING_COMMA_LINE - 1] == "}", "the bundled example changed; update this fixture"
    lines[TRAILING_COMMA_LINE - 1] = "},"
    flow.write_text("\n".join(lines), encoding="utf-8")
    return [str(dest / f) for f in SEED_FILES]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()
