"""gRPC workers through the engine (embedded and daemon), not only the transport: outcomes, fallback
between gRPC and HTTP priorities of one action, async accepted, the idempotency key across retries,
fallbacks and a kill -9 of the worker proxy (SPEC §4, §6, §9)."""
from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from e2e_support import attempts, one_step, settle, worker
from testkit import poll
from goflow.paging import every

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def make_engine(tmp_path):
    from actors import Engine
    engines = []

    def make(*docs, **config):
        eng = Engine.embedded(tmp_path / f"data-{len(engines)}", blueprints=list(docs), **config)
        engines.append(eng)
        return eng

    yield make
    for eng in engines:
        eng.close()


def test_success_and_named_event_through_the_engine(gserver, make_engine):
    url = gserver.url()
    eng = make_engine(one_step([worker(url)]))
    iid = eng.start("e2e/one", {"k": 1})
    st = eng.wait(iid, timeout=15)
    assert st["status"] == "completed" and st["context"]["call"] == {"echo": {"k": 1}}
    assert attempts(every(eng.history, iid)) == [(url, 1, "OK")]
    iid = eng.start("e2e/one", {"plan": ["event:approved"]})
    st = settle(eng, iid)
    assert st["state"] == "approved" and st["context"]["call"] == {"said": "approved"}


def test_retries_then_fallback_to_http_keep_the_key(gserver, server, make_engine):
    g, h = gserver.url(), server.url("/ok")
    eng = make_engine(one_step([worker(g, retry=1), worker(h, priority=2)]))
    iid = eng.start("e2e/one", {"plan": ["UNAVAILABLE", "INTERNAL"]})
    st = eng.wait(iid, timeout=15)
    assert st["status"] == "completed"
    assert attempts(every(eng.history, iid)) == [(g, 1, "UNAVAILABLE"), (g, 2, "INTERNAL"), (h, 3, "200")]
    assert gserver.keys() == [f"{iid}:1", f"{iid}:1"]
    assert server.seen[-1].headers["Idempotency-Key"] == f"{iid}:1"


def test_http_first_then_grpc(gserver, server, make_engine, closed_port):
    down, g = f"http://127.0.0.1:{closed_port}/x", gserver.url()
    eng = make_engine(one_step([worker(down), worker(g, priority=2)]))
    iid = eng.start("e2e/one", {"plan": ["unused", "event:approved"]})
    assert settle(eng, iid)["state"] == "approved"
    assert attempts(every(eng.history, iid)) == [(down, 1, "connect-error"), (g, 2, "OK")]


def test_deadline_and_non_retryable_end_in_error_or_timeout(gserver, make_engine):
    g = gserver.url()
    eng = make_engine(one_step([worker(g, retry=1, timeout=0.3)], timeout_state=True))
    iid = eng.start("e2e/one", {"plan": ["hang"]})
    assert settle(eng, iid)["state"] == "timed_out"
    assert attempts(every(eng.history, iid)) == [(g, 1, "timeout"), (g, 2, "timeout")]
    iid = eng.start("e2e/one", {"plan": ["NOT_FOUND"]})
    assert settle(eng, iid)["state"] == "errored"
    assert attempts(every(eng.history, iid)) == [(g, 1, "NOT_FOUND")]


def test_async_accepted_then_the_outcome_event(gserver, make_engine):
    g = gserver.url()
    eng = make_engine(one_step([worker(g)], action_type="async", action_timeout=60))
    iid = eng.start("e2e/one", {"plan": ["accept"]})
    st = poll(lambda: (s := eng.status(iid))["pending"] and s["pending"]["accepted"] and s, 10,
              what="the async call to be accepted")
    assert st["status"] == "waiting" or st["status"] == "running", st
    eng.send(iid, "success", {"done": True})
    st = eng.wait(iid, timeout=15)
    assert st["status"] == "completed" and st["context"]["call"] == {"done": True}
    assert attempts(every(eng.history, iid)) == [(g, 1, "OK")]


def test_tls_options_load_from_a_blueprint(make_engine, tmp_path):
    """``tls`` is a worker field of the DSL: it loads, round-trips and reaches the transport."""
    doc = one_step([worker("grpcs://127.0.0.1:1", tls={"ca": str(tmp_path / "missing.pem")})])
    eng = make_engine(doc)
    iid = eng.start("e2e/one", {})
    assert settle(eng, iid)["state"] == "errored"
    (rec,) = [r for r in every(eng.history, iid) if r.get("endpoint")]
    assert rec["outcome"] == "bad-endpoint" and "missing.pem" in rec["detail"]["error"]


def _free_port() -> int:
    from testkit import free_port
    return free_port()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.daemon
@pytest.mark.slow
def test_daemon_grpc_workers_and_a_kill_9_of_the_proxy_keep_the_key(gserver, tmp_path):
    """On the daemon the gRPC calls run in the worker proxy's own loop (LoopPump). A call held at a
    gate when its proxy is killed with SIGKILL is made again by the revived proxy with the same
    ``idempotency-key``."""
    from actors.daemon import start_daemon
    g = gserver.url()
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]))
    eng = start_daemon(str(tmp_path / "d"), port=_free_port(), shards=1, concurrency=8,
                       blueprints=[one_step([worker(g, retry=1, timeout=60)])],
                       log_path=str(tmp_path / "daemon.log"), env=env, timeout=30)
    pids = eng.pids()
    try:
        ids = eng.start_many("e2e/one", [{"n": i, "plan": ["UNAVAILABLE", "ok"]} for i in range(20)])
        done = eng.wait_all(ids, timeout=30)
        assert [d["status"] for d in done] == ["completed"] * 20
        assert attempts(every(eng.history, ids[0])) == [(g, 1, "UNAVAILABLE"), (g, 2, "OK")]
        gserver.seen.clear()
        iid = eng.start("e2e/one", {"plan": ["gate:kill"]})
        poll(lambda: len(gserver.seen) >= 1, 15, what="the call to reach the gRPC worker")
        proxy = pids["proxy-0"]
        os.kill(proxy, signal.SIGKILL)
        poll(lambda: not _alive(proxy), 10, what="the proxy to die")
        poll(lambda: len(gserver.seen) >= 2, 60, what="the revived proxy to call again")
        gserver.open("kill")
        st = eng.wait(iid, timeout=30)
        assert st["status"] == "completed" and st["context"]["call"] == {"gate": "kill"}
        assert gserver.keys() == [f"{iid}:1", f"{iid}:1"]
        assert [s.request["attempt"] for s in gserver.seen] == ["1", "1"]
    finally:
        pids = {**pids, **eng.pids()} if eng._asys is not None else pids
        eng.shutdown()
        try:
            poll(lambda: not [p for p in pids.values() if _alive(p)], 15, what="the daemon's processes to exit")
        finally:
            left = [p for p in pids.values() if _alive(p)]
            for p in left:
                os.kill(p, signal.SIGKILL)
