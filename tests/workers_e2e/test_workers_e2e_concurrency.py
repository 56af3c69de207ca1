"""Worker calls do not serialise: steps of many instances are in flight at once through the engine,
bounded by the engine's ``concurrency`` (per worker proxy: one proxy per shard). The test server counts
the most requests it had in flight at once (``max_inflight``)."""
from __future__ import annotations

import time

from e2e_support import attempts, one_step, settle, worker

DELAY_MS = 100


def test_many_instances_have_steps_in_flight_at_once(server, make_engine):
    n = 100
    eng = make_engine(one_step([worker(server.url(f"/slow/{DELAY_MS}"))]))
    t0 = time.monotonic()
    ids = eng.start_many("e2e/one", [{"i": i} for i in range(n)])
    done = eng.wait_all(ids, timeout=30)
    elapsed = time.monotonic() - t0
    assert [d["status"] for d in done] == ["completed"] * n
    assert len(server.seen) == n
    assert server.max_inflight >= n // 2, server.max_inflight    # well above 1 (normally all 100)
    assert elapsed < n * DELAY_MS / 1000 / 4, elapsed            # serialised would take 10 s
    assert sorted(s.headers["Idempotency-Key"] for s in server.seen) == sorted(f"{i}:1" for i in ids)


def test_concurrency_bounds_the_steps_in_flight(server, make_engine):
    n, bound = 40, 4
    eng = make_engine(one_step([worker(server.url(f"/slow/{DELAY_MS}"))]), concurrency=bound)
    t0 = time.monotonic()
    ids = eng.start_many("e2e/one", [{} for _ in range(n)])
    assert [d["status"] for d in eng.wait_all(ids, timeout=30)] == ["completed"] * n
    elapsed = time.monotonic() - t0
    assert 2 <= server.max_inflight <= bound, server.max_inflight
    assert elapsed >= n / bound * DELAY_MS / 1000 * 0.9, elapsed  # 10 waves of 100 ms at least


def test_concurrency_is_per_worker_proxy(server, make_engine):
    n, bound, shards = 40, 3, 2
    eng = make_engine(one_step([worker(server.url(f"/slow/{DELAY_MS}"))]), concurrency=bound, shards=shards)
    ids = eng.start_many("e2e/one", [{} for _ in range(n)])
    assert [d["status"] for d in eng.wait_all(ids, timeout=30)] == ["completed"] * n
    assert 2 <= server.max_inflight <= bound * shards, server.max_inflight


def test_a_slow_step_does_not_hold_up_other_instances(server, make_engine):
    eng = make_engine(one_step([worker(server.url("/slow/1500"), timeout=5)], activity="slow"),
                      one_step([worker(server.url("/ok"))], activity="fast"), concurrency=2)
    slow = eng.start("e2e/slow", {})
    t0 = time.monotonic()
    fast = eng.start_many("e2e/fast", [{"i": i} for i in range(20)])
    assert [d["status"] for d in eng.wait_all(fast, timeout=10)] == ["completed"] * 20
    assert time.monotonic() - t0 < 1.2                 # done while the slow step still runs
    assert eng.status(slow)["status"] == "running"
    assert settle(eng, slow)["state"] == "done"
    assert attempts(eng.history(slow)) == [(server.url("/slow/1500"), 1, "200")]
