"""A tiny run of ``python -m benchmarks.queues``: the harness's correctness only (every queued event
held as a row, then applied in order; the snapshot keeps its size). No timing assertion."""
from __future__ import annotations

from benchmarks import queues


def test_a_small_run_queues_every_event_as_a_row_and_applies_them_all():
    for queue in ("inbox", "postponed"):
        r = queues.run(queue, 300, 7, 50)         # run() fails unless all 300 are applied on resume/open
        assert r["queue_rows"] == 300 and r["snapshot_first"] == r["snapshot_last"], r
    control = queues.run("none", 300, 7, 50)
    assert control["queue_rows"] == 0


def test_main_prints_the_three_runs(capsys, tmp_path):
    assert queues.main(["--events", "200", "--sample", "20", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "inbox" in out and "postponed" in out and "none" in out and "queue rows 200" in out
    assert (tmp_path / "r.json").exists()
