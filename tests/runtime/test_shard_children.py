"""The child-workflow protocol at one shard with a real SQLite store (goflow/_shard_children.py):
what a shard sends after its commit, a repeated create, a repeated notice, a lost acknowledgement
and the notice sent again, the recovery's re-sends. The items a shard sends are handed back to it by
the test, as a host would route them (here every instance lives in this one shard)."""
from __future__ import annotations

import pytest

from goflow._shard_children import unacknowledged
from goflow.fsm import ChildAck, ChildDone, Signal
from goflow.loading import blueprint_from_document
from goflow.requests import Create, Item
from goflow.shard import Shard
from goflow.store import open_shard
GATE = blueprint_from_document({                          # init -> gate, waits for "go" -> done
    "project": "rt", "activity": "gate", "states": ["gate"], "actions": [],
    "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "gate"},
                    {"current": "gate", "event": "go", "action": "continue", "next": "done"}]})
FAN = blueprint_from_document({
    "project": "rt", "activity": "fan", "states": ["run"],
    "actions": [{"name": "kids", "type": "workflow", "blueprint": "rt/gate", "forEach": "xs"}],
    "transitions": [{"current": "init", "event": "start", "action": "kids", "next": "run"},
                    {"current": "run", "event": "success", "action": "continue", "next": "done"}]})
T0 = 1000.0


@pytest.fixture
def store(tmp_path):
    s = open_shard(tmp_path, 0)
    yield s
    s.close()


def shard_on(store) -> Shard:
    return Shard(store, [GATE, FAN], clock=lambda: pytest.fail("the tests give the time"))


def kinds(items) -> list:
    return sorted((type(i.request).__name__, i.instance) for i in items)


def test_a_lost_ack_is_recovered_by_sending_the_notice_again(store):
    shard = shard_on(store)
    fx = shard.handle([Item("p", Create("rt", "fan", {"xs": [1, 2]}))], T0)
    assert kinds(fx.sends) == [("Create", "p~1~0"), ("Create", "p~1~1")]
    creates = fx.sends
    assert shard.handle(creates, T0).sends == []             # created; they wait for "go"
    assert shard.handle(creates, T0).sends == []             # a repeated create: nothing, no error
    assert [r.outcome for r in store.history("p~1~0")].count("created") == 1
    notices = shard.handle([Item("p~1~0", Signal("go")), Item("p~1~1", Signal("go"))], T0 + 1).sends
    assert kinds(notices) == [("ChildDone", "p"), ("ChildDone", "p")]
    assert unacknowledged(shard.cells.values(), T0 + 1)[1] == 2     # both wait for their acks
    acks = shard.handle(notices, T0 + 2).sends
    assert kinds(acks) == [("ChildAck", "p~1~0"), ("ChildAck", "p~1~1")]
    assert shard.status("p")["status"] == "completed"
    shard.handle(acks[:1], T0 + 3)                           # the other ack is lost
    again, waiting = unacknowledged(shard.cells.values(), T0 + 3)
    assert waiting == 1 and kinds(again) == [("ChildDone", "p")]
    assert unacknowledged(shard.cells.values(), T0 + 0.5)[0] == []   # not older than the bound yet
    assert kinds(shard.handle(again, T0 + 4).sends) == [("ChildAck", "p~1~1")]   # the parent acks a repeat
    assert [r.outcome for r in store.history("p")].count("child-ended") == 2      # counted once
    shard.handle([Item("p~1~1", ChildAck())], T0 + 5)
    assert unacknowledged(shard.cells.values(), T0 + 5) == ([], 0)
    assert "p~1~1" not in shard.cells                        # at rest: not live in the store either
    assert shard_on(store).recover().sends == []


def test_recovery_sends_the_creates_of_running_children_and_the_pending_notices(store):
    shard = shard_on(store)
    creates = shard.handle([Item("p", Create("rt", "fan", {"xs": [1, 2, 3]}))], T0).sends
    shard.handle(creates, T0)
    shard.handle([Item("p~1~2", Signal("go"))], T0 + 1)      # its notice is lost (never delivered)
    fx = shard_on(store).recover(T0 + 2)                     # the host restarts
    assert kinds(fx.sends) == [("ChildDone", "p"), ("Create", "p~1~0"), ("Create", "p~1~1"),
                               ("Create", "p~1~2")]
    again = shard_on(store)
    again.recover(T0 + 2)
    # a create of an ended child answers with its notice again
    sends = again.handle([i for i in fx.sends if i.instance == "p~1~2"], T0 + 2).sends
    assert kinds(sends) == [("ChildDone", "p")]


def test_a_child_that_cannot_be_created_is_an_error_for_its_parent(store):
    shard = shard_on(store)
    creates = shard.handle([Item("p", Create("rt", "fan", {"xs": [1]}))], T0).sends
    bad = [Item(c.instance, Create("rt", "nowhere", c.request.input, None, c.request.parent)) for c in creates]
    (done,) = shard.handle(bad, T0).sends
    assert isinstance(done.request, ChildDone) and done.request.event == "error"
    assert "could not start" in done.request.reason
    shard.handle([done], T0 + 1)
    assert shard.status("p")["status"] == "failed"


def test_a_parent_waiting_for_its_children_is_passivated_and_their_notices_load_it(store):
    """SPEC §11 and §8: a parent whose workflow step waits for its children has nothing of its own in
    flight: it leaves memory (passivate_after 0) while its children wait; each child's notice loads it
    again (and it leaves again while the other child runs); the last one completes it. Its store row
    stays marked for recovery (its children's creates are sent again), until the step ends."""
    shard = Shard(store, [GATE, FAN], clock=lambda: pytest.fail("the tests give the time"), passivate_after=0.0)
    creates = shard.handle([Item("p", Create("rt", "fan", {"xs": [1, 2]}))], T0).sends
    assert "p" not in shard.cells                            # passivated with its step's creates on their way
    assert [r.id for r in store.in_flight()] == ["p"]        # recovery still loads it
    shard.handle(creates, T0)
    assert set(shard.cells) == set()                         # the children wait for "go": idle too
    notice = shard.handle([Item("p~1~0", Signal("go"))], T0 + 1).sends
    assert kinds(notice) == [("ChildDone", "p")] and set(shard.cells) == {"p~1~0"}   # not acknowledged yet
    acks = shard.handle(notice, T0 + 2).sends                # loads the parent, which records the end
    assert kinds(acks) == [("ChildAck", "p~1~0")] and "p" not in shard.cells        # and leaves again
    assert shard.status("p", T0 + 2)["status"] == "running"
    shard.handle(acks, T0 + 3)
    notice = shard.handle([Item("p~1~1", Signal("go"))], T0 + 4).sends
    shard.handle(shard.handle(notice, T0 + 5).sends, T0 + 6)
    st = shard.status("p", T0 + 7)
    assert st["status"] == "completed" and [c["item"] for c in st["context"]["kids"]] == [1, 2]
    assert list(store.in_flight()) == [] and set(shard.cells) == set()


def test_a_passivated_parent_sends_its_creates_again_at_recovery_and_to_a_restarted_peer(store):
    """What a restarted host must send again holds for a passivated parent: recovery loads it (the
    creates of its children that have not ended), then it is idle and leaves memory; a peer host's
    restart (``outstanding``) finds it in the store without loading it."""
    shard = Shard(store, [GATE, FAN], clock=lambda: pytest.fail("the tests give the time"), passivate_after=0.0)
    creates = shard.handle([Item("p", Create("rt", "fan", {"xs": [1, 2]}))], T0).sends
    shard.handle(creates[:1], T0)                            # the second create is lost with its host
    assert "p" not in shard.cells
    again = shard.outstanding(lambda iid: iid.endswith("~1"))
    assert kinds(again) == [("Create", "p~1~1")] and "p" not in shard.cells
    assert kinds(shard.outstanding(lambda iid: True)) == [("Create", "p~1~0"), ("Create", "p~1~1")]
    restarted = Shard(store, [GATE, FAN], clock=lambda: pytest.fail("the tests give the time"),
                      passivate_after=0.0)
    fx = restarted.recover(T0 + 1)
    assert kinds(fx.sends) == [("Create", "p~1~0"), ("Create", "p~1~1")]
    assert "p" not in restarted.cells                        # idle once its creates are out
    assert restarted.handle(fx.sends, T0 + 1).sends == []    # one repeated, one new: both wait
    sends = restarted.handle([Item("p~1~0", Signal("go")), Item("p~1~1", Signal("go"))], T0 + 2).sends
    restarted.handle(restarted.handle(sends, T0 + 3).sends, T0 + 4)
    assert restarted.status("p", T0 + 5)["status"] == "completed"
    assert [r.outcome for r in store.history("p~1~1")].count("created") == 1
