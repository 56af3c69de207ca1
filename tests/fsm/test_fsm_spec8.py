"""Unit tests of the SPEC §8 semantics of the pure FSM core: postpone, end states, the cancel handler,
retry and rewind, async answers (goflow.fsm's docstring states each)."""
from __future__ import annotations

import pytest

from goflow.errors import EventRefused, InstanceFinished, NotVisited, QueueFull, WrongStatus
from goflow.fsm import (
    COMPLETED, FAILED, PAUSED, RUNNING, TERMINATED, WAITING, CallWorker, CancelTimer, Finished, HookOutcome,
    Outcome, Pause, Resume, Retry, Rewind, Signal, Terminate, TimerFired, new_instance, react,
)
from goflow.model import Action, Blueprint, Transition, Worker

ID = "inst-8"


def T(current, event, action="", next="", delay=0.0, postpone=False):
    return Transition(current, event, action, next, delay, postpone)


def blueprint(*transitions, postpone=(), end=(), async_actions=None, hooks=()):
    async_actions = async_actions or {}
    names = sorted({t.action for t in transitions if t.action} - {"continue"})
    ends = {name for name, _ in end}
    states = tuple(sorted({s for t in transitions for s in (t.current, t.next) if s}
                          - {"init", "done"} - ends))
    actions = tuple(Action(n, "async", async_actions[n]) if n in async_actions else Action(n) for n in names)
    workers = tuple(Worker(n, f"python://w:{n}") for n in names) + tuple(Worker(h, "python://w:hook") for h in hooks)
    return Blueprint("p", "a", 1, states, actions, tuple(transitions), workers, postpone=tuple(postpone),
                     end=tuple(end))


def run(bp, *inputs, now=1.0, limit=100):
    """Start an instance and apply ``inputs``; returns (instance, records as (event, outcome))."""
    inst = new_instance(bp, ID, {}, 0.0)
    seen = []
    for inp in (Signal("start"),) + inputs:
        r = react(bp, inst, inp, now, postponed_limit=limit)
        inst = r.instance
        seen += [(x.event, x.outcome) for x in r.records]
        now += 1.0
    return inst, seen


# The order flow of issue 11: reserve (sync) -> wait for approval -> charge -> done; declined end state.
ORDER = blueprint(
    T("init", "start", "reserve", "reserving"), T("reserving", "success", "continue", "awaiting"),
    T("awaiting", "approve", "charge", "charging"), T("awaiting", "decline", "release", "declined"),
    T("charging", "success", "continue", "done"),
    postpone=("approve", "decline"), end=(("declined", "failed"),))


# ---------------------------------------------------------------------------------------- postpone
def test_an_event_the_state_cannot_take_yet_is_postponed_and_taken_after_the_change_of_state():
    inst, seen = run(ORDER, Signal("approve", {"by": "ann"}, "a-1"))
    assert inst.state == "reserving" and inst.status == RUNNING
    assert inst.postponed == (Signal("approve", {"by": "ann"}, "a-1"),) and inst.event_ids == ("a-1",)
    assert seen[-1] == ("approve", "postponed")
    r = react(ORDER, inst, Outcome(1, "success"), 9.0)
    assert r.instance.state == "charging" and r.instance.postponed == ()
    assert [(x.event, x.outcome) for x in r.records] == [("success", "applied"), ("approve", "applied")]
    assert r.instance.context["events"] == {"approve": {"by": "ann"}}
    assert r.commands == (CallWorker(ID, 2, "charge", "charging", "sync"),)


def test_a_listed_event_the_state_takes_is_postponed_while_a_sync_step_runs():
    bp = blueprint(T("init", "start", "work", "s1"), T("s1", "go", "continue", "done"),
                   T("s1", "success", "continue", "s1"), postpone=("go",))
    inst, seen = run(bp, Signal("go"))
    assert seen[-1] == ("go", "postponed") and inst.pending is not None
    r = react(bp, inst, Outcome(1, "success"), 5.0)
    assert r.instance.status == COMPLETED
    assert [(x.event, x.outcome) for x in r.records][:2] == [("success", "applied"), ("go", "applied")]


def test_oldest_first_and_each_change_of_state_offers_the_rest_again():
    bp = blueprint(T("init", "start", "work", "a"), T("a", "success", "continue", "b"),
                   T("b", "two", "continue", "c"), T("c", "one", "continue", "done"),
                   T("b", "one", "continue", "b2"), T("b2", "two", "continue", "done"),
                   postpone=("one", "two"))
    inst, _ = run(bp, Signal("two"), Signal("one"))
    r = react(bp, inst, Outcome(1, "success"), 9.0)
    # in b both are takeable: the oldest (two) goes first, then one in c
    assert [(x.event, x.state) for x in r.records if x.outcome == "applied"] == [
        ("success", "a"), ("two", "b"), ("one", "c")]
    assert r.instance.status == COMPLETED


def test_a_transition_level_postpone_only_applies_in_its_state():
    bp = blueprint(T("init", "start", "work", "a"), T("a", "x", postpone=True), T("a", "success", "continue", "b"),
                   T("b", "x", "continue", "done"), T("a", "y", "continue", "a"))
    inst, seen = run(bp)
    inst2 = react(bp, inst, Signal("x"), 3.0).instance
    assert inst2.postponed == (Signal("x"),)
    with pytest.raises(EventRefused):
        react(bp, inst, Signal("zzz"), 3.0)
    done = react(bp, inst2, Outcome(1, "success"), 4.0).instance
    assert done.status == COMPLETED


def test_a_postponed_event_the_new_state_refuses_is_recorded_refused():
    bp = blueprint(T("init", "start", "work", "a"), T("a", "x", postpone=True),
                   T("a", "success", "continue", "b"), T("b", "y", "continue", "done"), T("z", "x", "continue", "done"))
    inst, _ = run(bp, Signal("x"))
    r = react(bp, inst, Outcome(1, "success"), 5.0)
    assert [(x.event, x.outcome) for x in r.records] == [("success", "applied"), ("x", "refused")]
    assert r.instance.postponed == () and r.instance.state == "b"


def test_the_queue_is_bounded_and_the_refusal_leaves_the_instance_unchanged():
    inst, _ = run(ORDER, Signal("approve"), Signal("decline"), limit=2)
    assert len(inst.postponed) == 2
    with pytest.raises(QueueFull, match=r"postponed queue is full \(2 events, limits.postponed\)") as info:
        react(ORDER, inst, Signal("approve", None, "id-3"), 9.0, postponed_limit=2)
    assert isinstance(info.value, EventRefused) and info.value.event == "approve"
    assert len(inst.postponed) == 2 and "id-3" not in inst.event_ids


def test_a_repeated_event_id_is_a_duplicate_not_postponed_twice():
    inst, _ = run(ORDER, Signal("approve", None, "e1"))
    r = react(ORDER, inst, Signal("approve", None, "e1"), 9.0)
    assert r.duplicate and r.instance.postponed == inst.postponed


def test_events_still_postponed_at_the_end_are_dropped():
    inst, _ = run(ORDER, Signal("approve", None, "a"), Signal("decline", None, "d"))
    r = react(ORDER, inst, Outcome(1, "success"), 9.0)
    # approve is taken (charging); decline stays postponed (charging does not take it)
    assert r.instance.postponed == (Signal("decline", None, "d"),)
    r = react(ORDER, r.instance, Outcome(2, "success"), 10.0)
    assert r.instance.status == COMPLETED and r.instance.postponed == ()
    assert [(x.event, x.outcome, x.detail) for x in r.records][-1] == ("decline", "dropped", "d")


def test_terminate_drops_the_queue():
    inst, _ = run(ORDER, Signal("approve"))
    r = react(ORDER, inst, Terminate("stop"), 9.0)
    assert r.instance.status == TERMINATED and [(x.event, x.outcome) for x in r.records][-1] == ("approve", "dropped")


def test_while_paused_a_postponable_event_is_held_and_postponed_on_resume():
    inst, _ = run(ORDER, Pause(), Signal("approve"))
    assert inst.status == PAUSED and inst.inbox == (Signal("approve"),)
    r = react(ORDER, inst, Resume(), 9.0)
    assert r.instance.postponed == (Signal("approve"),)
    assert [(x.event, x.outcome) for x in r.records] == [("resume", "resumed"), ("approve", "postponed")]


def test_on_resume_beyond_the_bound_is_recorded_refused():
    inst, _ = run(ORDER, Signal("approve"), Pause(), Signal("decline"), limit=1)
    r = react(ORDER, inst, Resume(), 9.0, postponed_limit=1)
    assert [(x.event, x.outcome) for x in r.records] == [("resume", "resumed"), ("decline", "refused")]
    assert "postponed queue is full" in r.records[-1].detail


def test_an_async_steps_outcome_from_outside_is_not_postponed():
    bp = blueprint(T("init", "start", "ask", "s1"), T("s1", "yes", "continue", "done"), postpone=("yes",),
                   async_actions={"ask": 30.0})
    inst, seen = run(bp, Signal("yes"))      # the call is in flight: the event is its outcome
    assert inst.status == COMPLETED and ("yes", "applied") in seen


# ------------------------------------------------------------------------------------- end states
def test_an_end_state_ends_with_its_status_and_result():
    inst, seen = run(ORDER, Outcome(1, "success"), Signal("decline"))
    assert inst.state == "declined" and inst.status == RUNNING        # release runs first
    r = react(ORDER, inst, Outcome(2, "success"), 9.0)
    assert (r.instance.status, r.instance.result) == (FAILED, "declined")
    assert r.instance.reason == "ended in the end state 'declined'"
    assert r.commands == (Finished(ID, FAILED, "declined", "ended in the end state 'declined'"),)
    assert (r.records[-1].outcome, r.records[-1].detail) == (FAILED, {"result": "declined"})
    with pytest.raises(InstanceFinished):
        react(ORDER, r.instance, Signal("approve"), 10.0)


def test_done_gives_result_done():
    inst, _ = run(ORDER, Outcome(1, "success"), Signal("approve"), Outcome(2, "success"))
    assert (inst.status, inst.result, inst.reason) == (COMPLETED, "done", None)


def test_the_completion_hook_of_an_end_state_is_the_worker_named_after_it():
    bp = blueprint(T("init", "start", "continue", "cancelled"), end=(("cancelled", "completed"),),
                   hooks=("cancelled",))
    r = react(bp, new_instance(bp, ID, {}, 0.0), Signal("start"), 1.0)
    assert r.instance.status == COMPLETED and r.instance.result == "cancelled"
    assert r.commands == (CallWorker(ID, 1, "cancelled", "cancelled", "hook"), Finished(ID, COMPLETED, "cancelled"))
    h = react(bp, r.instance, HookOutcome(1, "success"), 2.0)
    assert [(x.action, x.outcome) for x in h.records] == [("cancelled", "hook-ok")]


# ------------------------------------------------------------------------------------------ cancel
CANCELLABLE = blueprint(
    T("init", "start", "reserve", "reserved"), T("reserved", "success", "continue", "waiting"),
    T("reserved", "cancel", "release", "releasing"), T("waiting", "cancel", "release", "releasing"),
    T("waiting", "go", "continue", "done"), T("releasing", "success", "continue", "cancelled"),
    end=(("cancelled", "completed"),))


def test_terminate_delivers_cancel_where_the_state_handles_it_superseding_the_step():
    inst, _ = run(CANCELLABLE)
    assert inst.pending.action == "reserve"
    r = react(CANCELLABLE, inst, Terminate("customer left"), 5.0)
    assert [(x.event, x.outcome) for x in r.records] == [("terminate", "cancelling"), ("cancel", "applied")]
    assert r.records[0].detail == "customer left"
    assert r.instance.state == "releasing" and r.instance.pending.action == "release"
    # the reserve step's late outcome is stale
    late = react(CANCELLABLE, r.instance, Outcome(1, "success"), 6.0)
    assert [(x.event, x.outcome) for x in late.records] == [("success", "stale")]
    done = react(CANCELLABLE, r.instance, Outcome(2, "success"), 7.0).instance
    assert (done.status, done.result) == (COMPLETED, "cancelled")


def test_terminate_without_a_cancel_transition_or_with_force_ends_at_once():
    inst, _ = run(CANCELLABLE)
    r = react(CANCELLABLE, inst, Terminate("now", force=True), 5.0)
    assert r.instance.status == TERMINATED and r.commands == (Finished(ID, TERMINATED, "reserved", "now"),)
    inst, _ = run(ORDER)
    assert react(ORDER, inst, Terminate("x"), 5.0).instance.status == TERMINATED


def test_a_paused_instance_terminated_leaves_the_pause_drops_what_it_held_and_cancels():
    inst, _ = run(CANCELLABLE, Pause(), Outcome(1, "success"))
    assert inst.status == PAUSED and len(inst.inbox) == 1
    r = react(CANCELLABLE, inst, Terminate("stop"), 5.0)
    assert [(x.event, x.outcome) for x in r.records] == [
        ("success", "dropped"), ("terminate", "cancelling"), ("cancel", "applied")]
    assert r.instance.status == RUNNING and r.instance.inbox == () and r.instance.state == "releasing"


def test_a_paused_instance_without_cancel_is_terminated():
    inst, _ = run(ORDER, Pause())
    assert react(ORDER, inst, Terminate("x"), 5.0).instance.status == TERMINATED


# --------------------------------------------------------------------------------- retry and rewind
FLAKY = blueprint(T("init", "start", "fetch", "fetched"), T("fetched", "success", "charge", "charged"),
                  T("charged", "success", "continue", "done"))


def test_retry_runs_the_failed_step_again_as_a_new_step():
    inst, _ = run(FLAKY, Outcome(1, "success"), Outcome(2, "error"))
    assert (inst.status, inst.state, inst.failed_action) == (FAILED, "charged", "charge")
    r = react(FLAKY, inst, Retry("cli"), 9.0)
    assert (r.instance.status, r.instance.state, r.instance.reason) == (RUNNING, "charged", None)
    assert r.commands == (CallWorker(ID, 3, "charge", "charged", "sync"),)
    assert [(x.event, x.outcome, x.action, x.detail) for x in r.records] == [("retry", "retried", "charge", "cli")]
    assert react(FLAKY, r.instance, Outcome(3, "success"), 10.0).instance.status == COMPLETED


@pytest.mark.parametrize("inputs,status", [((), RUNNING), ((Outcome(1, "success"), Outcome(2, "success")), COMPLETED),
                                           ((Terminate("t"),), TERMINATED)])
def test_retry_of_an_instance_that_is_not_failed_is_refused(inputs, status):
    inst, _ = run(FLAKY, *inputs)
    assert inst.status == status
    with pytest.raises(WrongStatus, match="only a failed instance can be retried"):
        react(FLAKY, inst, Retry(), 9.0)


def test_retry_of_a_failed_end_state_is_refused():
    inst, _ = run(ORDER, Outcome(1, "success"), Signal("decline"), Outcome(2, "success"))
    with pytest.raises(WrongStatus, match="end state 'declined'"):
        react(ORDER, inst, Retry(), 9.0)


def test_rewind_moves_to_a_visited_state_and_delivers_start_there():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "start", "work", "b"), T("b", "success", "continue", "c"),
                   T("c", "go", "continue", "done"))
    inst, _ = run(bp, Outcome(1, "error"))
    assert inst.status == FAILED and inst.visited == ("a", "b")
    r = react(bp, inst, Rewind("a", "api"), 9.0)
    assert [(x.event, x.outcome, x.next, x.detail) for x in r.records][0] == ("rewind", "rewound", "a", "api")
    assert (r.instance.state, r.instance.status) == ("b", RUNNING) and r.instance.step == 2
    with pytest.raises(NotVisited, match="never entered it"):
        react(bp, inst, Rewind("c"), 9.0)
    with pytest.raises(NotVisited, match="end state"):
        react(bp, inst, Rewind("done"), 9.0)


def test_rewind_of_a_waiting_instance_cancels_its_async_timer():
    bp = blueprint(T("init", "start", "ask", "s1"), T("s1", "yes", "continue", "done"), async_actions={"ask": 30.0})
    inst, _ = run(bp, Outcome(1, "success", accepted=True))
    assert inst.status == WAITING
    r = react(bp, inst, Rewind("init"), 9.0)
    assert r.commands[:2] == (CancelTimer(ID, 1), CallWorker(ID, 2, "ask", "s1", "async"))


@pytest.mark.parametrize("inputs", [(), (Pause(),), (Outcome(1, "success"), Outcome(2, "success"), Outcome(3, "success"))])
def test_rewind_in_the_wrong_status_is_refused(inputs):
    inst, _ = run(FLAKY, *inputs)
    with pytest.raises(WrongStatus, match="failed, terminated or waiting"):
        react(FLAKY, inst, Rewind("init"), 9.0)


def test_a_terminated_instance_can_be_rewound():
    inst, _ = run(FLAKY, Outcome(1, "success"), Terminate("oops"))
    r = react(FLAKY, inst, Rewind("fetched"), 9.0)
    assert (r.instance.status, r.instance.state) == (WAITING, "fetched")     # no start transition there


# ---------------------------------------------------------------------------------------- async answers
ASK = blueprint(T("init", "start", "ask", "s1"), T("s1", "success", "continue", "done"),
                T("s1", "approved", "continue", "done"), async_actions={"ask": 60.0})


def test_an_async_answer_naming_success_is_the_outcome_at_once():
    inst, seen = run(ASK, Outcome(1, "success", {"ok": 1}))
    assert inst.status == COMPLETED and inst.context["ask"] == {"ok": 1}


def test_an_async_answer_naming_an_event_is_the_outcome_at_once():
    r = react(ASK, run(ASK)[0], Outcome(1, "approved"), 3.0)
    assert r.instance.status == COMPLETED and r.commands[0] == CancelTimer(ID, 1)


def test_an_accepted_async_answer_waits():
    inst, seen = run(ASK, Outcome(1, "success", None, accepted=True))
    assert inst.status == WAITING and inst.pending.accepted and seen[-1] == ("success", "accepted")
    assert react(ASK, inst, TimerFired(1), 70.0).instance.status == FAILED


def test_an_accepted_answer_of_a_sync_step_is_its_success():
    inst, _ = run(FLAKY, Outcome(1, "success", None, accepted=True))
    assert inst.state == "charged"
