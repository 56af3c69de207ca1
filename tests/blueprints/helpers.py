"""Shared helpers for the blueprint tests: a small valid blueprint and exact-position assertions."""
from __future__ import annotations

from pathlib import Path

from goflow.loading import LoadResult, load_paths, load_text
from goflow.problems import Problem

# The verbatim seed (SPEC §2: the flow with its trailing comma, and its workers), shipped as test data.
SEED = Path(__file__).resolve().parent / "data" / "seed"
SEED_FILES = ("inquiry.flow.json", "inquiry.workers.json")

# A minimal valid combined blueprint, one item per line so that each test can change one thing.
BASE = """\
{
  "project": "shop",
  "activity": "order",
  "states": ["pay"],
  "actions": [{"name": "pay", "type": "sync"}],
  "transitions": [
    {"current": "init", "event": "start", "action": "pay", "next": "pay"},
    {"current": "pay", "event": "success", "action": "continue", "next": "done"},
    {"current": "pay", "event": "error", "action": "continue", "next": "done"}
  ],
  "workers": [
    {"name": "pay", "workerEndpoint": "python://shop:pay", "retryCount": 1, "responseTimeout": 2, "priority": 1}
  ]
}
"""

# The same blueprint in YAML.
BASE_YAML = """\
project: shop
activity: order
states: [pay]
actions:
  - {name: pay, type: sync}
transitions:
  - {current: init, event: start, action: pay, next: pay}
  - {current: pay, event: success, action: continue, next: done}
  - {current: pay, event: error, action: continue, next: done}
workers:
  - name: pay
    workerEndpoint: python://shop:pay
    retryCount: 1
    responseTimeout: 2
    priority: 1
"""

BASE_WORKERS = """\
{
  "project": "shop",
  "activity": "order",
  "workers": [
    {"name": "pay", "workerEndpoint": "python://shop:pay", "retryCount": 1, "responseTimeout": 2, "priority": 1}
  ]
}
"""


def edit(old: str, new: str, text: str = BASE) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new`` (fails if not exactly one)."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def locate(text: str, needle: str, nth: int = 1) -> tuple[int, int]:
    """1-based (line, column) of the ``nth`` occurrence of ``needle`` in ``text``: an independent oracle."""
    at = -1
    for _ in range(nth):
        at = text.index(needle, at + 1)
    line = text.count("\n", 0, at) + 1
    return line, at - (text.rfind("\n", 0, at) + 1) + 1


def load(text: str, file: str = "bp.json", strict: bool = False) -> LoadResult:
    return load_text(text, file, strict=strict)


def single(result: LoadResult) -> Problem:
    """The one problem of ``result`` (fails, listing them, if there are more or none)."""
    assert len(result.problems) == 1, "\n".join(map(str, result.problems))
    return result.problems[0]


def of_rule(result: LoadResult, rule: str) -> list[Problem]:
    return [p for p in result.problems if p.rule == rule]


def at(p: Problem) -> tuple:
    return (p.level, p.rule, p.path, p.line, p.column)


def write(dir: Path, name: str, text: str) -> Path:
    path = dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def load_files(*paths, strict: bool = False) -> LoadResult:
    return load_paths(list(paths), strict=strict)
