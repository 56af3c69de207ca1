"""Fixtures: a real HTTP worker server on 127.0.0.1 (see transport_support.py), a closed port."""
from __future__ import annotations

import asyncio
import socket
import threading

import pytest
from aiohttp import web

from transport_support import WorkerServer


@pytest.fixture(scope="session")
def _server():
    srv = WorkerServer()
    loop = asyncio.new_event_loop()
    started = threading.Event()
    state = {}

    def run():
        asyncio.set_event_loop(loop)
        app = web.Application(client_max_size=4 << 20)
        app.router.add_route("*", "/{tail:.*}", srv.handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, handler_cancellation=True,
                               shutdown_timeout=0.5)
        loop.run_until_complete(runner.setup())
        site = web.TCPSite(runner, "127.0.0.1", 0)
        loop.run_until_complete(site.start())
        srv.port = site._server.sockets[0].getsockname()[1]
        state["runner"] = runner
        started.set()
        loop.run_forever()
        loop.run_until_complete(runner.cleanup())
        loop.close()

    thread = threading.Thread(target=run, name="test-worker-server", daemon=True)
    thread.start()
    assert started.wait(10)
    yield srv
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def server(_server):
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


