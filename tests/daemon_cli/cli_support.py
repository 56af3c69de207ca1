"""Helpers for the daemon and runtime command tests: the ``goflow`` command run in subprocesses, as
an operator runs it; free ports; a daemon that is always stopped (kill -9 of any leftover)."""
from __future__ import annotations

from testkit import alive, free_port  # noqa: F401 (re-exported for the tests)

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

__all__ = ["REPO", "RUNNABLE", "IDLE_FLOW", "FAILING_FLOW", "goflow", "free_port", "one_line_error", "alive",
           "wait_gone", "Daemon"]

REPO = Path(__file__).resolve().parents[2]
RUNNABLE = REPO / "goflow" / "examples" / "runnable"

# A blueprint that waits for an outside event: init -start/continue-> waiting -go-> done.
IDLE_FLOW = {
    "project": "test", "activity": "idle",
    "states": ["waiting_for_go"],
    "actions": [],
    "transitions": [
        {"current": "init", "event": "start", "action": "continue", "next": "waiting_for_go"},
        {"current": "waiting_for_go", "event": "go", "action": "continue", "next": "done"},
    ],
    "workers": [],
}
# A blueprint whose only worker cannot be reached (port 9 on loopback: nothing listens): the step's
# outcome is 'error', which no transition handles, so every instance fails.
FAILING_FLOW = {
    "project": "test", "activity": "failing",
    "states": ["working"],
    "actions": [{"name": "work", "type": "sync"}],
    "transitions": [
        {"current": "init", "event": "start", "action": "work", "next": "working"},
        {"current": "working", "event": "success", "action": "continue", "next": "done"},
    ],
    "workers": [{"name": "work", "workerEndpoint": "http://127.0.0.1:9/",
                 "retryCount": 0, "responseTimeout": 2, "priority": 1}],
}


def goflow(*args: str, env: dict | None = None, timeout: float = 60, cwd: Path | None = None):
    """Run ``goflow ARGS`` (``python -m actors.cli``) in a subprocess; return the CompletedProcess."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("GOFLOW_")}
    full_env.update(env or {})
    return subprocess.run([sys.executable, "-m", "actors.cli", *args], capture_output=True, text=True,
                          env=full_env, timeout=timeout, cwd=str(cwd or REPO), stdin=subprocess.DEVNULL)


def one_line_error(proc) -> str:
    """Assert the command failed with exactly one line on stderr, ``Error: ...``; return it."""
    assert proc.returncode != 0, proc
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("Error: "), proc.stderr
    return lines[0]


def wait_gone(pids, timeout: float = 15.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        left = [p for p in pids if alive(p)]
        if not left:
            return []
        time.sleep(0.05)
    return [p for p in pids if alive(p)]


class Daemon:
    """A daemon on a free port and a tmp data dir, driven through the CLI."""

    def __init__(self, data: Path):
        self.data, self.port = data, free_port()
        self.seen: set[int] = set()

    @property
    def env(self) -> dict:
        return {"GOFLOW_DAEMON_PORT": str(self.port), "GOFLOW_ENGINE_DATA_DIR": str(self.data),
                "GOFLOW_ENGINE_SHARDS": "2"}

    def run(self, *args: str, **kw):
        return goflow(*args, env={**self.env, **kw.pop("env", {})}, **kw)

    def start(self, *extra: str):
        proc = self.run("daemon", "start", "--json", *extra)
        if proc.returncode == 0:
            self.seen.update(json.loads(proc.stdout)["pids"].values())
        return proc

    def pids(self) -> dict:
        path = self.data / "daemon.json"
        return json.loads(path.read_text())["pids"] if path.exists() else {}

    def cleanup(self) -> None:
        self.seen.update(self.pids().values())
        if any(alive(p) for p in self.seen):
            self.run("daemon", "stop", timeout=40)
        for pid in wait_gone(self.seen, 5):
            os.kill(pid, signal.SIGKILL)
