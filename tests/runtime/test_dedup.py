"""Event ids are de-duplicated for the instance's whole life (SPEC §6), and a paused instance holds a
bounded number of outside events (``limits.paused_events``): on a Shard over a real SQLite store with
the time given as an argument, and through an embedded engine."""
from __future__ import annotations

import pytest

from goflow.errors import EventRefused, InstanceFinished, PausedQueueFull, QueueFull
from goflow.fsm import EVENT_ID_WINDOW, Outcome, Pause, Resume, Signal, Terminate, new_instance, react
from goflow.loading import blueprint_from_document
from goflow.requests import Create, Item
from goflow.shard import Shard
from goflow.store import open_shard
from runtime_support import gate_blueprint, worker

BP = blueprint_from_document(gate_blueprint())
T0 = 1000.0
OTHERS = 300                      # more than the FSM's window of recent ids
assert OTHERS > EVENT_ID_WINDOW


class Counting:
    """A real store that counts the id lookups the shard makes (everything else passes through)."""

    def __init__(self, store):
        self.store, self.lookups = store, []

    def seen_event_ids(self, pairs):
        pairs = list(pairs)
        self.lookups.append(pairs)
        return self.store.seen_event_ids(pairs)

    def __getattr__(self, name):
        return getattr(self.store, name)


@pytest.fixture
def data(tmp_path):
    return tmp_path / "data"


def new_shard(data, *, url: str | None = None, **kw) -> tuple[Shard, object]:
    store = Counting(open_shard(data, 0, url=url))
    shard = Shard(store, [BP], clock=lambda: pytest.fail("the tests give the time"), **kw)
    return shard, store


@pytest.fixture
def shard(data):
    shard, store = new_shard(data)
    yield shard
    store.close()


def send(shard: Shard, *requests, now: float = T0) -> list:
    """Apply ``(instance, request)`` pairs as one batch; the replies in order."""
    fx = shard.handle([Item(iid, req, i) for i, (iid, req) in enumerate(requests)], now)
    return [r for r in sorted(fx.replies, key=lambda r: r.token)]


def poke(n: int, event_id: str | None = None) -> Signal:
    return Signal("poke", {"n": n}, f"id-{n}" if event_id is None else event_id)


def outcomes(shard: Shard, iid: str) -> list[str]:
    return [r.outcome for r in shard.store.history(iid) if r.event == "poke"]


def started(shard: Shard, iid: str = "a", others: int = OTHERS) -> None:
    send(shard, (iid, Create("rt", "gate", {})))
    for n in range(others + 1):                     # id-0 first, then the others
        [r] = send(shard, (iid, poke(n)), now=T0 + n)
        assert r.ok and r.value["duplicate"] is False


def test_an_id_repeated_after_300_other_ids_is_a_duplicate_and_not_applied(shard):
    started(shard)
    [r] = send(shard, ("a", poke(-1, "id-0")), now=T0 + 999)
    assert r.ok and r.value["duplicate"] is True
    assert shard.status("a")["context"]["events"]["poke"] == {"n": OTHERS}      # not {"n": -1}
    assert outcomes(shard, "a").count("applied") == OTHERS + 1
    assert outcomes(shard, "a")[-1] == "duplicate"


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_the_ids_are_remembered_across_a_restart(data, kind, request):
    url = request.getfixturevalue("pg_url") if kind == "postgres" else None
    shard, store = new_shard(data, url=url)
    started(shard)
    store.close()
    shard, store = new_shard(data, url=url)         # a new host process: the store is all it has
    shard.recover()
    try:
        replies = send(shard, ("a", poke(-1, "id-0")), ("a", poke(-2, f"id-{OTHERS}")), ("a", poke(-3, "new")))
        assert [r.value["duplicate"] for r in replies] == [True, True, False]
        assert shard.status("a")["context"]["events"]["poke"] == {"n": -3}
    finally:
        store.close()


def test_an_id_repeated_after_the_instance_ended_is_a_duplicate_not_a_refusal(shard):
    started(shard)
    send(shard, ("a", Terminate("enough")))
    [dup, new] = send(shard, ("a", poke(-1, "id-0")), ("a", poke(-2, "never-sent")))
    assert dup.ok and dup.value["duplicate"] is True and dup.value["status"] == "terminated"
    assert not new.ok and isinstance(new.value, InstanceFinished)


def test_an_id_repeated_within_one_batch_past_the_window_is_a_duplicate(shard):
    send(shard, ("a", Create("rt", "gate", {})))
    replies = send(shard, *[("a", poke(n)) for n in range(OTHERS)], ("a", poke(-1, "id-0")))
    assert [r.value["duplicate"] for r in replies] == [False] * OTHERS + [True]
    assert shard.status("a")["context"]["events"]["poke"] == {"n": OTHERS - 1}
    [again] = send(shard, ("a", poke(-1, "id-0")))          # and once committed, from the store
    assert again.value["duplicate"] is True


def test_the_same_id_on_another_instance_is_another_event(shard):
    send(shard, ("a", Create("rt", "gate", {})), ("b", Create("rt", "gate", {})))
    replies = send(shard, ("a", poke(1, "shared")), ("b", poke(2, "shared")))
    assert [r.value["duplicate"] for r in replies] == [False, False]


def test_a_refused_event_does_not_take_its_id(shard):
    send(shard, ("a", Create("rt", "gate", {})))
    [refused] = send(shard, ("a", Signal("nope", None, "x")))
    assert not refused.ok and isinstance(refused.value, EventRefused)
    [taken] = send(shard, ("a", poke(1, "x")))
    assert taken.ok and taken.value["duplicate"] is False


def test_one_store_lookup_per_batch_and_none_for_ids_in_the_window(shard):
    send(shard, ("a", Create("rt", "gate", {})), ("b", Create("rt", "gate", {})))
    store = shard.store
    store.lookups.clear()
    send(shard, ("a", poke(1)), ("b", poke(2)), ("a", poke(3)), ("a", Signal("poke")))
    assert store.lookups == [[("a", "id-1"), ("b", "id-2"), ("a", "id-3")]]   # one query, ids only
    store.lookups.clear()
    send(shard, ("a", poke(1)))                       # in the instance's window: no query
    assert store.lookups == []


# ------------------------------------------------------------------------------ the paused queue
def test_a_paused_instance_holds_at_most_paused_events_then_refuses_with_the_setting(data):
    shard, store = new_shard(data, paused_events=3)
    try:
        send(shard, ("a", Create("rt", "gate", {})), ("a", Pause()))
        replies = send(shard, *[("a", poke(n)) for n in range(4)])
        assert [r.ok for r in replies] == [True, True, True, False]
        err = replies[3].value
        assert isinstance(err, PausedQueueFull) and isinstance(err, QueueFull)
        assert err.instance_id == "a" and err.limit == 3
        assert "'a'" in str(err) and "3 events" in str(err) and "limits.paused_events" in str(err)
        [again] = send(shard, ("a", poke(3)))        # the refused id was not taken: it may come again
        assert isinstance(again.value, PausedQueueFull)
        send(shard, ("a", Resume()))
        st = shard.status("a")
        assert (st["status"], st["context"]["events"]["poke"]) == ("waiting", {"n": 2})
        assert outcomes(shard, "a").count("applied") == 3
        [after] = send(shard, ("a", poke(3)))         # resumed: taken, and the queue is empty again
        assert after.ok and after.value["duplicate"] is False
    finally:
        store.close()


def test_a_full_paused_queue_still_takes_the_runtime_s_own_inputs():
    bp = blueprint_from_document({
        "project": "rt", "activity": "busy", "states": ["s"], "actions": [{"name": "work", "type": "sync"}],
        "transitions": [{"current": "init", "event": "start", "action": "work", "next": "s"},
                        {"current": "s", "event": "poke", "action": "continue", "next": "s"},
                        {"current": "s", "event": "success", "action": "continue", "next": "done"}],
        "workers": [worker("work", "python://workers:ok")]})
    inst = react(bp, new_instance(bp, "a", {}, T0), Signal("start"), T0).instance
    inst = react(bp, inst, Pause(), T0).instance
    inst = react(bp, inst, poke(1), T0, paused_limit=1).instance
    with pytest.raises(PausedQueueFull):
        react(bp, inst, poke(2), T0, paused_limit=1)
    inst = react(bp, inst, Outcome(1, "success"), T0, paused_limit=1).instance   # a step's result
    assert len(inst.inbox) == 2 and isinstance(inst.inbox[1], Outcome)


def test_the_setting_reaches_an_embedded_engine(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()], paused_events=2)
    iid = eng.start("rt/gate")
    eng.pause(iid)
    eng.send(iid, "poke", {"n": 1}, event_id="p-1")
    eng.send(iid, "poke", {"n": 2})
    with pytest.raises(PausedQueueFull, match=r"already holds 2 events \(limits.paused_events\)"):
        eng.send(iid, "poke", {"n": 3})
    assert eng.send(iid, "poke", event_id="p-1")["duplicate"]


def test_a_failed_id_lookup_applies_nothing_and_every_caller_hears_why(shard):
    send(shard, ("a", Create("rt", "gate", {})))
    before = shard.status("a")
    shard.store.store.close()                      # the real store, closed: its lookup fails
    replies = send(shard, ("a", poke(1)), ("a", Signal("poke")))
    assert [r.ok for r in replies] == [False, False]
    assert all("store is closed" in str(r.value) for r in replies)
    assert shard.status("a") == before               # from memory: nothing was applied
