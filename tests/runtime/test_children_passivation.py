"""SPEC §11 and §8 on a daemon: a parent waiting for its children has nothing of its own in flight,
so it leaves memory (``passivate_after: 0``) while its children wait for an event; each child's
notice loads it again. 1,000 parents, each with one child waiting for ``go``: every instance leaves
memory (the ``goflow_resident_instances`` gauge reaches 0) while the parents' store rows stay marked
for recovery; then the events complete the children and every parent completes. The ``kill-9``
variant kills the whole daemon while all of them are passivated: the new daemon loads the 1,000
parents (their children's creates are sent again, and each child is still created once), lets them
go again, and the events complete them as well. SQLite stores."""
from __future__ import annotations

import collections
import sqlite3

import pytest

from children_support import parent_blueprint
from goflow.store import shard_path
from runtime_support import poll, resident_instances, store_histories

pytestmark = pytest.mark.daemon
N = 1000
WAIT = 300      # a bound on waiting for what must happen (a loaded 2-core machine); nothing asserts speed
GATE = {"project": "rt", "activity": "gate", "states": ["gate"], "actions": [],
        "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "gate"},
                        {"current": "gate", "event": "go", "action": "continue", "next": "done"}]}
PARENT = parent_blueprint({"blueprint": "rt/gate"})


def _rows(data_dir, sql: str) -> collections.Counter:
    """``{first column: count}`` of ``sql`` over both shard files (read-only)."""
    out: collections.Counter = collections.Counter()
    for i in range(2):
        db = sqlite3.connect(f"file:{shard_path(data_dir, i)}?mode=ro", uri=True)
        try:
            for key, n in db.execute(sql):
                out[key] += n
        finally:
            db.close()
    return out


def _marked(data_dir) -> collections.Counter:
    """How many rows recovery loads, by activity."""
    return _rows(data_dir, "SELECT activity, count(*) FROM instances WHERE inflight = 1 GROUP BY activity")


@pytest.mark.parametrize("kill", [False, True], ids=["events", "kill-9"])
def test_1000_parents_waiting_for_their_children_leave_memory_and_complete(daemons, kill):
    eng = daemons.start(blueprints=[GATE, PARENT], shards=2, passivate_after=0.0, timeout=60.0)
    data_dir = eng.data_dir
    parents = eng.start_many("rt/parent", [{"n": i} for i in range(N)], ids=[f"p{i:04d}" for i in range(N)])
    kids = [f"{p}~1" for p in parents]
    poll(lambda: eng.counts().get(("rt", "gate", 1, "waiting")) == N, WAIT, interval=0.2,
         what="every child created and waiting")
    poll(lambda: resident_instances(data_dir) == 0, WAIT, interval=0.1, what="every parent and child to leave memory")
    assert eng.counts() == {("rt", "parent", 1, "running"): N, ("rt", "gate", 1, "waiting"): N}
    assert _marked(data_dir) == {"parent": N}          # recovery would load the parents, not the children
    if kill:
        daemons.kill(eng, daemons.remember(eng))
        eng = daemons.start(data_dir, shards=2, passivate_after=0.0, timeout=60.0)
        assert eng.recovered == N                      # the parents: their children's creates sent again
        poll(lambda: resident_instances(data_dir) == 0, WAIT, interval=0.1, what="the recovered parents to leave memory")
    results = eng.send_many([(kid, "go") for kid in kids])
    assert [r for r in results if isinstance(r, Exception)] == []
    done = eng.wait_all(parents, timeout=WAIT)
    bad = [d for d in done if d["status"] != "completed"]
    assert not bad, f"{len(bad)} parents did not complete; first: {bad[0]}"
    assert all(d["context"]["kids"]["n"] == int(d["id"][1:]) for d in done)     # each its own child's context
    poll(lambda: not _marked(data_dir), WAIT, interval=0.2, what="every notice acknowledged")
    assert resident_instances(data_dir) == 0
    daemons.shutdown(eng)
    histories = store_histories(data_dir, parents + kids)             # the stores, read-only
    assert len(histories) == 2 * N
    assert {iid: [r.outcome for r in h].count("created") for iid, h in histories.items()} == \
        dict.fromkeys(parents + kids, 1)                              # each created once
