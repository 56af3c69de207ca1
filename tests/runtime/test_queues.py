"""An instance's queues (inputs held while paused, postponed events: SPEC §8) as rows apart from the
snapshot, through a Shard over real stores (SQLite files, the suite's PostgreSQL server), the time
given as an argument: the snapshot keeps its size as a queue grows, the queues survive a restart in
order, the rows of an ended instance are deleted, the supervisor's restart reads them back, and a
store of the previous version (queues inside format-3 snapshots, schema 5) still loads."""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping

import msgpack
import pytest

from goflow import snapshot
from goflow.queues import encode_entry
from goflow.fsm import Outcome, Pause, Resume, Signal, Terminate
from goflow.loading import blueprint_from_document
from goflow.requests import Create, Item
from goflow.shard import Shard
from goflow.store import Change, open_shard
from runtime_support import SCHEMA_6_HISTORY, worker

T0 = 1000.0
# s: poke loops, work runs a sync step, open moves to t; `later` is postponed in s and taken in t
BP = blueprint_from_document({
    "project": "rt", "activity": "queues", "states": ["s", "t"], "postpone": ["later"],
    "actions": [{"name": "work", "type": "sync"}],
    "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "s"},
                    {"current": "s", "event": "poke", "action": "continue", "next": "s"},
                    {"current": "s", "event": "work", "action": "work", "next": "s"},
                    {"current": "s", "event": "success", "action": "continue", "next": "s"},
                    {"current": "s", "event": "open", "action": "continue", "next": "t"},
                    {"current": "t", "event": "later", "action": "continue", "next": "done"}],
    "workers": [worker("work", "python://workers:ok")]})


@pytest.fixture(params=["sqlite", "postgres"])
def opener(request, tmp_path):
    """Opens the store of shard 0 (again): SQLite under tmp_path, or the suite's PostgreSQL."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    opened = []

    def open_():
        store = open_shard(tmp_path / "data", 0, url=url)
        opened.append(store)
        return store
    yield open_
    for store in opened:
        store.close()


def shard_on(store, **kw) -> Shard:
    return Shard(store, [BP], clock=lambda: pytest.fail("the tests give the time"), **kw)


def send(shard: Shard, iid: str, *requests, now: float = T0) -> list:
    replies = shard.handle([Item(iid, r, n) for n, r in enumerate(requests)], now).replies
    assert all(r.ok for r in replies), [r.value for r in replies if not r.ok]
    return replies


def applied(store, iid: str) -> list:
    return [(r.event, r.outcome) for r in store.history(iid)]


def test_the_snapshot_keeps_its_size_while_the_queues_grow(opener):
    store = opener()
    shard = shard_on(store, postponed=50, paused_events=50)
    send(shard, "a", Create("rt", "queues", {}))
    sizes, rows = set(), []
    for n in range(40):                                  # postponed, one batch each
        send(shard, "a", Signal("later", {"n": n}))
        got = store.get("a")
        sizes.add(len(got.snapshot))
        rows.append(len(got.queue))
    send(shard, "a", Pause())
    paused = len(store.get("a").snapshot)
    for n in range(40):                                  # held while paused, one batch each
        send(shard, "a", Signal("poke", {"n": n}))
        got = store.get("a")
        assert len(got.snapshot) == paused
        rows.append(len(got.queue))
    assert len(sizes) == 1, sizes
    assert rows == list(range(1, 81))                    # one row more per event, none rewritten
    assert shard.status("a")["postponed"] == ["later"] * 40


def test_the_queues_survive_a_restart_in_order(opener):
    store = opener()
    shard = shard_on(store)
    send(shard, "a", Create("rt", "queues", {}))
    send(shard, "a", Signal("later", {"n": 1}, "l-1"), Signal("later", {"n": 2}))
    send(shard, "a", Pause(), Signal("poke", {"n": 1}), Signal("poke", {"n": 2}), Signal("open"))
    store.close()

    store = opener()                                     # a new host on the same store
    shard = shard_on(store)
    shard.recover(T0)
    st = shard.status("a", T0)                           # idle: loaded from the store on demand
    assert (st["status"], st["postponed"]) == ("paused", ["later", "later"])
    inst = shard._stored_cell("a").inst
    assert [(s.name, s.data) for s in inst.inbox] == [("poke", {"n": 1}), ("poke", {"n": 2}), ("open", None)]
    assert [s.event_id for s in inst.postponed] == ["l-1", None]
    [reply] = send(shard, "a", Resume(), now=T0 + 1)     # pokes, open, then the first later: done
    assert reply.value["status"] == "completed"
    assert applied(store, "a")[-7:] == [("resume", "resumed"), ("poke", "applied"), ("poke", "applied"),
                                        ("open", "applied"), ("later", "applied"), (None, "completed"),
                                        ("later", "dropped")]
    assert shard.cells.get("a") is None and store.get("a").queue == ()   # ended: its rows are deleted
    assert shard.store.get("a").snapshot[2] == snapshot.FORMAT_VERSION


def test_a_passivated_instance_comes_back_with_its_queues(opener):
    store = opener()
    shard = shard_on(store, passivate_after=0)           # idle instances leave memory after each batch
    send(shard, "a", Create("rt", "queues", {}))
    send(shard, "a", Signal("later", {"n": 1}))
    assert "a" not in shard.cells
    send(shard, "a", Signal("later", {"n": 2}), Pause(), Signal("poke", {"n": 1}))
    assert "a" not in shard.cells
    send(shard, "a", Signal("poke", {"n": 2}))           # loaded with both queues, one row more
    assert [len(store.get("a").queue)] == [4]
    [reply] = send(shard, "a", Resume(), Signal("open"))[1:]
    assert reply.value["status"] == "completed"
    taken = [(r.event, r.outcome, r.detail) for r in store.history("a") if r.outcome in ("applied", "dropped")]
    assert taken[-5:] == [("poke", "applied", None), ("poke", "applied", None), ("open", "applied", None),
                          ("later", "applied", None), ("later", "dropped", None)]
    assert store.get("a").queue == ()


def test_an_instance_ended_while_paused_leaves_no_row(opener):
    store = opener()
    shard = shard_on(store)
    send(shard, "a", Create("rt", "queues", {}))
    send(shard, "a", Signal("later"), Pause(), Signal("poke"), Signal("poke"))
    assert len(store.get("a").queue) == 3
    send(shard, "a", Terminate("enough"))
    assert store.get("a").status == "terminated" and store.get("a").queue == ()
    assert ("poke", "dropped") not in applied(store, "a")      # no cancel handler: held inputs just end
    assert ("later", "dropped") in applied(store, "a")


class FlakyOutput(Mapping):
    """A worker output that cannot be encoded the first time (the instance's handler crashes once)."""

    tries = 0

    def __getitem__(self, key):
        return {"ok": 1}[key]

    def __len__(self):
        return 1

    def __iter__(self):
        FlakyOutput.tries += 1
        if FlakyOutput.tries == 1:
            raise RuntimeError("flaky output")
        return iter(["ok"])


def test_the_supervisor_restarts_a_crashed_instance_with_its_queue_rows(opener):
    store = opener()
    shard = shard_on(store)
    send(shard, "a", Create("rt", "queues", {}))
    send(shard, "a", Signal("work"), Pause(), Signal("poke", {"n": 1}), Signal("poke", {"n": 2}))
    FlakyOutput.tries = 0
    send(shard, "a", Outcome(1, "success", FlakyOutput()))   # queued while paused: crashes once
    outcomes = [o for _, o in applied(store, "a")]
    assert outcomes[-2:] == ["restarted", "queued"]
    assert [type(e).__name__ for e in shard.cells["a"].inst.inbox] == ["Signal", "Signal", "Outcome"]
    assert [k for _, k, _ in store.get("a").queue] == ["inbox"] * 3
    send(shard, "a", Resume())
    assert applied(store, "a")[-4:] == [("resume", "resumed"), ("poke", "applied"), ("poke", "applied"),
                                        ("success", "stale")]       # the pokes superseded the step
    assert store.get("a").queue == ()


def format_3(inst) -> bytes:
    """The snapshot the previous GoFlow wrote for ``inst``: format 3, its queues inside."""
    p = msgpack.unpackb(snapshot.encode(inst)[snapshot.HEADER_SIZE:], strict_map_key=False)
    inbox = [msgpack.unpackb(encode_entry(inst.id, i)[6:]) for i in inst.inbox]
    payload = msgpack.packb(p[:11] + [inbox] + p[11:15] + [[[e.name, e.data, e.event_id] for e in inst.postponed]]
                            + p[15:], use_bin_type=True)
    import struct
    import zlib
    return struct.pack(">2sBII", b"GF", 3, len(payload), zlib.crc32(payload)) + payload


def test_a_data_dir_of_the_previous_version_loads_with_its_queues(tmp_path):
    data = tmp_path / "data"
    with open_shard(data, 0) as store:                   # build the instance as this version would...
        shard = shard_on(store)
        send(shard, "a", Create("rt", "queues", {}))
        send(shard, "a", Signal("later", {"n": 1}, "l-1"), Pause(), Signal("poke", {"n": 1}), Signal("open"))
        inst = shard.cells["a"].inst
        row = store.get("a")
        # ... then store it as the previous version did: the queues in a format-3 snapshot, no rows
        store.commit([Change("a", row.project, row.activity, row.version, row.status, row.state,
                             format_3(inst), (), row.created, row.updated, None, True, (),
                             unqueued=tuple(seq for seq, _, _ in row.queue))])
        path = store.path
    raw = sqlite3.connect(path)
    raw.execute("DROP TABLE queued")
    for statement in SCHEMA_6_HISTORY:                   # (version 7)
        raw.execute(statement)
    raw.execute("PRAGMA user_version=5")
    raw.commit()
    raw.close()

    with open_shard(data, 0) as store:                   # upgraded in place, the instance loads whole
        shard = shard_on(store)
        shard.recover(T0)
        send(shard, "a", Signal("poke", {"n": 2}))       # loaded with its queues; the commit writes the rows
        loaded = shard.cells["a"].inst
        assert (loaded.inbox, loaded.postponed) == (inst.inbox + (Signal("poke", {"n": 2}),), inst.postponed)
        row = store.get("a")
        assert row.snapshot[2] == snapshot.FORMAT_VERSION and len(row.queue) == 4
    with open_shard(data, 0) as store:
        shard = shard_on(store)
        shard.recover(T0)
        [reply] = send(shard, "a", Resume())
        assert reply.value["status"] == "completed"
        assert applied(store, "a")[-6:] == [("resume", "resumed"), ("poke", "applied"), ("open", "applied"),
                                            ("poke", "refused"), ("later", "applied"), (None, "completed")]
