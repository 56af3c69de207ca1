"""Fixtures of the runtime tests; the helpers are in ``runtime_support.py``.

* ``embedded``: a factory of embedded engines on ``tmp_path``; each is shut down at teardown.
* ``daemons``: a factory of daemons (see ``runtime_support.Daemons``); at teardown each is shut down,
  then any process of theirs still alive is killed with SIGKILL and the test errors.
* ``calls``: the file the ``python://workers:*`` callables append ``<instance>:<step> <action>`` to.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from runtime_support import Daemons, Engine


@pytest.fixture
def calls(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "calls.log"
    monkeypatch.setenv("GOFLOW_TEST_CALLS", str(path))   # embedded engines call workers in-process
    return path


@pytest.fixture
def embedded(tmp_path):
    engines = []

    def make(data_dir=None, **kw) -> Engine:
        kw.setdefault("python_modules", ["workers", "goflow.examples"])   # python:// of these tests
        eng = Engine.embedded(str(data_dir or tmp_path / "data"), timeout=kw.pop("timeout", 20.0), **kw)
        engines.append(eng)
        return eng

    yield make
    for eng in engines:
        eng.shutdown()


@pytest.fixture
def daemons(tmp_path, calls):
    d = Daemons(tmp_path, calls)
    yield d
    d.teardown()
