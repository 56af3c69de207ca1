"""LoopPump: the calls' event loop run by its owner's thread, a bit at a time, driven by its fd and timers."""
from __future__ import annotations

import select
import threading
import time

import pytest

from goflow.model import ERROR, SUCCESS, TIMEOUT
from goflow.steps import LoopPump
from testkit import poll
from transport_support import HOLD, REQUEST, TEST_REGISTRY, job, worker


def drive(pump: LoopPump, n: int, timeout: float = 15.0) -> dict:
    """Run the pump as the worker proxy does: pump, then wait for its fd or its next timer."""
    got, deadline = {}, time.monotonic() + timeout
    while True:
        for j, result in pump.pump():
            assert j.instance not in got
            got[j.instance] = result
        if len(got) >= n:
            return got
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} results"
        delay = pump.next_timer()
        select.select([pump.fileno()], [], [], left if delay is None else min(delay, left))


def request(i: int) -> dict:
    return {**REQUEST, "instance": f"inst-{i}", "step": i}


def test_steps_run_in_parallel_in_the_callers_thread(server):
    before = {t.ident for t in threading.enumerate()}
    with LoopPump(concurrency=50) as pump:
        # the server answers none of them until all 50 are in flight at once
        w = [worker(server.url("/barrier/50"), timeout=HOLD + 5)]
        assert pump.submit(job(i, request(i), w) for i in range(50)) == 50
        assert pump.pending == 50
        got = drive(pump, 50, timeout=HOLD + 10)
        assert pump.pending == 0
        assert {t.ident for t in threading.enumerate()} == before     # no thread for HTTP calls
    assert set(got) == {str(i) for i in range(50)}
    assert all(r.event == SUCCESS and r.output == {"barrier": "50"} for r in got.values())
    assert server.max_inflight == 50
    keys = sorted(s.headers["Idempotency-Key"] for s in server.seen)
    assert keys == sorted(f"inst-{i}:{i}" for i in range(50))


def test_concurrency_is_bounded(server):
    with LoopPump(concurrency=4) as pump:
        # 4 in flight at once open the barrier (so the bound is reached); never more than 4
        pump.submit(job(i, request(i), [worker(server.url("/barrier/4"), timeout=HOLD + 5)]) for i in range(16))
        got = drive(pump, 16, timeout=HOLD + 10)
    assert [r.event for r in got.values()] == [SUCCESS] * 16 and server.max_inflight == 4


def test_pump_never_blocks_and_the_fd_tells_when_to_pump(server):
    with LoopPump(concurrency=2) as pump:
        assert pump.pump() == [] and pump.next_timer() is None
        assert select.select([pump.fileno()], [], [], 0)[0] == []
        pump.submit([job("a", request(1), [worker(server.url("/gate/pump-a"))])])
        assert pump.pump() == []                     # returns while the answer is held back (no blocking)
        assert 0 < pump.next_timer() <= 2.0          # the attempt's timeout is armed
        poll(lambda: pump.pump() == [] and server.waiting.get("gate/pump-a") == 1, 10,
             what="the request to reach the server")
        server.open("pump-a")
        assert select.select([pump.fileno()], [], [], 10)[0] == [pump.fileno()]
        got = drive(pump, 1)
        assert got["a"].event == SUCCESS


def test_timeouts_and_backoff_run_on_the_pumps_timers(server):
    with LoopPump(concurrency=4) as pump:
        # the held request can only end by the attempt's timeout (a timer the pump must run)
        pump.submit([job("slow", request(1), [worker(server.url("/gate/pump-never"), timeout=0.3)]),
                     job("retry", request(2), [worker(server.url("/status/503"), retry=2, retry_delay=0.05)])])
        got = drive(pump, 2)
    assert got["slow"].event == TIMEOUT and [r.outcome for r in got["slow"].attempts] == ["timeout"]
    assert got["retry"].event == ERROR and [r.outcome for r in got["retry"].attempts] == ["503"] * 3


def test_sync_python_workers_wake_the_fd():
    with LoopPump(concurrency=4, registry=TEST_REGISTRY) as pump:
        pump.submit([job("sync", request(1), [worker("python://transport_workers:echo")]),
                     job("async", request(2), [worker("python://transport_workers:aecho")])])
        got = drive(pump, 2)
    assert got["sync"].output["got"] == REQUEST["input"]
    assert got["sync"].output["thread"] != threading.current_thread().name
    assert got["async"].event == "approved"


def test_bounded_rounds_keep_the_fd_readable(server):
    with LoopPump(concurrency=8, max_rounds=1) as pump:
        pump.submit(job(i, request(i), [worker(server.url("/ok"))]) for i in range(8))
        got = drive(pump, 8)
    assert len(got) == 8 and all(r.event == SUCCESS for r in got.values())


def test_a_broken_job_still_gets_a_result():
    with LoopPump(concurrency=1) as pump:
        pump.submit([job("bad", {"step": 3, "action": "x"}, [object()])])
        got = drive(pump, 1)
    assert got["bad"].event == ERROR and got["bad"].attempts[0].outcome == "internal-error"


def test_close_drops_work_in_flight(server):
    pump = LoopPump(concurrency=3)
    pump.submit(job(i, request(i), [worker(server.url("/gate/pump-close"), timeout=HOLD + 5)]) for i in range(5))
    poll(lambda: pump.pump() == [] and server.waiting.get("gate/pump-close") == 3, 10,
         what="3 calls held at the gate")
    pump.close()                                # returns although 3 calls are held (and would be for HOLD s)
    assert pump.pump() == []
    pump.close()                                # idempotent
    with pytest.raises(RuntimeError):
        pump.submit([job("late", request(9), [])])


def test_concurrency_must_be_positive():
    with pytest.raises(ValueError):
        LoopPump(concurrency=0)
