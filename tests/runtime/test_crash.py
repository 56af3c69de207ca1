"""Crashes with a real ``kill -9``, on both stores (SQLite files, a real PostgreSQL server): of one host process and of the whole daemon while 1,000 instances
are mid-flight, of a daemon holding a durable timer, and of one holding queued events (paused, postponed).

What is proved, from the worker's call log (``<instance>:<step> <action>``, one O_APPEND write per
call; ``<instance>:<step>`` is the request's Idempotency-Key) and the shard stores:

* every instance reaches its exact final state (``done``, ``completed``, step 3): no step is lost;
* every step was called, and only the steps of the flow were;
* a step called more than once was called twice at most, and it was *in flight at the kill*: the
  transition that began it was committed before the kill and its outcome after it (history record
  times) -- and, for the whole-daemon kill, it is the pending step of the snapshot on disk while the
  daemon was down. The repeat carries the same key, by construction of the log line.
"""
from __future__ import annotations

import collections
import os
import signal
import time

import pytest

from actors.dispatcher import shard_of
from runtime_support import (call_counts, chain_blueprint, count_lines, gate_blueprint, kill_and_wait, poll,
                             read_calls, read_store, store_histories, wait_gone)
from goflow import snapshot
from goflow.errors import RequestTimeout
from goflow.paging import every

pytestmark = pytest.mark.daemon
N, STEPS = 1000, 3
CHAIN = "rt/chain"
SLOW = {"GOFLOW_TEST_SLOW": "0.1"}    # each call takes 100 ms: a kill finds hundreds of steps in flight
# how long a test waits for the instances to end: ~10 s on a quiet 2-core machine, several times that on a
# loaded one (CI, parallel runs); only a bound on a wait for what must happen, nothing asserts speed
WAIT = 180



@pytest.fixture(params=["sqlite", "postgres"])
def store_url(request) -> str:
    """Each crash test runs on both stores: SQLite files ("") and a real PostgreSQL database."""
    return "" if request.param == "sqlite" else request.getfixturevalue("pg_url")


@pytest.fixture(params=[60.0, 0.0], ids=["passivate-60s", "passivate-0s"])
def passivate_after(request) -> float:
    """... and with ``runtime.passivate_after`` at its default and at 0 s (every idle instance leaves
    memory at once: each event, timer and result loads it from the store again)."""
    return request.param


def _start_chain(daemons, calls, store_url="", passivate_after=60.0):
    eng = daemons.start(blueprints=[chain_blueprint(STEPS)], shards=2, env=SLOW, store_url=store_url,
                        passivate_after=passivate_after)
    ids = eng.start_many(CHAIN, [{"i": i} for i in range(N)], ids=[f"i{i:04d}" for i in range(N)])
    # kill once a good part of the calls is made and most are still to come: really mid-flight
    poll(lambda: count_lines(calls) >= N, 120, interval=0.01, what=f"{N} worker calls")
    return eng, ids


def _failures(eng, done) -> str:
    bad = [d for d in done if d["status"] != "completed"]
    if not bad:
        return ""
    return f"{len(bad)} not completed; first: {bad[0]['id']} {bad[0]['reason']}; history: {eng.history(bad[0]['id'])}"


def _step_times(history) -> tuple[dict, dict]:
    """When each step began (its transition committed) and ended (its outcome applied)."""
    begin, end = {}, {}
    for r in history:
        if r.outcome == "created":
            begin[1] = r.time
        elif r.outcome == "applied" and r.event == "success" and r.step is not None:
            end[r.step] = r.time
            begin[r.step + 1] = r.time
    return begin, end


def _check_run(data_dir, ids, calls, kill: tuple[float, float], allowed: set | None = None,
               url: str = "") -> int:
    """``kill``: times just before the SIGKILL and just after the processes were seen gone."""
    # every instance completed with every step called once, or twice when in flight at the kill
    rows = read_store(data_dir, url=url)
    assert len(rows) == N
    finals = collections.Counter((r.status, r.state) for r in rows.values())
    assert finals == {("completed", "done"): N}, finals
    for iid in ids[:: 50]:
        inst = snapshot.decode(rows[iid].snapshot, iid)
        assert inst.step == STEPS and [inst.context[f"s{k}"]["step"] for k in range(1, STEPS + 1)] == [1, 2, 3]
    counts = call_counts(calls)
    assert set(counts) == {(iid, s) for iid in ids for s in range(1, STEPS + 1)}, "a step was lost or invented"
    actions = {(iid, step): action for iid, step, action in read_calls(calls)}
    assert all(actions[(iid, s)] == f"s{s}" for iid, s in counts)
    repeated = {k: n for k, n in counts.items() if n > 1}
    assert max(repeated.values(), default=1) <= 2, repeated
    histories = store_histories(data_dir, sorted({iid for iid, _ in repeated}), url=url)
    for iid, step in repeated:
        begin, end = _step_times(histories.get(iid, []))
        assert begin[step] < kill[1] and end[step] >= kill[0], (
            f"{iid}:{step} was called twice but was not in flight at the kill "
            f"(began {begin.get(step)}, ended {end.get(step)}, kill between {kill[0]} and {kill[1]})")
    if allowed is not None:
        assert set(repeated) <= allowed, set(repeated) - allowed
    return len(repeated)


def test_kill_one_host_process_mid_flight(daemons, calls, store_url, passivate_after):
    eng, ids = _start_chain(daemons, calls, store_url, passivate_after)
    pids = daemons.remember(eng)
    victim = pids["host-0"]
    t_kill = time.time()
    os.kill(victim, signal.SIGKILL)
    wait_gone([victim])
    t_gone = time.time()
    at_kill = count_lines(calls)
    assert at_kill < N * STEPS, "every call was made before the kill: not mid-flight"
    # the root supervisor recreates the host, which reloads its shard and resumes its instances
    new = poll(lambda: (p := daemons.remember(eng)).get("host-0") not in (None, victim) and p, 60,
               interval=0.05, what="a new host-0")
    assert {k: v for k, v in new.items() if k != "host-0"} == {k: v for k, v in pids.items() if k != "host-0"}
    done = eng.wait_all(ids, timeout=WAIT)
    assert {d["status"] for d in done} == {"completed"}, _failures(eng, done)
    data_dir = eng.data_dir
    daemons.shutdown(eng)
    repeated = _check_run(data_dir, ids, calls, (t_kill, t_gone), url=store_url)
    # only instances of the killed host may have a step called again
    again = [iid for (iid, _s), n in call_counts(calls).items() if n > 1]
    assert all(shard_of(iid, 2) == 0 for iid in again), again
    print(f"calls at kill: {at_kill}/{N * STEPS}; steps called again: {repeated}")


def test_kill_whole_daemon_mid_flight_then_restart(daemons, calls, store_url, passivate_after):
    eng, ids = _start_chain(daemons, calls, store_url, passivate_after)
    data_dir = eng.data_dir
    pids = daemons.remember(eng)
    t_kill = time.time()
    daemons.kill(eng, pids)                    # admin, root, dispatcher, hosts, proxies: all at once
    t_gone = time.time()
    assert {"admin", "root", "dispatcher", "host-0", "host-1", "proxy-0", "proxy-1"} <= set(pids)
    at_kill = count_lines(calls)
    assert at_kill < N * STEPS, "every call was made before the kill: not mid-flight"
    # the store as the kill left it: the steps in flight are the pending steps of the snapshots
    rows = read_store(data_dir, url=store_url)
    assert len(rows) == N                      # every acknowledged start is durable
    unfinished = {iid: snapshot.decode(r.snapshot, iid) for iid, r in rows.items() if r.status != "completed"}
    in_flight = {(iid, inst.pending.step) for iid, inst in unfinished.items() if inst.pending is not None}
    assert len(in_flight) >= 100, f"only {len(in_flight)} steps in flight at the kill"
    assert all(inst.status == "running" for inst in unfinished.values())
    eng2 = daemons.start(data_dir, shards=2, env=SLOW, store_url=store_url,   # the same store, a new port
                         passivate_after=passivate_after)
    assert eng2.recovered == len(unfinished)
    done = eng2.wait_all(ids, timeout=WAIT)
    assert {d["status"] for d in done} == {"completed"}, _failures(eng2, done)
    daemons.shutdown(eng2)
    repeated = _check_run(data_dir, ids, calls, (t_kill, t_gone), allowed=in_flight, url=store_url)
    print(f"calls at kill: {at_kill}/{N * STEPS}; in flight: {len(in_flight)}; steps called again: {repeated}")


def _timer_blueprint(delay: float) -> dict:
    return {"project": "rt", "activity": "timer", "states": ["ticked"],
            "actions": [{"name": "tick", "type": "sync"}],
            "transitions": [
                {"current": "init", "event": "start", "action": "tick", "next": "ticked", "delay": delay},
                {"current": "ticked", "event": "success", "action": "continue", "next": "done"}],
            "workers": [{"name": "tick", "workerEndpoint": "python://workers:ok", "retryCount": 0,
                         "responseTimeout": 5, "priority": 1}]}


def test_durable_timer_fires_once_after_daemon_kill_and_restart(daemons, calls, store_url, passivate_after):
    """The instance is delayed 3 s and the whole daemon is killed (kill -9) before the timer fires; a
    new daemon on the same data directory re-arms the timer from the snapshot: the action runs exactly
    once, at or after its due time (history times and the due time are on the same clock). Nothing is
    asserted about how long anything took. (The overdue-at-recovery case, on a manual clock, is
    test_embedded.py::test_overdue_durable_timer_fires_at_recovery.)"""
    eng = daemons.start(blueprints=[_timer_blueprint(3)], shards=2, store_url=store_url,
                        passivate_after=passivate_after)
    iid = eng.start("rt/timer", id="timed")
    s = eng.status(iid)
    assert s["status"] == "delayed" and s["pending"]["kind"] == "delay"
    due = s["pending"]["due"]
    data_dir = eng.data_dir
    daemons.kill(eng, daemons.remember(eng))
    assert read_calls(calls) == [], "the timer fired before the kill: the test proves nothing"
    eng2 = daemons.start(data_dir, shards=2, store_url=store_url, passivate_after=passivate_after)
    assert eng2.recovered == 0                             # its timer is in the store's due index
    final = eng2.wait(iid, timeout=WAIT)
    assert final["status"] == "completed" and final["state"] == "done"
    assert call_counts(calls) == {(iid, 2): 1}             # the action ran once (step 2; step 1 is the delay)
    hist = list(every(eng2.history, iid))
    fired = [h for h in hist if h["outcome"] == "delay-elapsed"]
    assert len(fired) == 1 and fired[0]["time"] >= due
    daemons.shutdown(eng2)


QUEUES = {"project": "rt", "activity": "queues", "states": ["s", "t"], "postpone": ["later"], "actions": [],
          "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "s"},
                          {"current": "s", "event": "poke", "action": "continue", "next": "s"},
                          {"current": "s", "event": "open", "action": "continue", "next": "t"},
                          {"current": "t", "event": "later", "action": "continue", "next": "done"}],
          "workers": []}


def test_queued_events_survive_a_daemon_kill(daemons, store_url):
    """An instance with postponed events, then paused with events held, and the whole daemon killed
    (kill -9): the new daemon has both queues (rows apart from the snapshot), and resume applies the
    held events in order, then the postponed one its new state takes."""
    eng = daemons.start(blueprints=[QUEUES], shards=2, store_url=store_url)
    iid = eng.start("rt/queues", id="queued")
    eng.send(iid, "later", {"n": 1}, event_id="l-1")
    eng.send(iid, "later", {"n": 2})
    eng.pause(iid)
    for n in range(3):
        eng.send(iid, "poke", {"n": n})
    eng.send(iid, "open")
    data_dir = eng.data_dir
    daemons.kill(eng, daemons.remember(eng))
    eng2 = daemons.start(data_dir, shards=2, store_url=store_url)
    st = eng2.status(iid)
    assert (st["status"], st["state"], st["postponed"]) == ("paused", "s", ["later", "later"])
    assert eng2.send(iid, "later", {"n": 3}, event_id="l-1")["duplicate"] is True   # its id was kept too
    eng2.resume(iid)
    final = eng2.wait(iid, timeout=WAIT)
    assert (final["status"], final["state"], final["context"]["events"]["later"]) == ("completed", "done", {"n": 1})
    order = [(h["event"], h["outcome"]) for h in every(eng2.history, iid, order="oldest")
             if h["outcome"] in ("applied", "queued", "postponed", "dropped")]
    assert order == [("start", "applied"), ("later", "postponed"), ("later", "postponed"),
                     ("poke", "queued"), ("poke", "queued"), ("poke", "queued"), ("open", "queued"),
                     ("poke", "applied"), ("poke", "applied"), ("poke", "applied"), ("open", "applied"),
                     ("later", "applied"), ("later", "dropped")]
    assert final["context"]["events"]["poke"] == {"n": 2}                       # the last one held
    daemons.shutdown(eng2)


def test_kill_dispatcher_root_restarts_it_and_clients_find_the_new_one(daemons):
    """kill -9 of the dispatcher: the root creates a new one (a new address); a client's request to the
    dead one times out, the client then asks the root where the dispatcher is, and its next request
    goes through. Nothing was lost: the instances live in the hosts. (A request about one instance
    goes straight to its host, docs/runtime.md "The direct path": the dispatcher's death is not
    in its way.)"""
    eng = daemons.start(blueprints=[gate_blueprint()], shards=2, timeout=3.0)
    ids = eng.start_many("rt/gate", [{} for _ in range(20)])
    before = daemons.remember(eng)
    kill_and_wait([before["dispatcher"]])
    assert eng.status(ids[0])["state"] == "gate"  # to its host, directly
    with pytest.raises(RequestTimeout):
        eng.counts("rt/gate")                    # across hosts: sent to the dead dispatcher
    assert eng.counts("rt/gate") == {("rt", "gate", 1, "waiting"): 20}   # the new one
    after = daemons.remember(eng)
    assert after["dispatcher"] != before["dispatcher"]
    assert {k: v for k, v in after.items() if k != "dispatcher"} == \
        {k: v for k, v in before.items() if k != "dispatcher"}
    eng.send(ids[1], "go")
    assert eng.status(ids[1])["state"] != "gate"
    daemons.shutdown(eng)
