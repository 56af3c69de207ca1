"""Fixtures of the HTTP API tests (helpers in http_api_support.py).

* ``stack`` (module): a real daemon (2 shards) on a free port with the test blueprints, and the API
  server as its own process on another free port, started and recorded the way ``goflow daemon start``
  does (``http_api.spawn`` + ``daemon.add_process``); at teardown ``daemon.stop`` stops both and no
  process may be left.
* ``api``: an httpx client of the API, sending the daemon's token (``<data>/api.token``).
"""
from __future__ import annotations

import httpx
import pytest

from http_api_support import GATE, AsyncWorker, Processes, async_flow
from testkit import api_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    worker = AsyncWorker()
    with api_stack(tmp_path_factory.mktemp("http-api"), Processes(), worker, [GATE, async_flow(worker.url)]) as st:
        worker.api_url, worker.api_token = st.url, st.token    # it calls back with the API's token
        yield st


@pytest.fixture
def api(stack):
    with httpx.Client(base_url=stack.url, timeout=30, headers=stack.auth) as client:
        yield client
