"""Test support: a real HTTP worker server on 127.0.0.1 (aiohttp.web in a thread), told by the path what to do.

Paths: ``/ok``, ``/event/<name>``, ``/status/<code>``, ``/retry-after/<value>`` (429),
``/unavailable/<secs>`` (503 + Retry-After), ``/text``, ``/empty``, ``/big/<bytes>``,
``/slow/<ms>``, ``/drop``, ``/flaky/<n>`` (503 for the first n attempts of a step, then 200),
``/headers``, ``/barrier/<n>`` (each request waits until ``n`` of them are in flight at once, then
every one answers 200: a proof of ``n`` overlapping calls that needs no clock), ``/gate/<name>``
(waits until the test calls ``server.open(name)``). A barrier or gate that is not passed within
``HOLD`` seconds answers 504. Every request is recorded (path, method, headers, JSON body); in-flight
requests are counted (``max_inflight``).
"""
from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import threading
from dataclasses import dataclass, field

from aiohttp import web

from goflow.jobs import Job
from goflow.transports import Registry, default_registry, new_registry

#: The default transports, with python:// allowed to call this directory's transport_workers module.
TEST_REGISTRY: Registry = new_registry(allowed_modules=["transport_workers", "goflow.examples"])

HOLD = 30.0     # seconds a barrier or gate holds a request at most (a test that waits that long fails)


@dataclass
class Seen:
    path: str
    method: str
    headers: object   # case-insensitive (CIMultiDict)
    body: object


@dataclass
class WorkerServer:
    port: int = 0
    seen: list = field(default_factory=list)
    inflight: int = 0
    max_inflight: int = 0
    flaky: dict = field(default_factory=dict)
    loop: object = None
    events: dict = field(default_factory=dict)      # barrier/gate name -> asyncio.Event (server loop)
    waiting: dict = field(default_factory=dict)     # barrier/gate name -> requests held there now

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def open(self, name: str) -> None:
        """Let the requests held at ``/gate/<name>`` (now and later) answer."""
        self.loop.call_soon_threadsafe(lambda: self._event(f"gate/{name}").set())

    def reset(self) -> None:
        if self.loop is not None:
            def release():
                for ev in self.events.values():
                    ev.set()
                self.events.clear()
            self.loop.call_soon_threadsafe(release)
        self.seen.clear()
        self.flaky.clear()
        self.max_inflight = self.inflight

    def _event(self, key: str) -> asyncio.Event:
        if key not in self.events:
            self.events[key] = asyncio.Event()
        return self.events[key]

    async def _hold(self, key: str, arrived) -> bool:
        """Hold a request at ``key`` until its event is set (``arrived(n_waiting)`` may set it)."""
        ev = self._event(key)
        self.waiting[key] = self.waiting.get(key, 0) + 1
        try:
            arrived(self.waiting[key], ev)
            await asyncio.wait_for(ev.wait(), HOLD)
            return True
        except asyncio.TimeoutError:
            return False
        finally:
            self.waiting[key] -= 1

    def paths(self) -> list[str]:
        return [s.path for s in self.seen]

    async def handle(self, request: web.Request) -> web.StreamResponse:
        raw = await request.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        self.seen.append(Seen(request.path, request.method, request.headers.copy(), body))
        self.inflight += 1
        self.max_inflight = max(self.max_inflight, self.inflight)
        try:
            return await self._answer(request, body)
        finally:
            self.inflight -= 1

    async def _answer(self, request: web.Request, body) -> web.StreamResponse:
        parts = request.path.strip("/").split("/")
        kind, arg = parts[0], (parts[1] if len(parts) > 1 else "")
        if kind == "ok":
            return web.json_response({"echo": body.get("input") if isinstance(body, dict) else None})
        if kind == "event":
            return web.json_response({"event": arg, "n": 1})
        if kind == "status":
            return web.json_response({"error": f"status {arg}"}, status=int(arg))
        if kind == "retry-after":
            return web.Response(status=429, text="slow down", headers={"Retry-After": arg.replace("_", " ")})
        if kind == "unavailable":
            return web.Response(status=503, text="later", headers={"Retry-After": arg})
        if kind == "text":
            return web.Response(text="hello, not json")
        if kind == "empty":
            return web.Response(status=204)
        if kind == "big":
            return web.Response(body=b"x" * int(arg), content_type="application/octet-stream")
        if kind == "bigchunked":
            resp = web.StreamResponse()
            await resp.prepare(request)
            for _ in range(int(arg) // 65536 + 1):
                await resp.write(b"y" * 65536)
            await resp.write_eof()
            return resp
        if kind == "slow":
            await asyncio.sleep(int(arg) / 1000)
            return web.json_response({"slept": int(arg)})
        if kind == "drop":
            request.transport.close()
            raise asyncio.CancelledError()
        if kind == "flaky":
            key = request.headers.get("Idempotency-Key")
            self.flaky[key] = self.flaky.get(key, 0) + 1
            if self.flaky[key] <= int(arg):
                return web.Response(status=503, text="flaky")
            return web.json_response({"after": self.flaky[key]})
        if kind in ("barrier", "gate"):
            n = int(arg) if kind == "barrier" else None

            def arrived(count, ev):
                if n is not None and count >= n:
                    ev.set()
            if await self._hold(f"{kind}/{arg}", arrived):
                return web.json_response({kind: arg})
            return web.Response(status=504, text=f"{kind} {arg} not passed within {HOLD} s")
        if kind == "headers":
            return web.json_response({"headers": dict(request.headers)})
        return web.Response(status=404, text="no such behaviour")


def run(coro, registry=None):
    """Run ``coro`` on a fresh loop, then close the transports' connection pools of that loop."""
    async def main():
        try:
            return await coro
        finally:
            await (registry or default_registry).aclose()
            if registry is not None:
                await default_registry.aclose()
    return asyncio.run(main())


REQUEST = {"instance": "inst-1", "project": "shop", "activity": "inquiry", "version": 1,
           "action": "check", "state": "checking", "step": 7, "attempt": 0,
           "input": {"customer": 42}, "context": {"customer": 42}}


def job(name, request: dict, workers) -> Job:
    """A sync step job named ``str(name)`` (the tests gather results by ``job.instance``)."""
    return Job(str(name), request.get("step", 0), "sync", request.get("action", ""), request, tuple(workers))


def worker(url: str, *, retry: int = 0, timeout: float = 2.0, priority: int = 1, **kw):
    from goflow.model import Worker
    kw.setdefault("jitter", 0.0)
    kw.setdefault("retry_delay", 0.5)
    return Worker(name="check", endpoint=url, retry_count=retry, response_timeout=timeout,
                  priority=priority, **kw)


def outcomes(result):
    return [(r.endpoint, r.attempt, r.outcome) for r in result.attempts]


@contextlib.contextmanager
def serving(name: str = "test-worker-server"):
    """A :class:`WorkerServer` listening on 127.0.0.1 (an ephemeral port) on its own thread and
    event loop, for the duration of the ``with``; the thread is joined on the way out."""
    srv = WorkerServer()
    loop = srv.loop = asyncio.new_event_loop()
    started = threading.Event()

    def run():
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=4 << 20)
        app.router.add_route("*", "/{tail:.*}", srv.handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, handler_cancellation=True,
                               shutdown_timeout=0.5)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        loop.run_until_complete(site.start())
        srv.port = site._server.sockets[0].getsockname()[1]
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    assert started.wait(10)
    try:
        yield srv
    finally:
        srv.reset()                      # release held requests
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        assert not thread.is_alive()


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port
