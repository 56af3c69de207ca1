"""Fixtures of the gRPC tests: a real grpc.aio worker server on 127.0.0.1 (grpc_worker_support.py),
the real HTTP worker server of tests/transports, a closed port."""
from __future__ import annotations

import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "transports"))
sys.path.insert(0, os.path.join(HERE, "..", "workers_e2e"))
sys.path.insert(0, HERE)

import grpc_worker_support  # noqa: E402
import transport_support  # noqa: E402


@pytest.fixture(scope="session")
def _grpc_server():
    with grpc_worker_support.serving() as srv:
        yield srv


@pytest.fixture
def gserver(_grpc_server):
    _grpc_server.reset()
    yield _grpc_server
    _grpc_server.reset()


@pytest.fixture(scope="session")
def _http_server():
    with transport_support.serving("grpc-tests-http-worker") as srv:
        yield srv


@pytest.fixture
def server(_http_server):
    _http_server.reset()
    yield _http_server
    _http_server.reset()


@pytest.fixture
def closed_port() -> int:
    return grpc_worker_support.closed_port()
