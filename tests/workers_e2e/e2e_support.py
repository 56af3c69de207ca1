"""Blueprint documents (the camelCase DSL, as dicts) for the engine-level worker tests, and helpers
to read an instance's history."""
from __future__ import annotations

import time
from typing import Iterable

PROJECT = "e2e"


def worker(url: str, name: str = "call", *, retry: int = 0, priority: int = 1, timeout: float = 2.0,
           **extra) -> dict:
    """A worker document; zero backoff by default (``retryDelay: 0``) so no test sleeps through one."""
    doc = {"name": name, "workerEndpoint": url, "retryCount": retry, "responseTimeout": timeout,
           "priority": priority, "retryDelay": 0, "jitter": 0}
    doc.update(extra)
    return doc


def one_step(workers: list[dict], *, activity: str = "one", action_type: str = "sync",
             action_timeout: float | None = None, timeout_state: bool = False, events=("approved",),
             hook: list[dict] = ()) -> dict:
    """``init --start/call--> calling``; from ``calling``: ``success`` -> done, ``error`` -> errored,
    each of ``events`` -> a state of that name, and ``timeout`` -> timed_out when ``timeout_state``."""
    action = {"name": "call", "type": action_type}
    if action_timeout is not None:
        action["timeout"] = action_timeout
    states = ["calling", "errored", *events] + (["timed_out"] if timeout_state else [])
    transitions = [
        {"current": "init", "event": "start", "action": "call", "next": "calling"},
        {"current": "calling", "event": "success", "action": "continue", "next": "done"},
        {"current": "calling", "event": "error", "action": "continue", "next": "errored"},
    ]
    transitions += [{"current": "calling", "event": e, "action": "continue", "next": e} for e in events]
    if timeout_state:
        transitions.append({"current": "calling", "event": "timeout", "action": "continue", "next": "timed_out"})
    return {"project": PROJECT, "activity": activity, "states": states, "actions": [action],
            "transitions": transitions, "workers": list(workers) + list(hook)}


def attempts(history: Iterable[dict], action: str = "call") -> list[tuple]:
    """``(endpoint, attempt, outcome)`` of every worker attempt of ``action``, in order."""
    return [(r["endpoint"], r["attempt"], r["outcome"]) for r in history
            if r.get("action") == action and r.get("endpoint") is not None]


def wait_for(engine, iid: str, pred, timeout: float = 10.0, interval: float = 0.01) -> dict:
    """Poll ``engine.status(iid)`` until ``pred(status)`` (each call lets the embedded actors run)."""
    deadline = time.monotonic() + timeout
    while True:
        st = engine.status(iid)
        if pred(st):
            return st
        if time.monotonic() > deadline:
            raise AssertionError(f"instance {iid} never got there; last status {st}")
        time.sleep(interval)


def settle(engine, iid: str, timeout: float = 15.0) -> dict:
    """Wait until no step of the instance is in flight (status is not ``running``); its status."""
    return wait_for(engine, iid, lambda st: st["status"] != "running", timeout)
