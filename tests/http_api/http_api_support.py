"""Helpers for the HTTP API tests: a real daemon on a free port, the API server (its own process, as
``goflow daemon start`` runs it) on another, an async worker on a small aiohttp server, and process
bookkeeping so that nothing outlives a test (every process started carries a marker in its
environment and is looked for in /proc at teardown)."""
from __future__ import annotations

from testkit import LoopbackApp, MarkedProcesses, alive, free_port, poll  # noqa: F401 (re-exported for the tests)

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from aiohttp import ClientSession, web

REPO = Path(__file__).resolve().parents[2]
PROJECT = "api"

# init -start/continue-> waiting; waiting -ping/continue-> waiting (a user event, any number of times);
# waiting -go/continue-> done.
GATE = {
    "project": PROJECT, "activity": "gate", "states": ["waiting"], "actions": [],
    "transitions": [
        {"current": "init", "event": "start", "action": "continue", "next": "waiting"},
        {"current": "waiting", "event": "ping", "action": "continue", "next": "waiting"},
        {"current": "waiting", "event": "go", "action": "continue", "next": "done"},
    ],
    "workers": [],
}


def async_flow(url: str, activity: str = "charge") -> dict:
    """init -start/charge (async)-> charging; success -> done; error -> failed_charge."""
    return {
        "project": PROJECT, "activity": activity, "states": ["charging", "failed_charge"],
        "actions": [{"name": "charge", "type": "async", "timeout": 30}],
        "transitions": [
            {"current": "init", "event": "start", "action": "charge", "next": "charging"},
            {"current": "charging", "event": "success", "action": "continue", "next": "done"},
            {"current": "charging", "event": "error", "action": "continue", "next": "failed_charge"},
        ],
        "workers": [{"name": "charge", "workerEndpoint": url, "retryCount": 0, "responseTimeout": 5,
                     "priority": 1, "retryDelay": 0, "jitter": 0}],
    }


class Processes(MarkedProcesses):
    """Every process a test starts carries ``GOFLOW_TEST_HTTP_API=<marker>``; :meth:`left` finds them."""

    def __init__(self):
        super().__init__("GOFLOW_TEST_HTTP_API", [REPO])


def goflow(*args: str, env: dict, timeout: float = 60):
    return subprocess.run([sys.executable, "-m", "actors.cli", *args], capture_output=True, text=True, env=env,
                          timeout=timeout, cwd=str(REPO), stdin=subprocess.DEVNULL)


# ------------------------------------------------------------------------------ the async worker
class AsyncWorker(LoopbackApp):
    """An async worker on 127.0.0.1: answers every call 202, then (``delay`` later) POSTs the outcome
    to the GoFlow API's ``/instances/{instance}/events`` with ``Idempotency-Key: <instance>:<step>``,
    ``callbacks`` times (from the instance's input; default 1), with the API's token (``api_token``,
    given to it as to any remote worker). Records the calls and the acks."""

    def __init__(self, delay: float = 0.1):
        self.delay = delay
        self.api_url: str | None = None
        self.api_token: str | None = None
        self.calls: list[dict] = []
        self.acks: list[tuple[int, dict]] = []
        self._serve_posts("async-worker", "the async worker",
                          {"/charge": self._charge, "/now": self._now, "/later": self._later})

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/charge"

    def at(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path}"

    async def _charge(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.calls.append({"body": body, "key": request.headers.get("Idempotency-Key")})
        self.loop.create_task(self._call_back(body))
        return web.json_response({"accepted": True}, status=202)

    async def _now(self, request: web.Request) -> web.Response:
        """SPEC §8: a 2xx naming an event (``success`` too) is the outcome at once."""
        body = await request.json()
        self.calls.append({"body": body, "key": request.headers.get("Idempotency-Key")})
        return web.json_response({"event": "success", "paid": body["input"].get("amount")})

    async def _later(self, request: web.Request) -> web.Response:
        """SPEC §8: a 2xx naming no event means accepted; the outcome is called back later."""
        body = await request.json()
        self.calls.append({"body": body, "key": request.headers.get("Idempotency-Key")})
        self.loop.create_task(self._call_back(body))
        return web.json_response({"queued": True}, status=200)

    async def _call_back(self, body: dict) -> None:
        await asyncio.sleep(self.delay)
        iid, step = body["instance"], body["step"]
        outcome = {"event": "success", "data": {"charged": body["input"].get("amount"), "receipt": f"r-{iid}"}}
        async with ClientSession() as s:
            for _ in range(int(body["input"].get("callbacks", 1))):
                async with s.post(f"{self.api_url}/instances/{iid}/events", json=outcome,
                                  headers={"Idempotency-Key": f"{iid}:{step}",
                                           "Authorization": f"Bearer {self.api_token}"}) as r:
                    self.acks.append((r.status, json.loads(await r.read())))

