"""Fixtures of the console, metrics and trace tests (helpers in console_support.py).

* ``stack`` (module): a real daemon (2 shards, metrics on) with the GATE and call_flow blueprints, and
  the API server as its own process, started and recorded the way ``goflow daemon start`` does; at
  teardown ``daemon.stop`` stops both and no process may be left.
* ``api``: an httpx client of the API with the daemon's token.
"""
from __future__ import annotations

import httpx
import pytest

from console_support import CRASHY, GATE, Processes, RecordingWorker, call_flow
from testkit import api_stack


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    worker = RecordingWorker()
    with api_stack(tmp_path_factory.mktemp("console"), Processes(), worker, [GATE, call_flow(worker.base), CRASHY],
                   python_modules=["console_workers"]) as st:     # tests/console/console_workers.py
        yield st


@pytest.fixture
def api(stack):
    with httpx.Client(base_url=stack.url, timeout=30, headers=stack.auth) as client:
        yield client
