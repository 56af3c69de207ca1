"""The worker server every contender of ``benchmarks.throughput`` calls: a minimal aiohttp app in its
own process on 127.0.0.1 (ephemeral port).

``POST /work/<anything>`` reads the body and answers ``{"ok": true, "n": <count>}`` (200): a JSON body
with no ``event``, so GoFlow's outcome is ``success``. ``GET /count`` answers the number of POSTs served
so far, which lets the harness check that a contender made every call it should have. The process
stops when its standard input closes (or is killed by pid).
"""
from __future__ import annotations

import asyncio
import json
import os
import select
import subprocess
import sys
import urllib.request

__all__ = ["serve", "WorkerServer"]


def serve() -> None:
    """Run the server in this process; print the port on stdout; stop when stdin closes."""
    from aiohttp import web

    served = [0]

    async def work(request: web.Request) -> web.Response:
        await request.read()
        served[0] += 1
        return web.json_response({"ok": True, "n": served[0]})

    async def count(_request: web.Request) -> web.Response:
        return web.json_response({"count": served[0]})

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/work/{tail:.*}", work)
        app.router.add_get("/count", count)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=2048)
        await site.start()
        print(site._server.sockets[0].getsockname()[1], flush=True)
        loop = asyncio.get_running_loop()
        done = loop.create_future()
        loop.add_reader(sys.stdin.fileno(), lambda: done.done() or done.set_result(None))
        await done
        await runner.cleanup()

    asyncio.run(main())


class WorkerServer:
    """Start/stop the server process; ``url`` is the base for workers, ``count()`` the POSTs served.
    The process runs ``serve()`` of :attr:`module`, prints its port and serves until its stdin closes
    (the gRPC worker server, :class:`benchmarks._grpc_server.GrpcWorkerServer`, is the same process
    shell over another module)."""

    module = "benchmarks._server"
    what = "the worker server"

    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 15.0) -> "WorkerServer":
        root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # benchmarks is not installed
        self.proc = subprocess.Popen([sys.executable, "-c", f"from {self.module} import serve; serve()"],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=root)
        ready, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not ready:
            self.stop()
            raise RuntimeError(f"{self.what} did not start within {timeout:g} s")
        self.port = int(self.proc.stdout.readline())
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/work"

    @property
    def pid(self) -> int:
        return self.proc.pid if self.proc else 0

    def count(self) -> int:
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/count", timeout=10) as r:
            return int(json.load(r)["count"])

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            proc.stdin.close()
            proc.wait(5)
        except (subprocess.TimeoutExpired, OSError):
            proc.kill()
            proc.wait(5)
        if proc.stdout:
            proc.stdout.close()

    def __enter__(self) -> "WorkerServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
