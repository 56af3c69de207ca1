"""The shard's typed requests (goflow.requests, goflow.jobs), straight on a Shard over a real SQLite
store, with the time given as an argument: what each request does and answers, and what is not a
request."""
from __future__ import annotations

import pytest

from goflow.config import RetrySection
from goflow.errors import GoflowError, InstanceFinished, InstanceNotFound, InvalidInput
from goflow.fsm import Pause, Resume, Signal, Terminate
from goflow.history import Record
from goflow.jobs import Job, StepDone, StepResult
from goflow.loading import blueprint_from_document
from goflow.requests import Create, Item, Wait
from runtime_support import T0, gate_blueprint, handle, shard_on_disk

BP = blueprint_from_document(gate_blueprint())


@pytest.fixture
def shard(tmp_path):
    yield from shard_on_disk(tmp_path, BP)



def attempt(step: int, outcome: str = "200") -> Record:
    return Record(T0, "gate", None, "work", None, step, 1, "python://workers:ok", outcome, 0.01)


def test_create_starts_the_instance_and_answers_its_id_and_version(shard):
    fx, replies = handle(shard, ("a", Create("rt", "gate", {"n": 1})))
    assert replies[0].ok and replies[0].value == {"id": "a", "version": 1}
    assert fx.jobs == []                                  # init -start-> gate by continue: no worker
    s = shard.status("a")
    assert (s["state"], s["status"], s["input"]) == ("gate", "waiting", {"n": 1})


def test_create_refuses_an_input_that_is_not_an_object_and_commits_nothing(shard):
    _, replies = handle(shard, ("a", Create("rt", "gate", ["not", "an", "object"])))
    assert not replies[0].ok and isinstance(replies[0].value, InvalidInput)
    with pytest.raises(InstanceNotFound):
        shard.status("a")


def test_a_signal_that_begins_a_step_gives_a_job_with_its_workers(shard):
    handle(shard, ("a", Create("rt", "gate", {})))
    fx, replies = handle(shard, ("a", Signal("go")))
    assert replies[0].value["state"] == "done" and replies[0].value["status"] == "running"
    [job] = fx.jobs
    assert isinstance(job, Job)
    assert job.key == ("a", 1, "sync") and job.action == "work"
    # the blueprint's workers, their unset backoff fields filled from the retry.* settings
    assert job.workers == RetrySection().apply_to_blueprint(BP).workers_for("work") and job.workers
    assert all(w.retry_delay == RetrySection.retry_delay for w in job.workers)
    assert job.request["instance"] == "a" and job.request["step"] == 1 and job.request["state"] == "done"


def test_a_step_result_is_recorded_with_its_attempts_and_ends_a_wait(shard):
    handle(shard, ("a", Create("rt", "gate", {})))
    fx, _ = handle(shard, ("a", Signal("go")))
    [job] = fx.jobs
    assert shard.handle([Item("a", Wait(), "waiter")], T0).replies == []   # answered when it finishes
    done = job.done(StepResult("success", {"ok": True}, (attempt(1),)))
    assert done == StepDone(1, "sync", StepResult("success", {"ok": True}, (attempt(1),)))
    fx, replies = handle(shard, ("a", done), now=T0 + 1)
    assert replies[0].value["status"] == "completed"      # the result's own reply (no caller waits on it)
    [waiter] = [r for r in fx.replies if r.token == "waiter"]
    assert waiter.ok and waiter.value["status"] == "completed" and waiter.value["context"]["work"] == {"ok": True}
    history = shard.store.history("a")
    step_records = [(h.outcome, h.endpoint) for h in history if h.step == 1]
    assert step_records[0] == ("200", "python://workers:ok")   # the attempt first, then the FSM's records
    assert ("applied", None) in step_records[1:]


def test_a_late_step_result_for_a_finished_instance_is_recorded_as_stale(shard):
    handle(shard, ("a", Create("rt", "gate", {})))
    handle(shard, ("a", Signal("go")))
    handle(shard, ("a", Terminate("enough")))
    fx, replies = handle(shard, ("a", StepDone(1, "sync", StepResult("success", None, (attempt(1),)))))
    assert replies[0].ok and fx.jobs == []
    outcomes = [h.outcome for h in shard.store.history("a")]
    assert outcomes[-2:] == ["200", "stale"]


def test_wait_on_a_finished_instance_answers_at_once_and_on_an_unknown_one_refuses(shard):
    handle(shard, ("a", Create("rt", "gate", {})))
    handle(shard, ("a", Terminate("enough")))
    _, replies = handle(shard, ("a", Wait()), ("nobody", Wait()))
    assert replies[0].ok and replies[0].value["status"] == "terminated"
    assert not replies[1].ok and isinstance(replies[1].value, InstanceNotFound)


def test_management_requests_after_the_end_are_refused(shard):
    handle(shard, ("a", Create("rt", "gate", {})))
    handle(shard, ("a", Terminate("enough")))
    _, replies = handle(shard, ("a", Pause()), ("a", Resume()), ("a", Signal("go")))
    assert all(not r.ok and isinstance(r.value, InstanceFinished) for r in replies.values())


@pytest.mark.parametrize("request_", ["signal", ("signal", "go"), Job("a", 1, "sync", "work", {})],
                         ids=["op string", "tuple", "job"])
def test_what_is_not_a_request_is_refused_by_name_and_changes_nothing(shard, request_):
    handle(shard, ("a", Create("rt", "gate", {})))
    before = shard.status("a")
    _, replies = handle(shard, ("a", request_))
    assert not replies[0].ok and isinstance(replies[0].value, GoflowError)
    assert "is not a request to an instance (a)" in str(replies[0].value)
    assert shard.status("a") == before


def test_a_due_timer_comes_back_as_a_typed_request(shard):
    delayed = blueprint_from_document({
        "project": "rt", "activity": "later", "version": 1, "states": ["wait"], "actions": [],
        "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "wait"},
                        {"current": "wait", "event": "start", "action": "continue", "next": "done",
                         "delay": 5}]})
    shard.deploy(delayed)
    handle(shard, ("a", Create("rt", "later", {})))
    assert shard.due_items(T0 + 1) == []
    [item] = shard.due_items(T0 + 5)
    assert item.instance == "a" and type(item.request).__name__ == "TimerFired" and item.request.step == 1
    shard.handle([item], T0 + 5)
    assert shard.status("a")["status"] == "completed"


def test_wait_with_conditions_is_answered_by_the_commit_after_which_it_holds(shard):
    handle(shard, ("a", Create("rt", "gate", {})))                       # in gate, waiting
    fx, replies = handle(shard, ("a", Wait(state="gate")), ("a", Wait(status="waiting")),
                         ("a", Wait(state="held")), ("a", Wait(status="completed")), ("a", Wait()))
    assert sorted(replies) == [0, 1]                                      # those that hold: at once
    assert replies[0].value["state"] == "gate"
    assert {tok for tok, _w in shard.waiters["a"]} == {2, 3, 4}
    fx = shard.handle([Item("a", Signal("poke"), "p")], T0 + 1)            # a self-loop: nothing holds yet
    assert [r.token for r in fx.replies] == ["p"]
    fx = shard.handle([Item("a", Signal("hold"), "h")], T0 + 2)            # into held: the state waiter
    assert sorted(r.token for r in fx.replies if r.token != "h") == [2]
    fx = shard.handle([Item("a", Terminate("x", force=True), "t")], T0 + 3)  # ended: every other waiter
    assert sorted(r.token for r in fx.replies if r.token != "t") == [3, 4]
    assert "a" not in shard.waiters
