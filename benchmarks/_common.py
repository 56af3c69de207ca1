"""Shared pieces of ``benchmarks.throughput``: the blueprints every GoFlow contender runs, the SPEC §4
request bodies the direct clients send, process memory from /proc, percentiles, ports, and cleanup of
daemon processes by pid."""
from __future__ import annotations

import math
import os
import signal
import socket
import time

__all__ = ["STEP_NAMES", "step_names", "http_flow", "continue_flow", "waiting_flow", "request_body",
           "headers", "percentile", "free_port", "proc_mem", "mem_sum", "cpu_seconds", "alive", "reap",
           "write_progress"]

PROJECT = "bench"
STEP_NAMES = ("calculate_balance", "get_product", "calculate_voucher")   # the seed's three actions
TIMEOUT = 10.0


def step_names(steps: int) -> list[str]:
    """The seed's three action names, then ``step_4``, ``step_5``... for longer flows."""
    return [STEP_NAMES[i] if i < len(STEP_NAMES) else f"step_{i + 1}" for i in range(steps)]


def http_flow(url: str, steps: int = 3) -> dict:
    """The seed's calculate_balance -> get_product -> calculate_voucher, made correct: each state
    runs its action on ``start`` (state-enter), moves on with ``continue`` on ``success`` and ends
    in ``done`` on ``error`` (an instance that took an ``error`` branch lacks later outputs in its
    context, which the harness checks)."""
    names = step_names(steps)
    transitions = [{"current": "init", "event": "start", "action": names[0], "next": names[0]}]
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < len(names) else "done"
        if i:
            transitions.append({"current": name, "event": "start", "action": name, "next": name})
        transitions.append({"current": name, "event": "success", "action": "continue", "next": nxt})
        transitions.append({"current": name, "event": "error", "action": "continue", "next": "done"})
    return {"project": PROJECT, "activity": "inquiry", "states": names,
            "actions": [{"name": n, "type": "sync"} for n in names], "transitions": transitions,
            "workers": [{"name": n, "workerEndpoint": f"{url}/{n}", "retryCount": 0,
                         "responseTimeout": TIMEOUT, "priority": 1} for n in names]}


def continue_flow(steps: int = 3) -> dict:
    """``steps`` states chained by ``continue`` only (no worker): ``steps + 1`` transitions each."""
    names = [f"s{i + 1}" for i in range(steps)]
    transitions = [{"current": "init", "event": "start", "action": "continue", "next": names[0]}]
    for i, name in enumerate(names):
        transitions.append({"current": name, "event": "start", "action": "continue",
                            "next": names[i + 1] if i + 1 < len(names) else "done"})
    return {"project": PROJECT, "activity": "chain", "states": names, "actions": [],
            "transitions": transitions, "workers": []}


def waiting_flow() -> dict:
    """``init -start-> waiting`` then ``waiting -go-> done``: instances that wait for an outside event."""
    return {"project": PROJECT, "activity": "idle", "states": ["waiting"], "actions": [],
            "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "waiting"},
                            {"current": "waiting", "event": "go", "action": "continue", "next": "done"}],
            "workers": []}


def request_body(instance: str, action: str, step: int, inp: dict, context: dict) -> dict:
    """The SPEC §4 document GoFlow POSTs for one step."""
    return {"instance": instance, "project": PROJECT, "activity": "inquiry", "version": 1,
            "action": action, "state": action, "step": step, "attempt": 1, "input": inp, "context": context}


def headers(instance: str, step: int) -> dict:
    return {"Content-Type": "application/json", "Accept": "application/json",
            "Idempotency-Key": f"{instance}:{step}"}


def percentile(values, q: float) -> float | None:
    """Nearest-rank percentile (``q`` in 0..100) of ``values``; None for no values."""
    xs = sorted(values)
    if not xs:
        return None
    k = max(0, min(len(xs) - 1, math.ceil(q / 100.0 * len(xs)) - 1))
    return xs[k]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def proc_mem(pid: int | str = "self") -> dict:
    """``{"rss", "hwm", "pss"}`` in bytes from /proc (missing values are 0)."""
    out = {"rss": 0, "hwm": 0, "pss": 0}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    out["rss"] = int(line.split()[1]) * 1024
                elif line.startswith("VmHWM:"):
                    out["hwm"] = int(line.split()[1]) * 1024
        with open(f"/proc/{pid}/smaps_rollup") as f:
            for line in f:
                if line.startswith("Pss:"):
                    out["pss"] = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError):
        pass
    return out


def mem_sum(pids) -> dict:
    total = {"rss": 0, "hwm": 0, "pss": 0}
    for pid in pids:
        for k, v in proc_mem(pid).items():
            total[k] += v
    return total



_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int | str = "self") -> float:
    """CPU time (user + system, every thread) a process has used so far, from /proc (0 if gone).
    Unlike wall time, other processes' load on the machine does not inflate it."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            rest = f.read().rsplit(")", 1)[1].split()
        return (int(rest[11]) + int(rest[12])) / _TICK      # utime, stime (fields 14 and 15)
    except (OSError, ValueError, IndexError):
        return 0.0

def _is_daemon_process(pid: int) -> bool:
    """Only processes of a GoFlow daemon (forked from ``python -m actors.daemon launch``) are reaped."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read()
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return b"actors.daemon" in cmd and state != "Z"


def alive(pids) -> list[int]:
    return [int(p) for p in pids if _is_daemon_process(int(p))]


def reap(pids, wait: float = 10.0) -> dict:
    """Wait up to ``wait`` s for the daemon's processes to exit, then kill -9 the leftovers (by pid,
    daemon processes only). Returns ``{"left": [...], "killed": [...]}``."""
    deadline = time.monotonic() + wait
    left = alive(pids)
    while left and time.monotonic() < deadline:
        time.sleep(0.1)
        left = alive(left)
    killed = []
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except OSError:
            pass
    if killed:
        end = time.monotonic() + 5
        while alive(killed) and time.monotonic() < end:
            time.sleep(0.05)
    return {"left": left, "killed": killed}


def write_progress(path: str | None, done: int) -> None:
    if not path:
        return
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        f.write(str(done))
    os.replace(tmp, path)
