"""The embedded engine's call process (``workers.call_process``, on by default): its HTTP steps run in a
child process it owns, which close() reaps and which dies with its parent, even a parent killed -9."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from e2e_support import PROJECT, attempts, one_step, settle, worker
from goflow.paging import every
from goflow.steps.process import supported
from testkit import alive, poll

pytestmark = pytest.mark.skipif(not supported(), reason="a call process needs POSIX (pass_fds, MSG_DONTWAIT)")


def parent_of(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[1])


def test_http_steps_run_in_a_child_that_close_reaps(make_engine, server):
    eng = make_engine(one_step([worker(server.url("/flaky/1"), retry=1)]))
    iid = eng.start(f"{PROJECT}/one")
    assert settle(eng, iid)["state"] == "done"
    # retries behave as in one process: the first attempt's 503, then the 200
    assert [o for _, _, o in attempts(every(eng.history, iid))] == ["503", "200"]
    pids = eng.pids()
    child = pids["calls-0"]
    assert pids["proxy-0"] == os.getpid() and child != os.getpid() and parent_of(child) == os.getpid()
    assert "admin" not in pids            # embedded: no admin process (the program's parent is not one)
    eng.close()
    assert not alive(child)
    with pytest.raises(ProcessLookupError):
        os.kill(child, 0)                 # reaped, not a zombie


def test_python_only_engines_start_no_child_and_the_setting_turns_it_off(make_engine, server):
    py = make_engine(one_step([worker("python://transport_workers:echo")], activity="py"))
    iid = py.start(f"{PROJECT}/py")
    assert settle(py, iid)["state"] == "done"
    assert "calls-0" not in py.pids()
    off = make_engine(one_step([worker(server.url("/ok"))]), call_process=False)
    iid = off.start(f"{PROJECT}/one")
    assert settle(off, iid)["state"] == "done"
    assert "calls-0" not in off.pids()


def test_timeouts_and_fallbacks_are_unchanged(make_engine, server, closed_port):
    doc = one_step([worker(f"http://127.0.0.1:{closed_port}/x", retry=1),
                    worker(server.url("/slow/3000"), priority=2, timeout=0.2),
                    worker(server.url("/event/approved"), priority=3)])
    eng = make_engine(doc)
    iid = eng.start(f"{PROJECT}/one")
    assert settle(eng, iid)["state"] == "approved"
    assert [o for _, _, o in attempts(every(eng.history, iid))] == ["connect-error", "connect-error", "timeout", "200"]
    assert "calls-0" in eng.pids()


PARENT = textwrap.dedent("""
    import json, sys
    from actors import Engine
    doc = json.loads(sys.argv[2])
    eng = Engine.embedded(sys.argv[1], blueprints=[doc], timeout=30)
    eng.start("e2e/one")
    import time
    deadline = time.monotonic() + 30
    while "calls-0" not in eng.pids() and time.monotonic() < deadline:
        time.sleep(0.02)
    print(json.dumps(eng.pids()), flush=True)
    sys.stdin.read()                      # until the test kills this process
""")


def test_the_child_dies_with_a_parent_killed_9(tmp_path, server):
    doc = one_step([worker(server.url("/gate/orphan"), timeout=25)])
    proc = subprocess.Popen([sys.executable, "-c", PARENT, str(tmp_path / "data"), json.dumps(doc)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.abspath(__file__)))
    try:
        pids = json.loads(proc.stdout.readline() or "{}")
        child = pids["calls-0"]
        assert parent_of(child) == proc.pid
        poll(lambda: server.waiting.get("gate/orphan", 0) == 1, 30, what="the child's call held at the gate")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(30)
        # nobody closed anything: the kernel closed the dead parent's end, the child read end of file
        poll(lambda: not alive(child), 30, what=f"the call process {child} to exit after its parent")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        server.open("orphan")
