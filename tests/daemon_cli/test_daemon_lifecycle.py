"""The daemon driven through the ``goflow`` command only, in subprocesses, as an operator drives it:
start, deploy, start instances, send events, status/history/list, pause/resume/terminate, stop — and
no daemon process left behind."""
from __future__ import annotations

import json
import os
import signal

from cli_support import FAILING_FLOW, IDLE_FLOW, RUNNABLE, alive, one_line_error, wait_gone
from testkit import is_loopback, listening, poll


def test_operator_story(daemon, tmp_path):
    # start: pid file (admin pid), daemon.json, status --json
    proc = daemon.start()
    assert proc.returncode == 0, proc.stderr
    started = json.loads(proc.stdout)
    admin = started["pid"]
    assert (daemon.data / "goflow.pid").read_text().strip() == str(admin)
    status = json.loads(daemon.run("daemon", "status", "--json").stdout)
    assert status["running"] and status["pid"] == admin and status["port"] == daemon.port
    assert {"admin", "root", "dispatcher", "host-0", "host-1", "proxy-0", "proxy-1"} <= set(status["pids"])
    pids = set(status["pids"].values())

    # a second start for the same data directory is refused, the first daemon untouched
    again = daemon.run("daemon", "start")
    assert "already running" in one_line_error(again)

    # deploy the runnable example and a blueprint that waits for an event
    idle = tmp_path / "idle.json"
    idle.write_text(json.dumps(IDLE_FLOW))
    proc = daemon.run("deploy", str(RUNNABLE), str(idle), "--json")
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(proc.stdout)["deployed"]) == ["goflow/inquiry_local@1", "test/idle@1"]

    # start instances; the runnable one completes with its three workers' outputs in its context
    proc = daemon.run("start", "goflow/inquiry_local", "--input", '{"customer": 42}', "--id", "inq-1")
    assert proc.returncode == 0 and proc.stdout.strip() == "inq-1", proc.stderr
    input_file = tmp_path / "input.json"
    input_file.write_text('{"order": 7}')
    ids = []
    for _ in range(3):
        proc = daemon.run("start", "test/idle", "--input", f"@{input_file}", "--json")
        assert proc.returncode == 0, proc.stderr
        ids.append(json.loads(proc.stdout)["id"])
    a, b, c = ids

    st = json.loads(daemon.run("status", "inq-1", "--json").stdout)
    for _ in range(50):
        if st["status"] == "completed":
            break
        st = json.loads(daemon.run("status", "inq-1", "--json").stdout)
    assert {"id", "project", "activity", "version", "status", "state", "context"} <= set(st)
    assert (st["id"], st["project"], st["activity"], st["version"]) == ("inq-1", "goflow", "inquiry_local", 1)
    assert (st["status"], st["state"]) == ("completed", "done")
    assert st["context"]["customer"] == 42
    assert {"calculate_balance", "get_product", "calculate_voucher"} <= set(st["context"])
    hist = json.loads(daemon.run("history", "inq-1", "--order", "oldest", "--json").stdout)["history"]
    assert isinstance(hist, list) and hist
    assert [r["next"] for r in hist if r.get("outcome") == "applied"] == \
        ["calculate_balance", "get_product", "calculate_voucher", "done"]
    assert daemon.run("history", "inq-1").stdout.count("\n") >= len(hist)

    # send: an event the state refuses, unknown instance, malformed --data: one line each, no change
    st_a = json.loads(daemon.run("status", a, "--json").stdout)
    assert (st_a["status"], st_a["state"], st_a["context"]) == ("waiting", "waiting_for_go", {"order": 7})
    err = one_line_error(daemon.run("send", a, "stop"))
    assert "waiting_for_go" in err and "'stop'" in err and "'go'" in err
    assert "no instance 'nope'" in one_line_error(daemon.run("status", "nope"))
    assert "nope" in one_line_error(daemon.run("send", "nope", "go"))
    assert "--data: not valid JSON" in one_line_error(daemon.run("send", a, "go", "--data", "{oops"))
    assert "--input: not valid JSON" in one_line_error(daemon.run("start", "test/idle", "--input", "[1,"))
    assert "--input: expected a JSON object" in one_line_error(daemon.run("start", "test/idle", "--input", "[1]"))
    assert "no blueprint test/nothing" in one_line_error(daemon.run("start", "test/nothing"))
    assert json.loads(daemon.run("status", a, "--json").stdout)["state"] == "waiting_for_go"

    # send (with an event id, twice: applied once)
    res = json.loads(daemon.run("send", a, "go", "--data", '{"by": "test"}', "--event-id", "e1", "--json").stdout)
    assert (res["status"], res["state"]) == ("completed", "done")

    # pause / resume / terminate
    assert json.loads(daemon.run("pause", b, "--json").stdout)["status"] == "paused"
    assert daemon.run("send", b, "go").returncode == 0          # kept while paused
    assert json.loads(daemon.run("status", b, "--json").stdout)["status"] == "paused"
    assert json.loads(daemon.run("resume", b, "--json").stdout)["status"] == "completed"
    proc = daemon.run("terminate", c, "--reason", "test")
    assert proc.returncode == 0 and "terminated" in proc.stdout, proc.stderr
    assert "terminated" in one_line_error(daemon.run("send", c, "go"))

    # list, by blueprint and status
    rows = json.loads(daemon.run("list", "--json").stdout)["instances"]
    assert {r["id"] for r in rows} == {"inq-1", a, b, c}
    rows = json.loads(daemon.run("list", "--blueprint", "test/idle", "--status", "completed", "--json").stdout
                      )["instances"]
    assert {r["id"] for r in rows} == {a, b}
    assert "inq-1" in daemon.run("list").stdout
    status = json.loads(daemon.run("daemon", "status", "--json").stdout)
    assert status["instances"] == {"completed": 3, "terminated": 1}

    # a bad blueprint: its problems on stderr, one Error line, nothing deployed
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(dict(FAILING_FLOW, transitions=[])))
    proc = daemon.run("deploy", str(bad))
    assert proc.returncode == 1 and proc.stderr.splitlines()[-1].startswith("Error: ")
    assert "nothing deployed" in proc.stderr

    # stop: every process gone, pid files removed, status says so
    proc = daemon.run("daemon", "stop", "--json")
    assert proc.returncode == 0, proc.stderr
    assert wait_gone(pids, 2) == []
    assert not (daemon.data / "goflow.pid").exists() and not (daemon.data / "daemon.json").exists()
    status = daemon.run("daemon", "status", "--json")
    assert status.returncode == 1 and json.loads(status.stdout)["running"] is False
    assert "no GoFlow daemon is running" in daemon.run("daemon", "stop").stderr

    # a restart recovers the data directory: instances and blueprints are still there
    assert daemon.start().returncode == 0
    assert len(json.loads(daemon.run("list", "--json").stdout)["instances"]) == 4
    assert daemon.run("daemon", "stop").returncode == 0


def test_sigterm_to_the_admin_stops_every_process(daemon):
    proc = daemon.run("--log-level", "INFO", "daemon", "start", "--json")   # the level reaches the daemon
    assert proc.returncode == 0, proc.stderr
    pids = json.loads(proc.stdout)["pids"]
    daemon.seen.update(pids.values())
    log = (daemon.data / "daemon.log").read_text()
    started = [ln for ln in log.splitlines() if "event=daemon.started" in ln]
    assert started and " level=INFO logger=goflow.daemon " in started[0] and f"port={daemon.port}" in started[0]
    os.kill(pids["admin"], signal.SIGTERM)
    assert wait_gone(pids.values(), 20) == []
    # the stopper removes the pid files after the shutdown, then logs it
    poll(lambda: "event=daemon.stopped" in (daemon.data / "daemon.log").read_text(), 5,
         what="daemon.stopped in the log")
    assert not (daemon.data / "goflow.pid").exists()


def test_no_socket_of_the_daemon_listens_beyond_loopback(daemon):
    proc = daemon.start()
    assert proc.returncode == 0, proc.stderr
    pids = json.loads(proc.stdout)["pids"]
    sockets = [s for pid in pids.values() if alive(pid) for s in listening(pid)]
    assert any(port == daemon.port for _addr, port, _family in sockets)
    assert all(is_loopback(addr) for addr, _port, _family in sockets), sockets
