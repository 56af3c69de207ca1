"""Passivation in the shard (SPEC §11), on a real SQLite store with a manual clock: an idle instance
leaves memory after ``passivate_after`` seconds or past ``cache_size`` (least recently used first),
comes back on its next event, timer, wait or status, its timer fires from the store, and recovery
loads only the instances with work in flight."""
from __future__ import annotations

import sqlite3

import pytest

from goflow._shard_cache import awaits_children, in_flight, recovers
from goflow.fsm import Signal, TimerFired
from goflow.fsm_data import Instance, Join, Pending
from goflow.jobs import StepResult
from goflow.loading import blueprint_from_document
from goflow.requests import Create, Item, Wait
from goflow.shard import Shard
from goflow.store import open_shard
from goflow.testing import ManualClock
from runtime_support import SCHEMA_6_HISTORY, gate_blueprint

GATE = blueprint_from_document(gate_blueprint())
LATER = blueprint_from_document({
    "project": "rt", "activity": "later", "version": 1, "states": ["wait"], "actions": [],
    "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "wait"},
                    {"current": "wait", "event": "start", "action": "continue", "next": "done", "delay": 5}]})
T0 = 1000.0


@pytest.fixture
def clock():
    return ManualClock(T0)


@pytest.fixture
def make(tmp_path, clock):
    """``make(**shard options)``: a Shard over the same store file each time (a restart: the last
    shard's store is closed first)."""
    opened = []

    def make(**kw):
        if opened:
            opened[-1].close()
        store = open_shard(tmp_path, 0)
        opened.append(store)
        return Shard(store, [GATE, LATER], clock=clock, **kw)
    yield make
    if opened:
        opened[-1].close()


def send(shard: Shard, clock: ManualClock, *requests):
    fx = shard.handle([Item(iid, req, i) for i, (iid, req) in enumerate(requests)], clock())
    return fx, {r.token: r for r in fx.replies}


def test_an_idle_instance_is_passivated_after_passivate_after_and_loaded_by_status(make, clock):
    shard = make(passivate_after=60)
    send(shard, clock, ("a", Create("rt", "gate", {"n": 1})))
    assert "a" in shard.cells and shard.next_due() == T0 + 61     # the host wakes to passivate it (60 s + slack)
    clock.advance(59)
    assert shard.due_items() == [] and "a" in shard.cells
    send(shard, clock, ("b", Create("rt", "gate", {})))            # used 1 s before a's time is up
    clock.advance(1)
    assert shard.due_items() == [] and "a" not in shard.cells and shard.passivated == 1
    assert shard.next_due() == T0 + 59 + 61                         # b's turn
    clock.advance(60)
    assert shard.due_items() == [] and "b" not in shard.cells
    assert shard.next_due() is None                                  # nothing held, nothing to wake for
    loaded = shard.loaded
    view = shard.status("a")
    assert (view["state"], view["status"], view["input"]) == ("gate", "waiting", {"n": 1})
    assert shard.loaded == loaded + 1 and "a" in shard.cells        # in the cache again


def test_the_cache_keeps_the_most_recently_used_idle_instances(make, clock):
    shard = make(passivate_after=1000, cache_size=3)
    for iid in "abcde":
        send(shard, clock, (iid, Create("rt", "gate", {})))
        clock.advance(1)
    assert sorted(shard.cells) == ["c", "d", "e"]
    send(shard, clock, ("c", Signal("poke")))                        # c is used: d is the oldest now
    send(shard, clock, ("f", Create("rt", "gate", {})))
    assert sorted(shard.cells) == ["c", "e", "f"]
    _, replies = send(shard, clock, ("a", Signal("poke")))          # a passivated one takes its event
    assert replies[0].ok and replies[0].value["state"] == "gate"
    assert sorted(shard.cells) == ["a", "c", "f"]


def test_an_event_loads_a_passivated_instance_and_work_in_flight_keeps_it(make, clock):
    shard = make(passivate_after=0)
    send(shard, clock, ("a", Create("rt", "gate", {})))
    assert "a" not in shard.cells                                    # 0 s: passivated at once
    fx, replies = send(shard, clock, ("a", Signal("go", event_id="e1")))
    assert replies[0].value["state"] == "done" and [j.step for j in fx.jobs] == [1]
    assert "a" in shard.cells                                        # its step is in flight
    assert [j.key for j in shard.inflight()] == [("a", 1, "sync")]
    clock.advance(10)
    assert shard.due_items() == [] and "a" in shard.cells
    fx, replies = send(shard, clock, ("a", fx.jobs[0].done(StepResult("success", {"ok": 1}, ()))))
    assert replies[0].value["status"] == "completed" and "a" not in shard.cells
    _, replies = send(shard, clock, ("a", Signal("go", event_id="e1")))   # its event ids are in the store
    assert replies[0].ok and replies[0].value["duplicate"] is True


def test_a_waiter_loads_a_passivated_instance_and_keeps_it_resident(make, clock):
    shard = make(passivate_after=0)
    send(shard, clock, ("a", Create("rt", "gate", {})))
    assert "a" not in shard.cells
    fx, replies = send(shard, clock, ("a", Wait(state="held")))
    assert replies == {} and "a" in shard.cells
    clock.advance(100)
    shard.due_items()
    assert "a" in shard.cells                                        # the waiter keeps it
    fx, replies = send(shard, clock, ("a", Signal("hold")))
    assert replies[0].value["state"] == "held"
    assert "a" not in shard.waiters and "a" not in shard.cells      # answered, idle, passivated


def test_the_timer_of_a_passivated_instance_fires_from_the_store(make, clock):
    shard = make(passivate_after=0)
    send(shard, clock, ("a", Create("rt", "later", {})), ("b", Create("rt", "later", {})))
    assert shard.cells == {} and len(shard.timers) == 0              # no timer held in memory
    assert shard.next_due() == T0 + 5
    clock.advance(4)
    assert shard.due_items() == []
    clock.advance(1)
    items = shard.due_items()
    assert sorted((i.instance, type(i.request), i.request.step) for i in items) == \
        [("a", TimerFired, 1), ("b", TimerFired, 1)]
    shard.handle(items, clock())
    assert shard.status("a")["status"] == "completed" and shard.status("b")["status"] == "completed"
    assert shard.next_due() is None


def test_recovery_loads_only_the_instances_with_work_in_flight(make, clock):
    shard = make(passivate_after=3600)
    send(shard, clock, *[(f"w{n}", Create("rt", "gate", {})) for n in range(50)])
    send(shard, clock, *[(f"d{n}", Create("rt", "later", {})) for n in range(2)])
    send(shard, clock, *[(f"s{n}", Create("rt", "gate", {})) for n in range(3)])
    fx, _ = send(shard, clock, *[(f"s{n}", Signal("go")) for n in range(3)])   # three steps in flight
    assert len(fx.jobs) == 3 and len(shard.cells) == 55
    again = make(passivate_after=3600)                               # the host restarts
    fx = again.recover()
    assert again.loaded == 3 and sorted(again.cells) == ["s0", "s1", "s2"]   # 3 rows decoded, not 55
    assert sorted(j.instance for j in fx.jobs) == ["s0", "s1", "s2"]
    assert again.next_due() == T0 + 5                                # the delayed ones' timers: stored
    clock.advance(5)
    items = again.due_items()
    assert sorted(i.instance for i in items) == ["d0", "d1"]
    again.handle(items, clock())
    assert again.status("d0")["status"] == "completed"
    _, replies = send(again, clock, ("w7", Signal("go")))           # a passivated one takes its event
    assert replies[0].value["state"] == "done"


def test_a_store_of_the_previous_schema_is_recovered_whole_once_then_passivated(make, clock, tmp_path):
    shard = make(passivate_after=0)
    send(shard, clock, *[(f"w{n}", Create("rt", "gate", {})) for n in range(20)], ("d", Create("rt", "later", {})))
    shard.store.close()
    raw = sqlite3.connect(tmp_path / "shards" / "0.sqlite")          # as a version-4 store had it
    for statement in ("DROP INDEX instances_due", "DROP INDEX instances_inflight",
                      "ALTER TABLE instances DROP COLUMN due", "ALTER TABLE instances DROP COLUMN inflight",
                      "DROP TABLE queued", *SCHEMA_6_HISTORY,      # (versions 6 and 7)
                      "PRAGMA user_version=4"):
        raw.execute(statement)
    raw.commit()
    raw.close()
    first = make(passivate_after=0)
    assert first.recover().jobs == [] and first.loaded == 21 and first.cells == {}   # marks written back
    assert first.next_due() == T0 + 5
    second = make(passivate_after=0)
    second.recover()
    assert second.loaded == 0 and second.next_due() == T0 + 5


def test_in_flight_is_a_step_not_yet_accepted_or_a_hook():
    inst = Instance("i", "p", "a", 1)
    assert not in_flight(inst)
    assert in_flight(Instance("i", "p", "a", 1, pending=Pending(1, "w", "sync", T0)))
    assert in_flight(Instance("i", "p", "a", 1, pending=Pending(1, "w", "async", T0, T0 + 9)))
    assert not in_flight(Instance("i", "p", "a", 1, pending=Pending(1, "w", "async", T0, T0 + 9, accepted=True)))
    assert not in_flight(Instance("i", "p", "a", 1, pending=Pending(1, "w", "delay", T0, T0 + 9)))
    assert in_flight(Instance("i", "p", "a", 1, status="completed", hook_step=2))
    assert in_flight(Instance("i", "p", "a", 1, status="completed", notify=True))   # its end not acknowledged
    # a parent waiting for its children is idle (passivated), but recovery loads it: its children's
    # creates are sent again
    parent = Instance("i", "p", "a", 1, step=1, pending=Pending(1, "kids", "workflow", T0),
                      join=Join(1, "kids", (None,), (1,), False))
    assert not in_flight(parent) and awaits_children(parent) and recovers(parent)
    assert recovers(Instance("i", "p", "a", 1, pending=Pending(1, "w", "sync", T0)))
    assert not recovers(inst) and not awaits_children(inst)


def test_the_timer_wheel_does_not_keep_the_entries_of_cancelled_timers():
    from goflow.timers import TimerWheel
    wheel = TimerWheel()
    for n in range(5000):
        wheel.arm(f"i{n}", 1, T0 + n)
    for n in range(0, 5000, 2):             # half of them passivated with their timer
        wheel.cancel(f"i{n}", 1)
    for n in range(1, 4990, 2):
        wheel.cancel(f"i{n}", 1)
    assert len(wheel) == 5 and len(wheel._heap) <= 2 * 5 + 1024
    assert wheel.next_due() == T0 + 4991
    assert wheel.pop_due(T0 + 10_000) == [(f"i{n}", 1) for n in range(4991, 5000, 2)]
