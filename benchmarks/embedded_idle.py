"""CPU of an embedded engine that has nothing to do but wait (issue 16: "embedded idle").

    python -m benchmarks.embedded_idle [--event-wait 10] [--delay 5]

Runs ``goflow run`` (the embedded engine as a user runs it, start-up included) in a fresh process on
two one-instance blueprints, and reports the CPU time (user + system, every thread, from
``os.wait4``'s rusage) the process used against its wall time:

* **event-wait**: an ``async`` action (a local ``python://`` worker accepts the call) whose outcome
  never comes: the instance waits ``--event-wait`` seconds for the event, then the action's timeout
  ends it in ``done``.
* **delay**: a ``continue`` into ``done`` after a ``delay`` of ``--delay`` seconds (a durable timer).
* **wait-delay**: the delay blueprint in this process, as a program embedding the engine runs it:
  ``engine.start`` then ``engine.wait``; CPU from ``time.process_time()`` across the two (no start-up).

``% of a core`` = CPU seconds / wall seconds of the whole run (start-up included, as a user sees it).
A baseline run (the event wait with a 0.1 s timeout) gives the start-up's cost; ``wait CPU`` and
``wait % core`` are a scenario's CPU and wall time minus the baseline's: the cost of the wait alone.
The target (issue 16) is <= 2 % of a core for the event wait.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

__all__ = ["main", "event_wait_flow", "delay_flow", "measure"]

WORKER = "python://goflow.examples.workers:get_product"
BASE = 0.1      # seconds the baseline run waits: its CPU is start-up and shutdown


def event_wait_flow(seconds: float) -> dict:
    return {"project": "bench", "activity": "event_wait", "states": ["waiting"],
            "actions": [{"name": "ask", "type": "async", "timeout": seconds}],
            "transitions": [
                {"current": "init", "event": "start", "action": "ask", "next": "waiting"},
                {"current": "waiting", "event": "success", "action": "continue", "next": "done"},
                {"current": "waiting", "event": "timeout", "action": "continue", "next": "done"},
                {"current": "waiting", "event": "error", "action": "continue", "next": "done"},
            ],
            "workers": [{"name": "ask", "workerEndpoint": WORKER, "retryCount": 0, "responseTimeout": 5,
                         "priority": 1}]}


def delay_flow(seconds: float) -> dict:
    return {"project": "bench", "activity": "delay", "states": [], "actions": [],
            "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "done",
                             "delay": seconds}],
            "workers": []}


def measure(blueprint: dict, workdir: str) -> dict:
    """Run ``goflow run`` on ``blueprint``; its wall time, CPU time and summary."""
    path = os.path.join(workdir, f"{blueprint['activity']}.json")
    with open(path, "w") as f:
        json.dump(blueprint, f)
    cmd = [sys.executable, "-m", "actors.cli", "run", path, "--json", "--timeout", "120"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate()
    wall = time.perf_counter() - t0
    return {"scenario": blueprint["activity"], "rc": proc.returncode, "wall_s": round(wall, 3),
            "stdout": out.strip()[-400:], "stderr": err.strip()[-400:]}


def _run_one(blueprint: dict, workdir: str) -> dict:
    """:func:`measure` plus the child's CPU: communicate() reaped it, so its rusage is in
    RUSAGE_CHILDREN (one child at a time here)."""
    import resource
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    row = measure(blueprint, workdir)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    row["cpu_s"] = round(cpu, 3)
    row["core_pct"] = round(100 * cpu / row["wall_s"], 2) if row["wall_s"] else None
    return row


def _wait_in_process(blueprint: dict) -> dict:
    """A program that embeds the engine: start one instance, ``engine.wait`` for it; this process's
    CPU time (every thread) across the start and the wait."""
    from actors import Engine
    with tempfile.TemporaryDirectory(prefix="goflow-idle-") as data, \
            Engine.embedded(data, blueprints=[blueprint]) as engine:
        t0, c0 = time.perf_counter(), time.process_time()
        iid = engine.start(f"{blueprint['project']}/{blueprint['activity']}")
        status = engine.wait(iid, timeout=120)["status"]
        wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"scenario": "wait-delay", "rc": 0 if status == "completed" else 1, "wall_s": round(wall, 3),
            "cpu_s": round(cpu, 3), "core_pct": round(100 * cpu / wall, 2), "stdout": status, "stderr": ""}


def _num(value) -> str:
    return "" if value is None else f"{value:.2f}"


def main(argv=None) -> list[dict]:
    ap = argparse.ArgumentParser(prog="python -m benchmarks.embedded_idle", description=__doc__.split("\n")[0])
    ap.add_argument("--event-wait", type=float, default=10.0, help="seconds the instance waits for its event")
    ap.add_argument("--delay", type=float, default=5.0, help="seconds of the delay scenario")
    args = ap.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory(prefix="goflow-idle-") as work:
        base = _run_one(dict(event_wait_flow(BASE), activity="baseline"), work)
        rows.append(base)
        for bp in (event_wait_flow(args.event_wait), delay_flow(args.delay)):
            row = _run_one(bp, work)
            # the wait alone: this run minus the baseline run (the same start-up with a BASE s wait)
            span = row["wall_s"] - base["wall_s"]
            extra = row["cpu_s"] - base["cpu_s"]
            row["wait_cpu_s"] = round(extra, 3)
            row["wait_core_pct"] = round(100 * extra / span, 2) if span > 0 else None
            rows.append(row)
    rows.append(_wait_in_process(delay_flow(args.delay)))
    print(f"{'scenario':<12} {'rc':>3} {'wall s':>8} {'CPU s':>8} {'% core':>8} {'wait CPU s':>11} {'wait % core':>12}")
    for r in rows:
        print(f"{r['scenario']:<12} {r['rc']:>3} {r['wall_s']:>8.2f} {r['cpu_s']:>8.2f} {r['core_pct']:>8.2f} "
              f"{_num(r.get('wait_cpu_s')):>11} {_num(r.get('wait_core_pct')):>12}")
        if r["rc"] != 0:
            print("   ", r["stdout"], r["stderr"])
    return rows


if __name__ == "__main__":
    main()
