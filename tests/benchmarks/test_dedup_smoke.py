"""A tiny run of ``python -m benchmarks.dedup``: the harness's correctness only (every event applied,
the first id sent again is a duplicate, ids are stored only in the run with ids). No timing assertion."""
from __future__ import annotations

from benchmarks import dedup


def test_a_small_run_applies_every_event_and_finds_the_first_id_again():
    with_ids = dedup.run(600, 7, True, 100)
    without = dedup.run(600, 7, False, 100)
    assert (with_ids["first_id_duplicate"], with_ids["first_id_stored"]) == (True, True)
    assert (without["first_id_duplicate"], without["first_id_stored"]) == (None, False)
    assert with_ids["events"] == without["events"] == 600


def test_main_prints_both_runs(capsys, tmp_path):
    assert dedup.main(["--events", "300", "--sample", "50", "--json", str(tmp_path / "r.json")]) == 0
    out = capsys.readouterr().out
    assert "with ids" in out and "without ids" in out and "duplicate=True" in out
    assert (tmp_path / "r.json").exists()
