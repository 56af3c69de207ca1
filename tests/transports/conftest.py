"""Fixtures: a real HTTP worker server on 127.0.0.1 (see transport_support.py), a closed port."""
from __future__ import annotations

import pytest

import transport_support


@pytest.fixture(scope="session")
def _server():
    with transport_support.serving() as srv:
        yield srv


@pytest.fixture
def server(_server):
    _server.reset()
    yield _server
    _server.reset()


@pytest.fixture
def closed_port() -> int:
    return transport_support.closed_port()
