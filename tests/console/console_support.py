"""Helpers of the console, metrics and trace-context tests: a real daemon and its HTTP API (its own
process, as ``goflow daemon start`` runs it) on free ports, and an HTTP worker on 127.0.0.1 that
records every request's headers. Every process started carries a marker in its environment and is
looked for in /proc at teardown."""
from __future__ import annotations

from testkit import LoopbackApp, MarkedProcesses, free_port, poll  # noqa: F401 (poll: re-exported for the tests)

from pathlib import Path

from aiohttp import web

REPO = Path(__file__).resolve().parents[2]
PROJECT = "obs"

# init -start/continue-> waiting; waiting -go/continue-> done (an operator's event)
GATE = {
    "project": PROJECT, "activity": "gate", "states": ["waiting"], "actions": [],
    "transitions": [
        {"current": "init", "event": "start", "action": "continue", "next": "waiting"},
        {"current": "waiting", "event": "go", "action": "continue", "next": "done"},
    ],
    "workers": [],
}


def call_flow(base: str) -> dict:
    """init -start/call (sync)-> called -success-> waiting -go-> done. The action's first worker (priority 1) always
    answers 500 and is tried twice (one retry); the second (priority 2) answers 200: each step makes
    three attempts, one retry and one fallback."""
    return {
        "project": PROJECT, "activity": "call", "states": ["called", "waiting"],
        "actions": [{"name": "call", "type": "sync"}],
        "transitions": [
            {"current": "init", "event": "start", "action": "call", "next": "called"},
            {"current": "called", "event": "success", "action": "continue", "next": "waiting"},
            {"current": "waiting", "event": "go", "action": "continue", "next": "done"},
        ],
        "workers": [
            {"name": "call", "workerEndpoint": f"{base}/fail", "retryCount": 1, "responseTimeout": 5,
             "priority": 1, "retryDelay": 0, "jitter": 0},
            {"name": "call", "workerEndpoint": f"{base}/ok", "retryCount": 0, "responseTimeout": 5,
             "priority": 2, "retryDelay": 0, "jitter": 0},
        ],
    }


# a worker whose output the host cannot store: the instance's handler crashes (restarts, then fails)
CRASHY = {"project": PROJECT, "activity": "crashy", "states": ["calling"], "actions": [{"name": "bad", "type": "sync"}],
          "transitions": [{"current": "init", "event": "start", "action": "bad", "next": "calling"},
                          {"current": "calling", "event": "success", "action": "continue", "next": "done"}],
          "workers": [{"name": "bad", "workerEndpoint": "python://console_workers:unencodable", "priority": 1,
                       "responseTimeout": 5, "retryCount": 0}]}


class Processes(MarkedProcesses):
    """Every process a test starts carries ``GOFLOW_TEST_CONSOLE=<marker>``; :meth:`left` finds them."""

    def __init__(self):
        super().__init__("GOFLOW_TEST_CONSOLE", [REPO, REPO / "tests" / "console"], drop=("PROMETHEUS_MULTIPROC_DIR",))


class RecordingWorker(LoopbackApp):
    """An HTTP worker on 127.0.0.1: ``POST /ok`` answers 200 ``{"ok": true}``, ``POST /fail`` 500;
    every request is recorded as ``(path, headers, body)``."""

    def __init__(self):
        self.seen: list[tuple[str, dict, dict]] = []
        self._serve_posts("recording-worker", "the recording worker", {"/ok": self._ok, "/fail": self._fail})

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def _record(self, request: web.Request) -> None:
        self.seen.append((request.path, dict(request.headers), await request.json()))

    async def _ok(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"ok": True})

    async def _fail(self, request: web.Request) -> web.Response:
        await self._record(request)
        return web.json_response({"error": "always fails"}, status=500)
