"""A tiny run of ``python -m benchmarks.ack_breakdown``: every row printed with its figures, the
daemon stopped. No timing assertion."""
from __future__ import annotations

import os
import subprocess
import sys

from benchmarks._common import alive

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ROWS = ("raw unix round trip", "raw tcp round trip", "Shard.handle (in-process)", "status via dispatcher",
        "send via dispatcher", "status direct", "send direct")


def test_every_hop_is_measured_and_the_daemon_stopped():
    proc = subprocess.run([sys.executable, "-m", "benchmarks.ack_breakdown", "--n", "20"], cwd=ROOT,
                          capture_output=True, text=True, timeout=240, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    for name in ROWS:
        [line] = [ln for ln in lines if ln.startswith(name)]
        p50, p99, client = (float(x) for x in line[len(name):].split()[:3])
        assert 0 < p50 <= p99 and client >= 0, line
    pids = [int(p) for p in lines[-1].split(":", 1)[1].split()]
    assert len(pids) >= 5 and not alive(pids)
