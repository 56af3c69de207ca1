"""CallProcess and SplitPool: network steps in a child process the pool owns, the rest in this one.

Real parts only: the worker server on 127.0.0.1 (transport_support), the child started from this
interpreter, its pid checked in /proc."""
from __future__ import annotations

import os
import select
import signal
import time

import pytest

from goflow.config import Config
from goflow.model import SUCCESS
from goflow.steps import CallPool, CallProcess, SplitPool, embedded_pool
from goflow.steps.frames import FrameError, FrameReader, encode
from goflow.steps.process import supported
from goflow.transports import registry_from_config
from testkit import alive, poll
from transport_support import HOLD, REQUEST, job, worker

pytestmark = pytest.mark.skipif(not supported(), reason="a call process needs POSIX (pass_fds, MSG_DONTWAIT)")

# the modules python:// may call in these tests: the registry is not the default one, like a user's
SETTINGS = Config().with_options({"python_modules": "transport_workers,goflow.examples"})


def request(i: int) -> dict:
    return {**REQUEST, "instance": f"inst-{i}", "step": i}


def collect(pool, n: int, timeout: float = HOLD + 10) -> dict:
    """Wait on the pool's descriptors (as the embedded engine's thread does) until ``n`` results are in."""
    got, deadline = {}, time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} results"
        select.select(list(pool.filenos()), [], [], left)
        for j, result in pool.drain():
            assert j.instance not in got, f"{j.instance} answered twice"
            got[j.instance] = result
    return got


def child_of_us(pid: int) -> bool:
    with open(f"/proc/{pid}/stat") as f:
        return int(f.read().rpartition(")")[2].split()[1]) == os.getpid()


def test_frames_round_trip_in_pieces():
    reader = FrameReader()
    data = encode("jobs", [1, 2]) + encode("ready", 7)
    got = []
    for i in range(len(data)):          # one byte at a time: partial headers and bodies wait
        got += reader.feed(data[i:i + 1])
    assert got == [("jobs", [1, 2]), ("ready", 7)] and reader.buffered == 0
    with pytest.raises(FrameError):
        encode("nonsense", None)
    with pytest.raises(FrameError):
        FrameReader().feed(b"\x00\x00\x00\x03abc")


def test_http_steps_run_in_the_child_and_come_back(server):
    pool = SplitPool(SETTINGS, 50, registry=registry_from_config(SETTINGS))
    try:
        assert pool.process_pid is None              # started by the first network job, not before
        w = [worker(server.url("/barrier/50"), timeout=HOLD + 5)]
        assert pool.submit(job(i, request(i), w) for i in range(50)) == 50
        pid = pool.process_pid
        assert pid is not None and pid != os.getpid() and child_of_us(pid)
        got = collect(pool, 50)
        assert pool.pending == 0
        assert all(r.event == SUCCESS and r.output == {"barrier": "50"} for r in got.values())
        assert server.max_inflight == 50             # the child runs them at once, like a CallPool
        assert sorted(s.headers["Idempotency-Key"] for s in server.seen) == sorted(f"inst-{i}:{i}" for i in range(50))
    finally:
        pool.close()
    assert not alive(pid)                            # close() reaped it
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)


def test_python_steps_stay_in_this_process(server):
    pool = SplitPool(SETTINGS, 4, registry=registry_from_config(SETTINGS))
    try:
        here = job("py", request(1), [worker("python://transport_workers:echo")])
        mixed = job("mixed", request(2), [worker(server.url("/status/503")),
                                          worker("python://transport_workers:echo", priority=2)])
        pool.submit([here, mixed])
        assert pool.process_pid is None              # no network-only job: no child at all
        got = collect(pool, 2)
        assert got["py"].event == SUCCESS and got["mixed"].event == SUCCESS
        assert [r.outcome for r in got["mixed"].attempts] == ["503", "200"]   # the fallback is unchanged
    finally:
        pool.close()


def test_a_dead_child_hands_its_jobs_back_and_none_is_lost(server):
    pool = SplitPool(SETTINGS, 8, registry=registry_from_config(SETTINGS))
    try:
        pool.submit(job(i, request(i), [worker(server.url("/gate/dead"), timeout=HOLD + 5)]) for i in range(8))
        pid = pool.process_pid
        poll(lambda: server.waiting.get("gate/dead", 0) == 8, 30, what="8 calls held by the child")
        os.kill(pid, signal.SIGKILL)
        # the end of file makes the descriptor readable; drain hands the 8 to the local pool
        poll(lambda: (pool.drain() or True) and pool.remote.failed, 30, what="the death noticed")
        assert "closed its end" in pool.remote.failed and pool.local.pending == 8
        server.open("dead")
        got = collect(pool, 8)
        assert sorted(got) == [str(i) for i in range(8)] and all(r.event == SUCCESS for r in got.values())
        # later network jobs stay here too, and the dead descriptor is never readable again
        pool.submit([job("later", request(9), [worker(server.url("/ok"))])])
        assert collect(pool, 1)["later"].event == SUCCESS
        assert select.select([pool.remote.fileno()], [], [], 0)[0] == []
    finally:
        pool.close()
    assert not alive(pid)


def test_close_with_steps_in_flight_stops_the_child(server):
    calls = CallProcess(SETTINGS, 4)
    calls.submit([job("held", request(1), [worker(server.url("/gate/never"), timeout=HOLD + 5)])])
    pid = calls.pid
    poll(lambda: server.waiting.get("gate/never", 0) == 1, 30, what="the call held by the child")
    calls.close()
    assert not alive(pid)
    assert calls.drain() == ([], [])                 # dropped without results, as CallPool.close does
    with pytest.raises(RuntimeError):
        calls.submit([job("late", request(2), [worker(server.url("/ok"))])])


def test_the_setting_chooses():
    registry = registry_from_config(SETTINGS)
    on = embedded_pool(SETTINGS, 2, registry=registry)
    off = embedded_pool(SETTINGS.with_options({"call_process": False}), 2, registry=registry)
    try:
        assert isinstance(on, SplitPool) and len(on.filenos()) == 2
        assert isinstance(off, CallPool) and off.filenos() == (off.fileno(),) and off.process_pid is None
    finally:
        on.close()
        off.close()
