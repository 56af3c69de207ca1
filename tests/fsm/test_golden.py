"""Golden histories (Temporal's replay-test idea): each directory of ``golden/`` holds a blueprint, an
event script and the expected result; the script is replayed through ``goflow.fsm.react`` (via
``goflow.testing.FlowDriver`` on a ``ManualClock(0)``) and compared record by record.

``expected.json``: ``history`` (every record, as an engine stores it, worker attempts aside),
``turns`` (per script entry: the commands given, the error class of a refusal, the duplicate flag)
and ``final`` (the instance). Regenerate after an intended semantic change, then review the diff::

    GOFLOW_GOLDEN_UPDATE=1 python -m pytest -q tests/fsm/test_golden.py && git diff tests/fsm/golden
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from goflow.loading import blueprint_from_document
from goflow.testing import FlowDriver, ManualClock, command_dict

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("GOFLOW_GOLDEN_UPDATE") == "1"
CASES = sorted(p.name for p in GOLDEN.iterdir() if (p / "script.json").is_file())

# what the cases must cover between them (a record outcome or a command seen in some case)
COVERED = {"accepted", "delay-elapsed", "hook-ok", "hook-failed", "duplicate", "stale", "queued", "paused",
           "resumed", "terminated", "failed", "completed", "refused", "StartTimer", "CancelTimer",
           "EventRefused", "InstanceFinished",
           # SPEC §8
           "postponed", "dropped", "cancelling", "retried", "rewound", "WrongStatus", "NotVisited"}


def plain(value):
    """JSON-like data: dataclasses as ``{"type": name, ...fields}``, tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {"type": type(value).__name__,
                **{f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    return value


def replay(case: str) -> dict:
    root = GOLDEN / case
    bp = blueprint_from_document(json.loads((root / "blueprint.json").read_text()),
                                 file=str(root / "blueprint.json"))
    script = json.loads((root / "script.json").read_text())
    inp = script.pop(0)["input"] if script and "input" in script[0] else None
    driver = FlowDriver(bp, inp, instance_id=case, clock=ManualClock(0.0))
    turns = driver.run(script)
    result = {
        "history": [r.to_dict() for r in driver.history],
        "turns": [{"entry": t.entry, "commands": [command_dict(c) for c in t.commands],
                   "error": type(t.error).__name__ if t.error else None, "duplicate": t.duplicate}
                  for t in turns],
        # the child-workflow fields (SPEC §8) are left out at their defaults: no golden case has children
        "final": {k: v for k, v in plain(driver.instance).items() if k not in ("type", "id")
                  and not (k in ("parent", "notify", "join") and not v)},
    }
    return json.loads(json.dumps(result))       # as it reads back from the file


def write(path: Path, result: dict) -> None:
    lines = ["{"]
    for i, key in enumerate(("history", "turns")):
        lines.append(f' "{key}": [')
        lines.append(",\n".join("  " + json.dumps(item) for item in result[key]))
        lines.append(" ],")
    lines.append(' "final": ' + json.dumps(result["final"]))
    lines.append("}")
    path.write_text("\n".join(lines) + "\n")


@pytest.mark.parametrize("case", CASES)
def test_golden_history(case):
    got = replay(case)
    path = GOLDEN / case / "expected.json"
    if UPDATE:
        write(path, got)
        return
    assert path.is_file(), f"{path.name} missing for {case}: run with GOFLOW_GOLDEN_UPDATE=1 and review it"
    want = json.loads(path.read_text())
    for i, (g, w) in enumerate(zip(got["history"], want["history"])):
        assert g == w, f"{case}: history record {i} differs\n got: {g}\nwant: {w}"
    assert len(got["history"]) == len(want["history"]), (
        f"{case}: {len(got['history'])} history records, expected {len(want['history'])}; "
        f"first extra/missing: {(got['history'] + want['history'])[min(len(got['history']), len(want['history']))]}")
    for i, (g, w) in enumerate(zip(got["turns"], want["turns"])):
        assert g == w, f"{case}: script entry {i} ({w['entry']}) differs\n got: {g}\nwant: {w}"
    assert len(got["turns"]) == len(want["turns"])
    assert got["final"] == want["final"], f"{case}: final instance differs"


def test_golden_cases_cover_the_semantics():
    seen: set = set()
    for case in CASES:
        path = GOLDEN / case / "expected.json"
        if not path.is_file():
            continue
        want = json.loads(path.read_text())
        seen |= {r["outcome"] for r in want["history"]}
        for turn in want["turns"]:
            seen |= {c["command"] for c in turn["commands"]}
            seen.add(turn["error"])
    assert COVERED <= seen, f"no golden case shows {sorted(COVERED - seen)}"
