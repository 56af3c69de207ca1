"""The engine on the PostgreSQL store (a real server): an embedded run and its recovery, one clear
error at start for a wrong password or URL (engine, `goflow run`, `goflow daemon start`), and the
database restarted under load with a daemon and its HTTP API (`/health` says `store-unavailable`
meanwhile; every instance completes once the server is back, each step called exactly once)."""
from __future__ import annotations

import collections
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from runtime_support import Engine, call_counts, chain_blueprint, free_port, gate_blueprint, poll, read_store
from goflow.auth import read_token
from goflow.errors import StoreError
from goflow.paging import every
from goflow.store import status

STEPS = 3
PY = ["workers"]          # the python:// module of these tests (tests/runtime/workers.py)


def test_embedded_engine_on_postgres_runs_and_recovers(pg_url, tmp_path, calls):
    eng = Engine.embedded(str(tmp_path / "data"), blueprints=[gate_blueprint()], shards=2, timeout=20.0,
                          store_url=pg_url, python_modules=PY)
    try:
        ids = eng.start_many("rt/gate", [{"n": n} for n in range(20)])
        eng.send(ids[0], "go")
        assert eng.wait(ids[0], timeout=10)["status"] == "completed"
        counts = eng.counts("rt/gate")
        assert sum(counts.values()) == 20
        assert [h["outcome"] for h in every(eng.history, ids[0])][0] == "created"
    finally:
        eng.shutdown()
    rows = read_store(tmp_path / "data", url=pg_url)
    assert len(rows) == 20 and not any((tmp_path / "data" / "shards").glob("*.sqlite"))
    again = Engine.embedded(str(tmp_path / "data"), shards=2, timeout=20.0, store_url=pg_url, python_modules=PY)
    try:
        assert again.recovered == 0          # 19 waiting: in the store until asked for (the catalog too is
                                             # in the database: ids[1] takes its event)
        again.send(ids[1], "go")
        assert again.wait(ids[1], timeout=10)["status"] == "completed"
    finally:
        again.shutdown()


def _bad_url(pg_server, pg_url) -> str:
    return pg_server.url(pg_url.rsplit("/", 1)[1], password="wrong-secret")


def test_wrong_password_is_one_clear_error_at_start(pg_server, pg_url, tmp_path):
    bad = _bad_url(pg_server, pg_url)
    with pytest.raises(StoreError, match="password authentication failed") as info:
        Engine.embedded(str(tmp_path / "data"), blueprints=[gate_blueprint()], timeout=20.0, store_url=bad,
                        python_modules=PY)
    assert "wrong-secret" not in str(info.value)
    env = dict(os.environ, GOFLOW_STORE_URL=bad)
    run = subprocess.run([os.path.join(os.path.dirname(sys.executable), "goflow"), "run", "--data",
                          str(tmp_path / "run")], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 1
    assert "password authentication failed" in run.stderr and "wrong-secret" not in run.stderr
    assert "Traceback" not in run.stderr and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_daemon_start_with_an_unreachable_url_fails_at_once(tmp_path, daemons):
    data = tmp_path / "d"
    port = free_port()
    cmd = [os.path.join(os.path.dirname(sys.executable), "goflow"), "daemon", "start", "--data", str(data),
           "--port", str(port), "--store-url", f"postgresql://goflow:pw@127.0.0.1:{free_port()}/none"]
    res = subprocess.run(cmd, capture_output=True, text=True, env=daemons.env(), timeout=120)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "connecting the catalog failed" in res.stderr and "Connection refused" in res.stderr
    assert "Traceback" not in res.stderr and ":pw@" not in res.stderr
    daemons.assert_none_left()


def test_database_restarted_under_load_every_instance_completes(pg_server, pg_url, daemons, calls, tmp_path):
    """300 instances of a 3-step flow (each call 50 ms) on 2 shards; the PostgreSQL server is
    stopped (pg_ctl stop -m fast) once 150 calls are made, and started again once /health reports
    store-unavailable for both shards. Every instance completes; every step was called once."""
    from actors.http_api import spawn
    n = 300
    eng = daemons.start(blueprints=[chain_blueprint(STEPS)], shards=2, env={"GOFLOW_TEST_SLOW": "0.05"},
                        store_url=pg_url)
    pids = daemons.remember(eng)
    api_port = free_port()
    api = spawn(eng.port, api_port, "127.0.0.1", data_dir=eng.data_dir, log_path=str(tmp_path / "api.log"),
                event_bytes=65536, watch_pid=pids["admin"], env=daemons.env())
    health = f"http://127.0.0.1:{api_port}/health"
    try:
        assert httpx.get(health, timeout=30).json()["status"] == "ok"
        ids = eng.start_many("rt/chain", [{"i": i} for i in range(n)], ids=[f"r{i:03d}" for i in range(n)])
        poll(lambda: sum(call_counts(calls).values()) >= 150, 30, interval=0.01, what="150 worker calls")
        stopped = time.monotonic()
        pg_server.stop_server("fast")
        try:
            poll(lambda: len(status.unavailable(eng.data_dir)) == 2, 30, interval=0.02,
                 what="both hosts to report the store unavailable")
            answer = httpx.get(health, timeout=30)
            assert answer.status_code == 503 and answer.json()["status"] == "store-unavailable"
            assert set(answer.json()["store"]["unavailable"]) == {"0", "1"}
            scrape = httpx.get(health.replace("/health", "/metrics"), timeout=30,
                               headers={"Authorization": f"Bearer {read_token(eng.data_dir)}"})
            assert scrape.status_code == 200 and "goflow_store_unavailable_shards 2.0" in scrape.text
            at_restart = sum(call_counts(calls).values())
        finally:
            pg_server.start_server()
        downtime = time.monotonic() - stopped
        done = eng.wait_all(ids, timeout=60)
        assert collections.Counter(d["status"] for d in done) == {"completed": n}
        assert status.unavailable(eng.data_dir) == {}
        assert httpx.get(health, timeout=30).json()["status"] == "ok"
        counts = call_counts(calls)
        assert set(counts) == {(i, s) for i in ids for s in range(1, STEPS + 1)}
        assert set(counts.values()) == {1}, {k: v for k, v in counts.items() if v > 1}
        rows = read_store(eng.data_dir, url=pg_url)
        assert collections.Counter((r.status, r.state) for r in rows.values()) == {("completed", "done"): n}
        print(f"instances: {n}; server down {downtime:.2f} s; calls before the restart {at_restart} "
              f"of {n * STEPS}; completed after: {n}")
        log = open(os.path.join(tmp_path, "daemon-1.log")).read()
        assert "store-unavailable" in log and "store-available" in log
    finally:
        os.kill(api, signal.SIGTERM)
        poll(lambda: not _alive(api), 15, what="the API process to exit")
        daemons.shutdown(eng)


def _alive(pid: int) -> bool:
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
