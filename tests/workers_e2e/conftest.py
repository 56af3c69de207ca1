"""Fixtures for engine-level worker tests: the real HTTP worker server of tests/transports on
127.0.0.1, a closed port, and embedded engines that are always closed."""
from __future__ import annotations

import asyncio
import os
import socket
import sys
import threading

import pytest
from aiohttp import web

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "transports"))
sys.path.insert(0, os.path.dirname(__file__))

from transport_support import WorkerServer  # noqa: E402


@pytest.fixture(scope="session")
def _e2e_server():
    srv = WorkerServer()
    loop = asyncio.new_event_loop()
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

    thread = threading.Thread(target=run, name="e2e-worker-server", daemon=True)
    thread.start()
    assert started.wait(10)
    yield srv
    loop.call_soon_threadsafe(loop.stop)
    thread.join(10)
    assert not thread.is_alive()


@pytest.fixture
def server(_e2e_server):
    _e2e_server.reset()
    yield _e2e_server
    _e2e_server.reset()


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def make_engine(tmp_path):
    """``make_engine(*docs, **config)``: an embedded Engine on a fresh data directory, closed at the end."""
    from actors import Engine

    engines = []

    def make(*docs, **config):
        eng = Engine.embedded(tmp_path / f"data-{len(engines)}", blueprints=list(docs), **config)
        engines.append(eng)
        return eng

    yield make
    for eng in engines:
        eng.close()
