"""The shard's Watch request (goflow.requests.Watch): the history records committed after a position,
at once when there are some, else held in ``Shard.waiters`` and answered by the instance's next commit
(no timer: the tests never advance a clock), until nothing more can come (the instance ended and its
completion hook's outcome is recorded). Straight on a Shard over a real SQLite store."""
from __future__ import annotations

import pytest

from goflow.errors import InstanceNotFound
from goflow.fsm import Signal, Terminate
from goflow.jobs import StepResult
from goflow.loading import blueprint_from_document
from goflow.requests import Create, Watch
from runtime_support import T0, gate_blueprint, handle, shard_on_disk, worker

DOC = gate_blueprint()
DOC["workers"].append(worker("done", "python://workers:ok"))        # the completion hook
BP = blueprint_from_document(DOC)


@pytest.fixture
def shard(tmp_path):
    yield from shard_on_disk(tmp_path, BP)



def follow(reply) -> Watch:
    """The Watch that goes on from a reply's position."""
    v = reply.value
    return Watch(v["after"], v["skip"], 100, "w")


def test_a_watch_is_answered_at_once_then_by_each_commit_then_ends_after_the_hook(shard):
    handle(shard, ("a", Create("rt", "gate", {})))
    _, replies = handle(shard, ("a", Watch(key="w")))
    first = replies[0].value
    assert [r["outcome"] for r in first["records"]] == ["created", "applied"]
    assert first["live"] and first["status"] == "waiting"
    # nothing new: held, not answered (no timer could answer it: the clock is never read)
    fx, replies = handle(shard, ("a", follow(replies[0])))
    assert replies == {} and len(shard.waiters["a"]) == 1
    # the next commit of the instance answers it with what that commit added
    fx, replies = handle(shard, ("a", Signal("go")), now=T0 + 1)
    assert replies[0].ok            # the event's own reply; the watch's token is 0 too: look at the values
    [watched] = [r for r in fx.replies if isinstance(r.value, dict) and "records" in r.value]
    assert [(r["event"], r["outcome"]) for r in watched.value["records"]] == [("go", "applied")]
    assert "a" not in shard.waiters
    [job] = fx.jobs
    fx, replies = handle(shard, ("a", follow(watched)))
    assert replies == {}
    fx, _ = handle(shard, ("a", job.done(StepResult("success", {"ok": 1}, ()))), now=T0 + 2)
    [watched] = [r for r in fx.replies if isinstance(r.value, dict) and "records" in r.value]
    # completed, but its hook is in flight: the watch goes on
    assert watched.value["status"] == "completed" and watched.value["live"]
    [hook] = fx.jobs
    assert hook.mode == "hook"
    fx, replies = handle(shard, ("a", follow(watched)))
    assert replies == {}
    fx, _ = handle(shard, ("a", hook.done(StepResult("success", None, ()))), now=T0 + 3)
    [last] = [r for r in fx.replies if isinstance(r.value, dict) and "records" in r.value]
    assert [r["outcome"] for r in last.value["records"]][-1].startswith("hook-")
    assert not last.value["live"] and not last.value["more"]
    # and a watch after the end is answered at once: nothing more, not live
    _, replies = handle(shard, ("a", follow(last)))
    assert replies[0].value["records"] == [] and not replies[0].value["live"]


def test_a_late_watcher_pages_from_its_position_and_each_record_comes_once(shard):
    handle(shard, ("a", Create("rt", "gate", {})))
    for n in range(7):
        handle(shard, ("a", Signal("poke", {"n": n})), now=T0 + n)
    handle(shard, ("a", Terminate("enough")), now=T0 + 10)
    everything = [r.to_dict() for r in shard.store.history("a")]
    got, watch = [], Watch(None, 3, 2, "w")          # position 3, pages of 2 records
    while True:
        _, replies = handle(shard, ("a", watch))
        v = replies[0].value
        got.extend(v["records"])
        if not v["live"] and not v["more"]:
            break
        watch = Watch(v["after"], v["skip"], 2, "w")
    assert got == everything[3:] and len(everything) > 8


def test_a_watch_of_a_change_in_the_same_batch_waits_for_its_commit(shard):
    handle(shard, ("a", Create("rt", "gate", {})))
    _, replies = handle(shard, ("a", Watch(key="w")))
    after = follow(replies[0])
    # the event first, then the watch, in one batch: the watch is answered after the commit, with it
    fx, replies = handle(shard, ("a", Terminate("enough")), ("a", after), now=T0 + 1)
    v = replies[1].value
    assert [r["outcome"] for r in v["records"]] == ["terminated"] and not v["live"]


def test_a_watch_of_the_same_key_replaces_the_one_held(shard):
    handle(shard, ("a", Create("rt", "gate", {})))
    _, replies = handle(shard, ("a", Watch(key="w")))
    handle(shard, ("a", follow(replies[0])))
    handle(shard, ("a", follow(replies[0])))
    handle(shard, ("a", Watch(replies[0].value["after"], replies[0].value["skip"], 100, "other")))
    assert [w.key for _t, w in shard.waiters["a"]] == ["w", "other"]


def test_a_watch_of_an_unknown_instance_is_refused(shard):
    _, replies = handle(shard, ("nobody", Watch()))
    assert not replies[0].ok and isinstance(replies[0].value, InstanceNotFound)
