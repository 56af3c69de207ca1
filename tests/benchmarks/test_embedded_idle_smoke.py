"""A tiny run of ``python -m benchmarks.embedded_idle``: every scenario completes and its CPU and wall
figures are filled in. No timing assertion."""
from __future__ import annotations

from benchmarks import embedded_idle


def test_embedded_idle_runs_every_scenario(capsys):
    rows = embedded_idle.main(["--event-wait", "0.3", "--delay", "0.3"])
    assert [r["scenario"] for r in rows] == ["baseline", "event_wait", "delay", "wait-delay"]
    for r in rows:
        assert r["rc"] == 0, r
        assert r["wall_s"] > 0 and r["cpu_s"] >= 0
    assert "wait % core" in capsys.readouterr().out
