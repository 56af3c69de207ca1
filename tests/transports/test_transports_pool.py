"""CallPool: steps run in parallel on a background loop; results come back through a queue + fd."""
from __future__ import annotations

import select
import threading
import time

import pytest

from goflow.model import ERROR, SUCCESS
from goflow.testing import FakeSleep, no_sleep
from goflow.steps import CallPool
from testkit import poll
from transport_support import HOLD, REQUEST, TEST_REGISTRY, job, worker


def collect(pool: CallPool, n: int, timeout: float = 15.0) -> dict:
    """Wait on the readiness fd (as an actor would) until ``n`` results are in."""
    got, deadline = {}, time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} results"
        readable, _, _ = select.select([pool.fileno()], [], [], left)
        for j, result in pool.drain():
            assert j.instance not in got
            got[j.instance] = result
    return got


def request(i: int) -> dict:
    return {**REQUEST, "instance": f"inst-{i}", "step": i}


def test_steps_run_in_parallel(server):
    with CallPool(concurrency=50) as pool:
        # the server answers none of them until all 50 are in flight at once: serialised calls never pass
        w = [worker(server.url("/barrier/50"), timeout=HOLD + 5)]
        assert pool.submit(job(i, request(i), w) for i in range(50)) == 50
        got = collect(pool, 50, timeout=HOLD + 10)
        assert pool.pending == 0
    assert set(got) == {str(i) for i in range(50)}
    assert all(r.event == SUCCESS and r.output == {"barrier": "50"} for r in got.values())
    assert server.max_inflight == 50
    keys = sorted(s.headers["Idempotency-Key"] for s in server.seen)
    assert keys == sorted(f"inst-{i}:{i}" for i in range(50))


def test_concurrency_is_bounded(server):
    with CallPool(concurrency=4) as pool:
        # 4 in flight at once open the barrier (so the bound is reached); never more than 4
        pool.submit(job(i, request(i), [worker(server.url("/barrier/4"), timeout=HOLD + 5)]) for i in range(16))
        got = collect(pool, 16, timeout=HOLD + 10)
    assert [r.event for r in got.values()] == [SUCCESS] * 16 and server.max_inflight == 4


def test_readiness_fd_and_nonblocking_drain(server):
    with CallPool(concurrency=2, sleep=no_sleep) as pool:
        assert pool.drain() == []
        assert select.select([pool.fileno()], [], [], 0)[0] == []
        pool.submit([job("a", request(1), [worker(server.url("/event/done"))])])
        assert select.select([pool.fileno()], [], [], 10)[0] == [pool.fileno()]
        results = pool.wait(5)
        assert [(j.instance, r.event) for j, r in results] == [("a", "done")]
        assert select.select([pool.fileno()], [], [], 0)[0] == []    # drained: not readable any more
        assert pool.drain() == []


def test_retries_and_python_workers_through_the_pool(server):
    fake = FakeSleep()
    with CallPool(concurrency=8, sleep=fake, registry=TEST_REGISTRY) as pool:
        pool.submit([job("http", request(1), [worker(server.url("/status/500"), retry=2)]),
                     job("py", request(2), [worker("python://transport_workers:aecho")])])
        got = collect(pool, 2)
    assert got["http"].event == ERROR and [r.outcome for r in got["http"].attempts] == ["500"] * 3
    assert got["py"].event == "approved"
    assert fake.delays == [0.5, 1.0]


def test_a_broken_job_still_gets_a_result():
    with CallPool(concurrency=1) as pool:
        pool.submit([job("bad", {"step": 3, "action": "x"}, [object()])])
        got = collect(pool, 1)
    assert got["bad"].event == ERROR and got["bad"].attempts[0].outcome == "internal-error"


def test_close_stops_the_thread_and_drops_work_in_flight(server):
    before = {t.ident for t in threading.enumerate()}
    pool = CallPool(concurrency=3, name="goflow-calls-test")
    pool.submit(job(i, request(i), [worker(server.url("/gate/pool-close"), timeout=HOLD + 5)]) for i in range(5))
    poll(lambda: server.waiting.get("gate/pool-close") == 3, 10, what="3 calls held at the gate")
    pool.close()                                # returns although 3 calls are held (and would be for HOLD s)
    assert not pool._thread.is_alive()
    assert pool.drain() == []                   # the calls in flight were dropped: no result
    pool.close()                                # idempotent
    with pytest.raises(RuntimeError):
        pool.submit([job("late", request(9), [])])
    poll(lambda: not [t for t in threading.enumerate() if t.ident not in before
                      and t.name.startswith("goflow-calls")], 10, what="the pool's threads to end")


def test_submit_from_many_threads(server):
    with CallPool(concurrency=16) as pool:
        w = [worker(server.url("/ok"))]
        threads = [threading.Thread(target=pool.submit, args=([job((t, i), request(i), w) for i in range(10)],))
                   for t in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        got = collect(pool, 40)
    assert len(got) == 40 and all(r.event == SUCCESS for r in got.values())


def test_concurrency_must_be_positive():
    with pytest.raises(ValueError):
        CallPool(concurrency=0)
