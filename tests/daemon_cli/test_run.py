"""``goflow run``: one-shot embedded runs of the bundled example and of test blueprints."""
from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path

from cli_support import FAILING_FLOW, IDLE_FLOW, goflow, one_line_error


def test_run_defaults_to_the_bundled_example():
    proc = goflow("run")
    assert proc.returncode == 0, proc.stderr
    assert "1 instance(s) of goflow/inquiry_local@1" in proc.stdout
    assert "completed  in state done" in proc.stdout and "ok: all 1 instance(s) completed" in proc.stdout
    assert "\r" not in proc.stderr                  # no progress bar when stderr is not a terminal


def test_run_n_instances_json(tmp_path):
    proc = goflow("run", "goflow/examples/runnable", "--instances", "50", "--input", '{"customer": 1}',
                  "--concurrency", "8", "--data", str(tmp_path / "data"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["ok"] and out["completed"] == 50 and out["by_status"] == {"completed": 50}
    assert out["groups"] == [{"status": "completed", "state": "done", "instances": 50, "reason": None}]
    assert (tmp_path / "data" / "shards").is_dir()     # --data keeps the instances


def test_run_failing_instances_exit_1(tmp_path):
    bp = tmp_path / "failing.json"
    bp.write_text(json.dumps(FAILING_FLOW))
    proc = goflow("run", str(bp), "-n", "3")
    assert proc.returncode == 1, proc.stderr
    assert "3 failed     in state working" in proc.stdout
    assert "failed: 3 of 3 instance(s) did not complete" in proc.stdout


def test_run_settles_on_idle_instances(tmp_path):
    bp = tmp_path / "idle.json"
    bp.write_text(json.dumps(IDLE_FLOW))
    proc = goflow("run", str(bp), "-n", "2", "--json", "--timeout", "20")
    assert proc.returncode == 1, proc.stderr
    out = json.loads(proc.stdout)
    assert not out["timed_out"] and out["by_status"] == {"waiting": 2}
    assert out["groups"][0]["state"] == "waiting_for_go"


def test_run_seed_example_several_blueprints_need_a_choice():
    proc = goflow("run", "goflow/examples")
    assert proc.returncode == 2 and "--blueprint" in proc.stderr


def test_run_bad_input():
    assert "--input: not valid JSON" in one_line_error(goflow("run", "--input", "{nope"))
    proc = goflow("run", "README.md")            # each problem on its own line, then one Error line
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.splitlines()[-1] == \
        "Error: the blueprints in README.md did not load (1 error, listed above); nothing was run"


def test_console_script_runs_the_example():
    script = Path(sys.executable).with_name("goflow")
    if not script.exists():
        script = shutil.which("goflow")
    assert script, "the goflow console script is not installed"
    import subprocess
    env = {k: v for k, v in os.environ.items() if not k.startswith("GOFLOW_")}
    proc = subprocess.run([str(script), "run"], capture_output=True, text=True, env=env, timeout=60,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0 and "ok: all 1 instance(s) completed" in proc.stdout, proc.stderr
    assert "run" in subprocess.run([str(script), "--help"], capture_output=True, text=True).stdout
