"""Fixtures of the console, metrics and trace tests (helpers in console_support.py).

* ``stack`` (module): a real daemon (2 shards, metrics on) with the GATE and call_flow blueprints, and
  the API server as its own process, started and recorded the way ``goflow daemon start`` does; at
  teardown ``daemon.stop`` stops both and no process may be left.
* ``api``: an httpx client of the API with the daemon's token.
"""
from __future__ import annotations

import httpx
import pytest

from goflow.auth import read_token

from console_support import CRASHY, GATE, Processes, RecordingWorker, call_flow, free_port


class Stack:
    pass


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    from actors.daemon import add_process, start_daemon, stop
    from actors.http_api import spawn
    tmp = tmp_path_factory.mktemp("console")
    procs = Processes()
    worker = RecordingWorker()
    st = Stack()
    st.procs, st.worker, st.tmp = procs, worker, tmp
    st.data, st.port, st.api_port = str(tmp / "data"), free_port(), free_port()
    st.log = str(tmp / "daemon.log")
    st.engine = None
    try:
        st.engine = start_daemon(st.data, port=st.port, shards=2, blueprints=[GATE, call_flow(worker.base), CRASHY],
                                 log_path=st.log, env=procs.env(), timeout=30,
                                 python_modules=["console_workers"])     # tests/console/console_workers.py
        st.pids = st.engine.pids()
        st.api_pid = spawn(st.port, st.api_port, "127.0.0.1", data_dir=st.data, log_path=st.log,
                           event_bytes=65536, watch_pid=st.pids["admin"], env=procs.env())
        add_process(st.data, "api", st.api_pid, api=f"http://127.0.0.1:{st.api_port}")
        st.url = f"http://127.0.0.1:{st.api_port}"
        st.token = read_token(st.data)
        st.auth = {"Authorization": f"Bearer {st.token}"}
        yield st
    finally:
        try:
            if st.engine is not None:
                st.engine.close()
                stop(st.data, st.port)
        finally:
            worker.close()
            procs.assert_none_left()


@pytest.fixture
def api(stack):
    with httpx.Client(base_url=stack.url, timeout=30, headers=stack.auth) as client:
        yield client
