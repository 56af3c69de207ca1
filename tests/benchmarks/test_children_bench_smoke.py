"""A tiny run of ``python -m benchmarks.children``: both rows complete every child and make one worker
call per child (the harness's correctness only; no timing assertion)."""
from __future__ import annotations

import json

from benchmarks import children


def test_both_scenarios_complete_every_child(tmp_path, capsys):
    out = tmp_path / "rows.json"
    assert children.main(["--parents", "2", "--children", "15", "--json", str(out)]) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["scenario"], r["children"], r["completed"], r["worker_calls"]) for r in rows] == [
        ("fan-out", 30, 30, 30), ("top-level", 30, 30, 30)]
    assert "fan-out / top-level" in capsys.readouterr().out


def test_the_parent_flow_fans_out_over_its_list():
    action = children.parent_flow()["actions"][0]
    assert (action["type"], action["blueprint"], action["forEach"]) == ("workflow", "bench/child", "xs")
