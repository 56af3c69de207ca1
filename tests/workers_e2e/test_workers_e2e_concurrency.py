"""Worker calls do not serialise: steps of many instances are in flight at once through the engine,
bounded by the engine's ``concurrency`` (per worker proxy: one proxy per shard).

No clock: the test server's ``/barrier/<n>`` answers no request until ``n`` are in flight at once (so
serialised calls never complete), and it counts the most requests it had in flight (``max_inflight``),
which a bound caps; ``/gate/<name>`` holds a request until the test opens it."""
from __future__ import annotations

from e2e_support import attempts, one_step, settle, worker
from transport_support import HOLD
from goflow.paging import every

SLOW = HOLD + 5          # a worker's response timeout longer than any hold of the server


def test_many_instances_have_steps_in_flight_at_once(server, make_engine):
    n = 100
    eng = make_engine(one_step([worker(server.url(f"/barrier/{n}"), timeout=SLOW)]))
    ids = eng.start_many("e2e/one", [{"i": i} for i in range(n)])
    done = eng.wait_all(ids, timeout=HOLD + 10)
    assert [d["status"] for d in done] == ["completed"] * n
    assert len(server.seen) == n and server.max_inflight == n
    assert sorted(s.headers["Idempotency-Key"] for s in server.seen) == sorted(f"{i}:1" for i in ids)


def test_concurrency_bounds_the_steps_in_flight(server, make_engine):
    n, bound = 40, 4
    eng = make_engine(one_step([worker(server.url(f"/barrier/{bound}"), timeout=SLOW)]), concurrency=bound)
    ids = eng.start_many("e2e/one", [{} for _ in range(n)])
    assert [d["status"] for d in eng.wait_all(ids, timeout=HOLD + 10)] == ["completed"] * n
    assert server.max_inflight == bound            # reached (the barrier opened), never passed


def test_concurrency_is_per_worker_proxy(server, make_engine):
    n, bound, shards = 40, 3, 2
    # both proxies must run `bound` calls at once for the barrier to open
    eng = make_engine(one_step([worker(server.url(f"/barrier/{bound * shards}"), timeout=SLOW)]),
                      concurrency=bound, shards=shards)
    ids = eng.start_many("e2e/one", [{} for _ in range(n)])
    assert [d["status"] for d in eng.wait_all(ids, timeout=HOLD + 10)] == ["completed"] * n
    assert server.max_inflight == bound * shards


def test_a_slow_step_does_not_hold_up_other_instances(server, make_engine):
    held = server.url("/gate/e2e-slow")
    eng = make_engine(one_step([worker(held, timeout=SLOW)], activity="slow"),
                      one_step([worker(server.url("/ok"))], activity="fast"), concurrency=2)
    slow = eng.start("e2e/slow", {})
    fast = eng.start_many("e2e/fast", [{"i": i} for i in range(20)])
    assert [d["status"] for d in eng.wait_all(fast, timeout=HOLD)] == ["completed"] * 20
    assert eng.status(slow)["status"] == "running"     # its call is still held at the gate
    server.open("e2e-slow")
    assert settle(eng, slow)["state"] == "done"
    assert attempts(every(eng.history, slow)) == [(held, 1, "200")]
