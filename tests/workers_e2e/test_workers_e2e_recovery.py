"""A step in flight when the engine stops is dispatched again on restart with the same
``Idempotency-Key`` (SPEC §4, §6), and the engine's config reaches the worker proxies of a daemon."""
from __future__ import annotations

import os
from pathlib import Path

from e2e_support import attempts, one_step, settle, worker
from testkit import poll
from transport_support import HOLD
from goflow.paging import every

REPO = Path(__file__).resolve().parents[2]


def wait_seen(server, n, timeout=10.0):
    poll(lambda: len(server.seen) >= n, timeout, what=f"the server to see {n} requests")


def test_step_in_flight_at_a_stop_is_called_again_with_the_same_key(server, tmp_path):
    from actors import Engine
    url = server.url("/gate/e2e-stop")       # held until the engine is stopped: in flight at the stop
    data = tmp_path / "data"
    eng = Engine.embedded(data, blueprints=[one_step([worker(url, retry=2, timeout=HOLD + 5)])])
    try:
        iid = eng.start("e2e/one", {"x": 1})
        wait_seen(server, 1)                  # the call is in flight (the pool runs on its own thread)
    finally:
        eng.close()                           # drops the call in flight: no result comes back
    server.open("e2e-stop")
    assert eng.recovered == 0
    eng = Engine.embedded(data)               # the blueprint comes from the catalog
    try:
        assert eng.recovered == 1
        st = eng.wait(iid, timeout=10)
        assert st["status"] == "completed" and st["context"]["call"] == {"gate": "e2e-stop"}
        assert [s.headers["Idempotency-Key"] for s in server.seen] == [f"{iid}:1", f"{iid}:1"]
        assert [s.body["attempt"] for s in server.seen] == [1, 1]     # a re-dispatched step starts again
        assert attempts(every(eng.history, iid)) == [(url, 1, "200")]     # the dropped attempt left no record
    finally:
        eng.close()


def free_port() -> int:
    from testkit import free_port as outside_ephemeral
    return outside_ephemeral()


def test_daemon_worker_proxies_get_the_config(server, closed_port, tmp_path):
    """multiprocTCPBase: the config crosses processes (launcher -> root -> proxies); the proxies watch
    their pool's fd (ThespianWatch) instead of polling."""
    from actors.daemon import start_daemon
    slow, down, ok = server.url("/barrier/3"), f"http://127.0.0.1:{closed_port}/x", server.url("/ok")
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    eng = start_daemon(str(tmp_path / "d"), port=free_port(), shards=1, concurrency=3,
                       http_transport="httpx-aiohttp", body_bytes=2000,
                       blueprints=[one_step([worker(slow, timeout=HOLD + 5)], activity="slow"),
                                   one_step([worker(down, retry=1), worker(server.url("/big/2001"), priority=2),
                                             worker(ok, priority=3)], activity="fb")],
                       log_path=str(tmp_path / "daemon.log"), env=env, timeout=30)
    pids = eng.pids()
    try:
        ids = eng.start_many("e2e/slow", [{} for _ in range(24)])
        assert [d["status"] for d in eng.wait_all(ids, timeout=30)] == ["completed"] * 24
        assert server.max_inflight == 3               # the concurrency of 3 reached (barrier), not passed
        iid = eng.start("e2e/fb", {"k": 1})
        st = eng.wait(iid, timeout=15)
        assert st["status"] == "completed" and st["context"]["call"] == {"echo": {"k": 1}}
        assert attempts(every(eng.history, iid)) == [(down, 1, "connect-error"), (down, 2, "connect-error"),
                                              (server.url("/big/2001"), 3, "body-too-large"), (ok, 4, "200")]
        assert [s.headers["Idempotency-Key"] for s in server.seen[-2:]] == [f"{iid}:1"] * 2
    finally:
        eng.shutdown()
        try:
            poll(lambda: not [p for p in pids.values() if alive(p)], 15, what="the daemon's processes to exit")
        except AssertionError:
            pass
        left = [p for p in pids.values() if alive(p)]
        for p in left:
            os.kill(p, 9)
        assert not left, f"daemon processes {left} outlived shutdown (killed)"


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


def test_completion_hook_in_flight_at_a_stop_is_called_again(server, tmp_path):
    """A completed instance whose ``done`` hook was in flight stays *live* in the store (recovery
    reloads it) until the hook's outcome is committed, so the hook is not lost to a crash."""
    from actors import Engine
    hook_url = server.url("/gate/e2e-hook")  # held until the engine is stopped: in flight at the stop
    data = tmp_path / "data"
    bp = one_step([worker(server.url("/ok"))], hook=[worker(hook_url, name="done", timeout=HOLD + 5)])
    eng = Engine.embedded(data, blueprints=[bp])
    try:
        iid = eng.start("e2e/one", {"x": 1})
        # embedded: the actors run inside engine calls
        poll(lambda: eng.status(iid)["status"] == "completed", 10, what="the instance to complete")
        wait_seen(server, 2)                  # the step, then the hook: in flight
    finally:
        eng.close()                           # drops the hook call in flight
    server.open("e2e-hook")
    eng = Engine.embedded(data)
    try:
        assert eng.recovered == 1             # the completed instance, for its hook
        wait_seen(server, 3)
        hooks = [s for s in server.seen if s.path.startswith("/gate")]
        assert [s.headers["Idempotency-Key"] for s in hooks] == [f"{iid}:2", f"{iid}:2"]
        poll(lambda: any(r["outcome"] == "hook-ok" for r in every(eng.history, iid)), 10,
             what="the hook's outcome to be recorded")
        assert eng.status(iid)["status"] == "completed"
    finally:
        eng.close()
    eng = Engine.embedded(data)               # the hook is done: nothing is live any more
    try:
        assert eng.recovered == 0
    finally:
        eng.close()
