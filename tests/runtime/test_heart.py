"""The root's heart (SPEC §12, actors/heart.py): kill -9 of the root process while 1,000 instances are
mid-flight; the daemon heals with no operator action.

What is proved (the checks of test_crash.py): the root's dispatcher, hosts and proxies die with it
(linked to their parent), the admin starts a new root, which recovers every instance from the store;
every instance reaches its exact final state, every step was called, and a step called twice was in
flight at the kill. The client that was talking to the dead tree gets through again without being
reconnected by hand (its next requests are polled with a deadline). Every process of the daemon,
including the short-lived revive command, is gone at the end (the ``daemons`` fixture checks it).
"""
from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from runtime_support import Engine, count_lines, gate_blueprint, kill_and_wait, poll, wait_gone
from test_crash import N, STEPS, WAIT, _check_run, _failures, _start_chain
from goflow.errors import RequestFailed, RequestTimeout, RuntimeUnavailable

pytestmark = [pytest.mark.daemon, pytest.mark.slow]
TREE = ("root", "dispatcher", "host-0", "host-1", "proxy-0", "proxy-1")


def _serving(eng):
    """The daemon's process ids once a request goes through the client as it is (None on timeout)."""
    try:
        return eng.pids()
    except (RequestTimeout, RequestFailed):      # no answer, or the old tree failed on it (root gone)
        return None


def _new_client_serves(port: int, dead_root: int):
    """A client that connects now gets an answer from a new root (None while there is none)."""
    try:
        with Engine.connect(port, timeout=2.0) as eng:
            pids = eng.pids()
    except (RuntimeUnavailable, RequestTimeout, RequestFailed):
        return None
    return pids if pids.get("root") != dead_root else None


def _heal(eng, dead: dict) -> tuple[dict, float]:
    t0 = time.monotonic()
    pids = poll(lambda: (p := _serving(eng)) and p.get("root") not in (None, dead["root"]) and p, 60,
                interval=0.05, what="the daemon to serve again with a new root")
    return pids, time.monotonic() - t0


def test_kill_root_mid_flight_heart_restarts_the_tree_and_instances_go_on(daemons, calls):
    eng, ids = _start_chain(daemons, calls)
    eng.timeout = 3.0                         # a request to the dead tree gives up after 3 s
    data_dir = eng.data_dir
    before = daemons.remember(eng)
    t_kill = time.time()
    os.kill(before["root"], signal.SIGKILL)
    wait_gone([before[k] for k in TREE])      # the root's children die with it (linked)
    t_gone = time.time()
    at_kill = count_lines(calls)
    assert at_kill < N * STEPS, "every call was made before the kill: not mid-flight"
    port = _daemon_json(data_dir)["port"]
    t0 = time.monotonic()
    poll(lambda: _new_client_serves(port, before["root"]), 60, interval=0.05, what="a new client to be served")
    served = time.monotonic() - t0
    after, healed = _heal(eng, before)
    daemons.pids.update(after.values())
    assert after["admin"] == before["admin"]
    assert all(after[k] != before[k] for k in TREE), (before, after)
    done = eng.wait_all(ids, timeout=WAIT)
    assert {d["status"] for d in done} == {"completed"}, _failures(eng, done)
    daemons.shutdown(eng)
    repeated = _check_run(data_dir, ids, calls, (t_kill, t_gone))
    print(f"calls at kill: {at_kill}/{N * STEPS}; steps called again: {repeated}; a new client was served "
          f"{served:.2f}s after the tree was gone, the old client's next request {healed:.2f}s after that")


def test_root_killed_twice_heals_twice_and_a_new_client_connects(daemons):
    eng = daemons.start(blueprints=[gate_blueprint()], shards=2, timeout=3.0)
    ids = eng.start_many("rt/gate", [{} for _ in range(20)])
    first = daemons.remember(eng)
    kill_and_wait([first["root"]])
    second, _ = _heal(eng, first)
    kill_and_wait([second["root"]])
    third, _ = _heal(eng, second)
    daemons.pids.update([*second.values(), *third.values()])
    assert len({first["root"], second["root"], third["root"]}) == 3
    eng.timeout = 30.0      # it serves again: 3 s was for giving up on a dead tree, not for a loaded machine
    assert eng.status(ids[0])["state"] == "gate"
    eng.send(ids[0], "go")
    assert eng.wait(ids[0], timeout=20)["status"] == "completed"
    # the revive rewrites daemon.json after the new root serves: wait (bounded) for it to name it
    info = poll(lambda: (i := _daemon_json(eng.data_dir))["pids"]["root"] == third["root"] and i, 20,
                what="daemon.json to name the live root")
    other = type(eng).connect(info["port"], timeout=30.0)   # a client that never saw the old roots
    assert other.status(ids[1])["state"] == "gate"
    other.close()
    daemons.shutdown(eng)


def test_kill_admin_leaves_no_orphan(daemons):
    """The links work upwards too: kill -9 of the admin alone takes the root and its tree with it."""
    eng = daemons.start(blueprints=[gate_blueprint()], shards=2, timeout=3.0)
    pids = daemons.remember(eng)
    kill_and_wait([pids["admin"]])
    wait_gone([pids[k] for k in TREE])
    eng._asys = None
    daemons.assert_none_left(10.0)



def _daemon_json(data_dir) -> dict:
    with open(os.path.join(data_dir, "daemon.json")) as f:
        return json.load(f)


def test_the_http_api_serves_again_after_the_root_is_killed(daemons, tmp_path):
    """The HTTP API process is a client of the daemon like any other: after kill -9 of the root its
    requests go through again (polled with a deadline) and reach the instances of before."""
    import httpx

    from actors.daemon import add_process, stop
    from actors.http_api import spawn
    from runtime_support import free_port
    eng = daemons.start(blueprints=[gate_blueprint()], shards=2, timeout=3.0)
    ids = eng.start_many("rt/gate", [{} for _ in range(10)])
    data_dir, pids = eng.data_dir, daemons.remember(eng)
    port, api_port = _daemon_json(data_dir)["port"], free_port()
    api_pid = spawn(port, api_port, "127.0.0.1", data_dir=data_dir, log_path=str(tmp_path / "api.log"),
                    event_bytes=65536, watch_pid=pids["admin"], env=daemons.env())
    add_process(data_dir, "api", api_pid, api=f"http://127.0.0.1:{api_port}")
    headers = {"Authorization": f"Bearer {(Path(data_dir) / 'api.token').read_text().strip()}"}

    def get(path):
        try:
            return httpx.get(f"http://127.0.0.1:{api_port}{path}", headers=headers, timeout=60)
        except httpx.HTTPError:
            return None

    try:
        assert get(f"/instances/{ids[0]}").status_code == 200
        kill_and_wait([pids["root"]])
        wait_gone([pids[k] for k in TREE])
        t0 = time.monotonic()
        answer = poll(lambda: (r := get(f"/instances/{ids[0]}")) is not None and r.status_code == 200 and r,
                      90, interval=0.1, what="the HTTP API to answer again")
        print(f"the HTTP API answered again {time.monotonic() - t0:.2f}s after the tree was gone")
        assert answer.json()["state"] == "gate"
    finally:
        eng.close()
        stop(data_dir, port)
        daemons.assert_none_left()


def test_a_root_that_keeps_dying_is_left_dead_after_the_restart_intensity(daemons, tmp_path):
    """OTP's intensity: at most INTENSITY revivals within PERIOD s; the next death is logged
    (heart.gave_up) and no new root is booted."""
    from actors.heart import INTENSITY
    eng = daemons.start(blueprints=[gate_blueprint()], shards=1, timeout=3.0)
    port = _daemon_json(eng.data_dir)["port"]
    pids = daemons.remember(eng)
    for _ in range(INTENSITY):
        kill_and_wait([pids["root"]])
        # the revive is over once it wrote the new ids (killing a root mid-boot would fail its revive)
        pids = poll(lambda: (p := _daemon_json(eng.data_dir)["pids"])["root"] != pids["root"] and p, 60,
                    interval=0.05, what="a revived root in daemon.json")
        daemons.pids.update(pids.values())
    kill_and_wait([pids["root"]])
    log = tmp_path / f"daemon-{daemons.count}.log"
    poll(lambda: "event=heart.gave_up" in log.read_text(), 20, what="heart.gave_up in the log")
    with pytest.raises(RuntimeUnavailable, match="has not booted"):
        Engine.connect(port, timeout=3.0)           # a blank root, which nobody boots
    assert log.read_text().count("event=heart.revived") == INTENSITY
    eng.shutdown()                                  # the admin still stops what is left
    daemons.assert_none_left()
