"""Fixtures for engine-level worker tests: the real HTTP worker server of tests/transports on
127.0.0.1, a closed port, and embedded engines that are always closed."""
from __future__ import annotations

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "transports"))
sys.path.insert(0, os.path.dirname(__file__))

import transport_support  # noqa: E402


@pytest.fixture(scope="session")
def _e2e_server():
    with transport_support.serving("e2e-worker-server") as srv:
        yield srv


@pytest.fixture
def server(_e2e_server):
    _e2e_server.reset()
    yield _e2e_server
    _e2e_server.reset()


@pytest.fixture
def closed_port() -> int:
    return transport_support.closed_port()


@pytest.fixture
def make_engine(tmp_path):
    """``make_engine(*docs, **config)``: an embedded Engine on a fresh data directory, closed at the end."""
    from actors import Engine

    engines = []

    def make(*docs, **config):
        config.setdefault("python_modules", ["transport_workers", "goflow.examples"])   # python:// of these tests
        eng = Engine.embedded(tmp_path / f"data-{len(engines)}", blueprints=list(docs), **config)
        engines.append(eng)
        return eng

    yield make
    for eng in engines:
        eng.close()
