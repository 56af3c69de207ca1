"""Passivation under a crash (SPEC §11): 10,000 instances passivated (waiting for an event, some
delayed on a timer), the whole daemon killed with kill -9, restarted on the same data directory:
boot loads none of them, the timers fire from the store, and every instance takes its event and
completes."""
from __future__ import annotations

import sqlite3

from goflow.paging import every
from goflow.store import shard_path
from runtime_support import poll, resident_instances

N, DELAYED = 10_000, 1_000
DELAY = 10         # seconds: the timers are due after the kill (checked), and fire after the restart
WAIT = 300         # a bound on waiting for what must happen (a loaded machine is slow), not a speed check

GATE = {
    "project": "rt", "activity": "gate", "version": 1, "states": ["gate"], "actions": [],
    "transitions": [
        {"current": "init", "event": "start", "action": "continue", "next": "gate"},
        {"current": "gate", "event": "go", "action": "continue", "next": "done"},
    ]}
NAP = {           # delayed DELAY seconds on a durable timer, then waits in gate for "go"
    "project": "rt", "activity": "nap", "version": 1, "states": ["nap", "gate"], "actions": [],
    "transitions": [
        {"current": "init", "event": "start", "action": "continue", "next": "nap"},
        {"current": "nap", "event": "start", "action": "continue", "next": "gate", "delay": DELAY},
        {"current": "gate", "event": "go", "action": "continue", "next": "done"},
    ]}


def _marks(data_dir, shards: int = 2) -> tuple[int, int]:
    """(rows in flight, rows with a stored timer) over the shard files."""
    inflight = timers = 0
    for i in range(shards):
        db = sqlite3.connect(f"file:{shard_path(data_dir, i)}?mode=ro", uri=True)
        try:
            inflight += db.execute("SELECT count(*) FROM instances WHERE inflight = 1").fetchone()[0]
            timers += db.execute("SELECT count(*) FROM instances WHERE due IS NOT NULL").fetchone()[0]
        finally:
            db.close()
    return inflight, timers


def test_ten_thousand_passivated_instances_survive_a_kill_and_take_their_events(daemons):
    eng = daemons.start(blueprints=[GATE, NAP], shards=2, passivate_after=0.0, timeout=60.0)
    data_dir = eng.data_dir
    plain = [f"p{n:05d}" for n in range(N - DELAYED)]
    napping = [f"n{n:05d}" for n in range(DELAYED)]
    eng.start_many("rt/gate", [{} for _ in plain], ids=plain)
    eng.start_many("rt/nap", [{} for _ in napping], ids=napping)     # a timer each, due in DELAY s
    assert eng.counts() == {("rt", "gate", 1, "waiting"): N - DELAYED, ("rt", "nap", 1, "delayed"): DELAYED}
    poll(lambda: resident_instances(data_dir) == 0, 60, interval=0.1, what="every instance to be passivated")
    assert _marks(data_dir) == (0, DELAYED)          # nothing in flight; the timers are in the store
    daemons.kill(eng, daemons.remember(eng))
    assert _marks(data_dir) == (0, DELAYED), "a timer fired before the kill: the test proves less"

    eng2 = daemons.start(data_dir, shards=2, passivate_after=0.0, timeout=60.0)
    assert eng2.recovered == 0                         # boot loaded none of them
    # the timers of passivated instances fire from the store's due index
    poll(lambda: ("rt", "nap", 1, "delayed") not in eng2.counts(), WAIT, interval=0.2,
         what="every stored timer to fire")
    assert eng2.counts() == {("rt", "gate", 1, "waiting"): N - DELAYED, ("rt", "nap", 1, "waiting"): DELAYED}
    results = eng2.send_many([(iid, "go") for iid in plain + napping])
    assert [r for r in results if isinstance(r, Exception)] == []
    done = eng2.wait_all(plain + napping, timeout=WAIT)
    assert {d["status"] for d in done} == {"completed"}
    assert eng2.counts() == {("rt", "gate", 1, "completed"): N - DELAYED, ("rt", "nap", 1, "completed"): DELAYED}
    fired = [h for h in every(eng2.history, napping[0]) if h["outcome"] == "delay-elapsed"]
    assert len(fired) == 1
    daemons.shutdown(eng2)
