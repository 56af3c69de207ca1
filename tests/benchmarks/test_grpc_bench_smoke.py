"""A tiny run of ``python -m benchmarks.grpc_bench``: the harness's correctness only (every contender
completed with every call counted by its server, the events rows are there, nothing left behind). No
timing assertion."""
from __future__ import annotations

import glob
import json
import os
import subprocess
import sys

from benchmarks._common import alive

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_grpc_bench_every_row_completes(tmp_path):
    out = tmp_path / "results"
    proc = subprocess.run([sys.executable, "-m", "benchmarks.grpc_bench", "--instances", "20", "--concurrency", "8",
                           "--events", "30", "--event-concurrency", "5", "--timeout", "120",
                           "--results-dir", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=400,
                          stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (path,) = glob.glob(str(out / "grpc-*.json"))
    with open(path) as f:
        doc = json.load(f)
    assert [r["contender"] for r in doc["workflows"]] == ["limit-grpc", "goflow-daemon-grpc", "limit-aiohttp",
                                                         "goflow-daemon"]
    for r in doc["workflows"]:
        assert r["ok"], (r.get("error"), r.get("traceback"), r.get("log"))
        assert r["workflows"] == r["expected"] == 20
        assert r["calls_served"] == r["calls_expected"] == (20 + 20) * 3    # warm-up + measured, 3 steps
        assert not alive(r.get("daemon_pids") or [])
    assert [r["api"] for r in doc["events"]] == ["grpc-api", "http-api"]
    assert all(r["errors"] == 0 and r["events"] == 30 for r in doc["events"])
    assert "goflow-daemon-grpc" in proc.stdout and "grpc-api" in proc.stdout
