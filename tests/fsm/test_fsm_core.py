"""Unit tests of the pure FSM core (goflow.fsm), one semantic of its docstring / SPEC §3 at a time.

Blueprints are built directly from goflow.model dataclasses; every ``now`` is explicit.
"""
from __future__ import annotations

from dataclasses import replace

import pytest

from goflow.errors import EventRefused, InstanceFinished
from goflow.fsm import (
    COMPLETED, DELAYED, EVENT_ID_WINDOW, FAILED, MAX_CHAIN, PAUSED, RUNNING, TERMINATED, WAITING,
    CallWorker, CancelTimer, Finished, HookOutcome, Instance, Outcome, Pause, Pending, Reaction, Resume,
    Signal, StartTimer, Terminate, TimerFired, new_instance, react,
)
from goflow.history import Record
from goflow.model import Action, Blueprint, Transition, Worker

ID = "inst-1"


def T(current, event, action, next, delay=0.0):
    return Transition(current, event, action, next, delay)


def blueprint(*transitions, async_actions=None, hook=False):
    """A blueprint whose every non-continue action is a sync action with one worker (unless named
    in ``async_actions``: name -> timeout), its states the non-reserved states the transitions use."""
    async_actions = async_actions or {}
    names = sorted({t.action for t in transitions} - {"continue"})
    states = tuple(sorted({s for t in transitions for s in (t.current, t.next)} - {"init", "done"}))
    actions = tuple(Action(n, "async", async_actions[n]) if n in async_actions else Action(n)
                    for n in names)
    workers = tuple(Worker(n, f"python://workers:{n}") for n in names)
    if hook:
        workers += (Worker("done", "python://workers:hook"),)
    return Blueprint("proj", "act", 1, states, actions, tuple(transitions), workers)


def start(bp, input=None, now=1.0) -> Reaction:
    return react(bp, new_instance(bp, ID, input, 0.0), Signal("start"), now)


def events(reaction: Reaction):
    return [(r.event, r.outcome) for r in reaction.records]


def refuse(bp, inst, sig, now=9.0) -> EventRefused:
    with pytest.raises(EventRefused) as info:
        react(bp, inst, sig, now)
    return info.value


# ------------------------------------------------------------------------------------------------ start
def test_new_instance_is_in_init_waiting_with_input_as_context():
    bp = blueprint(T("init", "start", "continue", "done"))
    doc = {"a": 1}
    inst = new_instance(bp, ID, doc, 5.0)
    assert (inst.state, inst.status, inst.step, inst.pending) == ("init", WAITING, 0, None)
    assert inst.input == {"a": 1} and inst.context == {"a": 1}
    assert inst.input is not doc and inst.context is not doc and inst.input is not inst.context
    assert (inst.created, inst.updated) == (5.0, 5.0)
    assert inst.blueprint_key == ("proj", "act", 1)
    assert new_instance(bp, ID, None, 0.0).context == {}


def test_start_begins_the_first_step():
    bp = blueprint(T("init", "start", "fetch", "s1"), T("s1", "success", "continue", "done"))
    r = start(bp, {"x": 1}, now=3.0)
    i = r.instance
    assert (i.state, i.status, i.step) == ("s1", RUNNING, 1)
    assert i.pending == Pending(1, "fetch", "sync", 3.0)
    assert r.commands == (CallWorker(ID, 1, "fetch", "s1", "sync"),)
    assert r.records == (Record(3.0, "init", "start", "fetch", "s1", None, outcome="applied"),)
    assert i.updated == 3.0 and i.created == 0.0
    assert not r.duplicate


def test_start_twice_is_refused():
    bp = blueprint(T("init", "start", "fetch", "s1"), T("s1", "success", "continue", "done"))
    i = start(bp).instance
    err = refuse(bp, i, Signal("start"))
    assert err.state == "s1" and err.accepted == ["success"]


def test_start_unhandled_in_init_is_refused():
    bp = blueprint(T("init", "go", "continue", "done"))
    inst = new_instance(bp, ID, {}, 0.0)
    err = refuse(bp, inst, Signal("start"))
    assert err.state == "init" and err.accepted == ["go"]


# ---------------------------------------------------------------------------------- continue / enter
def test_continue_into_a_state_with_start_inserts_start():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "start", "work", "b"),
                   T("b", "success", "continue", "done"))
    r = start(bp)
    assert r.instance.state == "b" and r.instance.status == RUNNING
    assert r.commands == (CallWorker(ID, 1, "work", "b", "sync"),)
    assert [(x.state, x.event, x.action, x.next) for x in r.records] == [
        ("init", "start", "continue", "a"), ("a", "start", "work", "b")]


def test_continue_into_a_state_without_start_waits():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "go", "continue", "done"))
    r = start(bp)
    assert (r.instance.state, r.instance.status, r.commands) == ("a", WAITING, ())
    assert r.instance.step == 0


def test_continue_self_loop_does_not_spin():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "start", "continue", "a"),
                   T("a", "go", "continue", "done"))
    r = start(bp)
    # entering a inserts start once; a's start is a self-loop: no further start
    assert r.instance.state == "a" and r.instance.status == WAITING
    assert events(r) == [("start", "applied"), ("start", "applied")]
    r2 = react(bp, r.instance, Signal("start"), 2.0)
    assert events(r2) == [("start", "applied")] and r2.instance.state == "a"


def test_continue_self_loop_by_user_event_does_not_insert_start():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "ping", "continue", "a"),
                   T("a", "start", "work", "b"), T("b", "success", "continue", "done"))
    r = start(bp)
    assert r.instance.state == "b"      # entering a inserted start
    bp2 = blueprint(T("init", "start", "continue", "a"), T("a", "ping", "continue", "a"),
                    T("a", "go", "work", "b"), T("b", "success", "continue", "done"))
    i = start(bp2).instance
    r2 = react(bp2, i, Signal("ping"), 2.0)
    assert r2.instance.state == "a" and r2.commands == () and events(r2) == [("ping", "applied")]


def test_worker_action_entering_a_state_does_not_insert_start():
    bp = blueprint(T("init", "start", "work", "a"), T("a", "start", "other", "b"),
                   T("a", "success", "continue", "done"), T("b", "success", "continue", "done"))
    r = start(bp)
    assert r.instance.state == "a" and r.commands == (CallWorker(ID, 1, "work", "a", "sync"),)


def test_continue_chain_to_done_completes_in_one_input():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "start", "continue", "b"),
                   T("b", "start", "continue", "done"))
    r = start(bp)
    assert (r.instance.state, r.instance.status) == ("done", COMPLETED)
    assert r.commands == (Finished(ID, COMPLETED, "done"),)
    assert [x.outcome for x in r.records] == ["applied"] * 3 + [COMPLETED]


def test_continue_cycle_is_bounded():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "start", "continue", "b"),
                   T("b", "start", "continue", "a"), T("a", "x", "continue", "done"))
    r = start(bp)
    assert r.instance.status == FAILED
    assert f"more than {MAX_CHAIN}" in r.instance.reason
    assert r.commands[-1] == Finished(ID, FAILED, r.instance.state, r.instance.reason)


# --------------------------------------------------------------------------------------- worker steps
LINEAR = blueprint(T("init", "start", "a1", "s1"), T("s1", "success", "a2", "s2"),
                   T("s2", "success", "continue", "done"), T("s1", "error", "continue", "done"),
                   T("s2", "error", "continue", "done"))


def test_steps_are_numbered_and_outcomes_advance():
    i = start(LINEAR).instance
    r = react(LINEAR, i, Outcome(1, "success", {"v": 1}), 2.0)
    i = r.instance
    assert (i.state, i.step, i.pending) == ("s2", 2, Pending(2, "a2", "sync", 2.0))
    assert r.commands == (CallWorker(ID, 2, "a2", "s2", "sync"),)
    assert r.records == (Record(2.0, "s1", "success", "a2", "s2", 1, outcome="applied"),)
    r = react(LINEAR, i, Outcome(2, "success"), 3.0)
    assert (r.instance.state, r.instance.status, r.instance.pending) == ("done", COMPLETED, None)


def test_outcome_of_a_wrong_step_is_stale():
    i = start(LINEAR).instance
    for o in (Outcome(0, "success"), Outcome(2, "success"), Outcome(7, "error")):
        r = react(LINEAR, i, o, 5.0)
        assert r.instance == replace(i, updated=5.0)
        assert r.commands == ()
        assert r.records == (Record(5.0, "s1", o.event, None, None, o.step, outcome="stale"),)


def test_outcome_superseded_by_outside_event_is_stale():
    bp = blueprint(T("init", "start", "slow", "s1"), T("s1", "cancel", "cleanup", "s2"),
                   T("s1", "success", "continue", "done"), T("s2", "success", "continue", "done"))
    i = start(bp).instance
    r = react(bp, i, Signal("cancel"), 2.0)
    i = r.instance
    assert (i.state, i.step, i.pending.action) == ("s2", 2, "cleanup")
    assert r.commands == (CallWorker(ID, 2, "cleanup", "s2", "sync"),)
    late = react(bp, i, Outcome(1, "success", {"late": True}), 3.0)
    assert late.instance == replace(i, updated=3.0) and "slow" not in late.instance.context
    assert events(late) == [("success", "stale")]


def test_outcome_with_no_pending_step_is_stale():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "go", "continue", "done"))
    i = start(bp).instance
    r = react(bp, i, Outcome(1, "success"), 2.0)
    assert events(r) == [("success", "stale")] and r.instance.state == "a"


def test_worker_named_event_chooses_the_branch():
    bp = blueprint(T("init", "start", "decide", "s1"), T("s1", "approved", "ship", "s2"),
                   T("s1", "rejected", "continue", "done"), T("s1", "success", "continue", "done"),
                   T("s2", "success", "continue", "done"))
    i = start(bp).instance
    r = react(bp, i, Outcome(1, "approved", {"ok": 1}), 2.0)
    assert r.instance.state == "s2" and r.commands == (CallWorker(ID, 2, "ship", "s2", "sync"),)
    r = react(bp, i, Outcome(1, "rejected"), 2.0)
    assert r.instance.status == COMPLETED


def test_unhandled_outcome_fails_the_instance():
    i = start(LINEAR).instance
    r = react(LINEAR, i, Outcome(1, "surprise"), 2.0)
    f = r.instance
    assert (f.status, f.state, f.pending) == (FAILED, "s1", None)
    assert "'surprise'" in f.reason and "'s1'" in f.reason and "error, success" in f.reason
    assert r.commands == (Finished(ID, FAILED, "s1", f.reason),)
    assert r.records == (Record(2.0, "s1", "surprise", None, None, 1, outcome=FAILED, detail=f.reason),)
    with pytest.raises(InstanceFinished):
        react(LINEAR, f, Signal("success"), 3.0)


def test_error_outcome_is_an_event():
    i = start(LINEAR).instance
    r = react(LINEAR, i, Outcome(1, "error"), 2.0)
    assert r.instance.status == COMPLETED and events(r)[0] == ("error", "applied")


# --------------------------------------------------------------------------------- timeout -> error
def test_timeout_is_delivered_where_handled():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "timeout", "retry", "s2"),
                   T("s1", "error", "continue", "done"), T("s2", "success", "continue", "done"))
    i = start(bp).instance
    r = react(bp, i, Outcome(1, "timeout"), 2.0)
    assert r.instance.state == "s2" and events(r) == [("timeout", "applied")]


def test_timeout_becomes_error_where_timeout_is_not_handled():
    i = start(LINEAR).instance
    r = react(LINEAR, i, Outcome(1, "timeout"), 2.0)
    assert events(r)[0] == ("error", "applied") and r.instance.status == COMPLETED


def test_timeout_with_neither_handler_fails_naming_error():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "success", "continue", "done"))
    i = start(bp).instance
    r = react(bp, i, Outcome(1, "timeout"), 2.0)
    assert r.instance.status == FAILED and "'error'" in r.instance.reason


# ---------------------------------------------------------------------------------- outside events
def test_unhandled_outside_event_is_refused_and_changes_nothing():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "success", "continue", "s2"),
                   T("s1", "cancel", "continue", "done"), T("s2", "go", "continue", "done"))
    i = start(bp).instance
    err = refuse(bp, i, Signal("nope", {"d": 1}, "ev-1"))
    assert err.instance_id == ID and err.state == "s1" and err.event == "nope"
    assert err.accepted == ["cancel", "success"]
    msg = str(err)
    assert "'s1'" in msg and "'nope'" in msg and "'cancel', 'success'" in msg
    # refused: the event id is not remembered, so the same id can be used for an accepted event later
    r = react(bp, i, Signal("cancel", None, "ev-1"), 3.0)
    assert not r.duplicate and r.instance.status == COMPLETED


def test_state_with_no_transitions_refuses_naming_no_events():
    bp = blueprint(T("init", "start", "continue", "s1"))
    i = start(bp).instance
    err = refuse(bp, i, Signal("x"))
    assert err.accepted == [] and "no events" in str(err)


def test_outside_event_supersedes_a_pending_sync_step():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "cancel", "continue", "s2"),
                   T("s1", "success", "continue", "done"), T("s2", "go", "continue", "done"))
    i = start(bp).instance
    r = react(bp, i, Signal("cancel"), 2.0)
    assert (r.instance.state, r.instance.pending, r.instance.status) == ("s2", None, WAITING)
    assert r.commands == ()     # a sync step has no timer to cancel


def test_signal_data_goes_to_context_events():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "go", "continue", "b"),
                   T("b", "go", "continue", "done"))
    i = start(bp, {"in": 1}).instance
    i = react(bp, i, Signal("go", {"n": 1}), 2.0).instance
    assert i.context == {"in": 1, "events": {"go": {"n": 1}}}
    i = react(bp, i, Signal("go", [2]), 3.0).instance
    assert i.context == {"in": 1, "events": {"go": [2]}}
    assert i.input == {"in": 1}


def test_signal_data_superseding_a_sync_step_goes_to_context_events():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "cancel", "continue", "s2"),
                   T("s1", "success", "continue", "done"), T("s2", "go", "continue", "done"))
    i = start(bp).instance
    r = react(bp, i, Signal("cancel", {"why": "user"}), 2.0)
    assert r.instance.context == {"events": {"cancel": {"why": "user"}}}


# ------------------------------------------------------------------------------------------- delay
DELAYED_BP = blueprint(T("init", "start", "continue", "wait"), T("wait", "start", "remind", "s1", 30.0),
                       T("s1", "success", "continue", "done"), T("s1", "cancel", "continue", "done"),
                       T("s1", "error", "continue", "done"))


def test_delay_arms_a_timer_and_defers_the_action():
    r = start(DELAYED_BP, now=10.0)
    i = r.instance
    assert (i.state, i.status, i.step) == ("s1", DELAYED, 1)
    assert i.pending == Pending(1, "remind", "delay", 10.0, 40.0, enter=True)
    assert r.commands == (StartTimer(ID, 1, 40.0),)


def test_delay_fires_on_timer():
    i = start(DELAYED_BP, now=10.0).instance
    r = react(DELAYED_BP, i, TimerFired(1), 40.0)
    assert r.instance.status == RUNNING and r.instance.step == 2
    assert r.instance.pending == Pending(2, "remind", "sync", 40.0)
    assert r.commands == (CallWorker(ID, 2, "remind", "s1", "sync"),)
    assert events(r) == [("timer", "delay-elapsed")]
    r2 = react(DELAYED_BP, r.instance, Outcome(2, "success"), 41.0)
    assert r2.instance.status == COMPLETED


def test_stale_timer_and_outcome_during_delay_are_ignored():
    i = start(DELAYED_BP, now=10.0).instance
    for inp in (TimerFired(0), TimerFired(2), Outcome(1, "success")):
        r = react(DELAYED_BP, i, inp, 20.0)
        assert r.instance == replace(i, updated=20.0) and r.commands == ()
        assert [x.outcome for x in r.records] == ["stale"]


def test_accepted_outside_event_supersedes_the_delay():
    i = start(DELAYED_BP, now=10.0).instance
    r = react(DELAYED_BP, i, Signal("cancel"), 20.0)
    assert r.instance.status == COMPLETED
    assert r.commands == (CancelTimer(ID, 1), Finished(ID, COMPLETED, "done"))
    late = react(DELAYED_BP, r.instance, TimerFired(1), 40.0)
    assert events(late) == [("timer", "stale")] and late.commands == ()


def test_outside_event_not_accepted_during_delay_is_refused():
    i = start(DELAYED_BP, now=10.0).instance
    err = refuse(DELAYED_BP, i, Signal("go"))
    assert err.state == "s1" and err.accepted == ["cancel", "error", "success"]


def test_delayed_continue_inserts_start_when_it_fires():
    bp = blueprint(T("init", "start", "continue", "a", 5.0), T("a", "start", "w", "b"),
                   T("b", "success", "continue", "done"))
    r = start(bp, now=1.0)
    assert r.instance.status == DELAYED and r.instance.pending.enter
    r = react(bp, r.instance, TimerFired(1), 6.0)
    assert r.instance.state == "b" and r.commands == (CallWorker(ID, 2, "w", "b", "sync"),)


def test_delayed_continue_self_loop_does_not_insert_start():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "tick", "continue", "a", 5.0),
                   T("a", "start", "continue", "a"), T("a", "stop", "continue", "done"))
    i = start(bp).instance
    r = react(bp, i, Signal("tick"), 2.0)
    assert r.instance.pending.enter is False
    r = react(bp, r.instance, TimerFired(r.instance.step), 7.0)
    assert r.instance.status == WAITING and events(r) == [("timer", "delay-elapsed")]


def test_delay_into_done_completes_when_it_fires():
    bp = blueprint(T("init", "start", "continue", "done", 5.0))
    r = start(bp, now=1.0)
    assert (r.instance.state, r.instance.status) == ("done", DELAYED)
    refuse(bp, r.instance, Signal("anything"))
    r = react(bp, r.instance, TimerFired(1), 6.0)
    assert r.instance.status == COMPLETED


# ------------------------------------------------------------------------------------------- async
ASYNC_BP = blueprint(T("init", "start", "approve", "s1"), T("s1", "approved", "continue", "done"),
                     T("s1", "rejected", "continue", "s2"), T("s1", "error", "continue", "s2"),
                     T("s2", "retry", "continue", "done"),
                     async_actions={"approve": 60.0})


def test_async_call_arms_its_timeout():
    r = start(ASYNC_BP, now=10.0)
    assert r.commands == (CallWorker(ID, 1, "approve", "s1", "async"), StartTimer(ID, 1, 70.0))
    assert r.instance.pending == Pending(1, "approve", "async", 10.0, 70.0)
    assert r.instance.status == RUNNING


def test_async_accepted_then_outcome_as_outside_event():
    i = start(ASYNC_BP, now=10.0).instance
    r = react(ASYNC_BP, i, Outcome(1, "success", {"ticket": 7}, accepted=True), 11.0)
    i = r.instance
    assert i.status == WAITING and i.pending == Pending(1, "approve", "async", 10.0, 70.0, accepted=True)
    assert i.context == {"approve": {"ticket": 7}}
    assert r.commands == () and events(r) == [("success", "accepted")]
    # a second outcome of the call after acceptance is stale
    assert events(react(ASYNC_BP, i, Outcome(1, "error"), 12.0)) == [("error", "stale")]
    r = react(ASYNC_BP, i, Signal("approved", {"by": "bob"}), 20.0)
    assert r.instance.context == {"approve": {"by": "bob"}}
    assert r.instance.status == COMPLETED
    assert r.commands == (CancelTimer(ID, 1), Finished(ID, COMPLETED, "done"))


def test_async_outcome_event_not_handled_is_refused():
    i = react(ASYNC_BP, start(ASYNC_BP).instance, Outcome(1, "success", accepted=True), 2.0).instance
    refuse(ASYNC_BP, i, Signal("maybe"))


def test_async_timeout_maps_to_error():
    i = react(ASYNC_BP, start(ASYNC_BP, now=10.0).instance, Outcome(1, "success", accepted=True), 11.0).instance
    r = react(ASYNC_BP, i, TimerFired(1), 70.0)
    assert r.instance.state == "s2" and events(r) == [("error", "applied")]
    assert r.instance.pending is None and r.commands == ()


def test_async_timeout_delivered_where_handled():
    bp = blueprint(T("init", "start", "approve", "s1"), T("s1", "timeout", "continue", "late"),
                   T("s1", "approved", "continue", "done"), T("late", "x", "continue", "done"),
                   async_actions={"approve": 5.0})
    i = react(bp, start(bp).instance, Outcome(1, "success", accepted=True), 2.0).instance
    assert react(bp, i, TimerFired(1), 6.0).instance.state == "late"


def test_async_call_failure_is_delivered_and_cancels_the_timer():
    i = start(ASYNC_BP, now=10.0).instance
    r = react(ASYNC_BP, i, Outcome(1, "error"), 11.0)
    assert r.instance.state == "s2" and r.commands[0] == CancelTimer(ID, 1)


def test_async_without_timeout_has_no_timer():
    bp = blueprint(T("init", "start", "approve", "s1"), T("s1", "ok", "continue", "done"),
                   async_actions={"approve": None})
    r = start(bp)
    assert r.commands == (CallWorker(ID, 1, "approve", "s1", "async"),)
    i = react(bp, r.instance, Outcome(1, "success", accepted=True), 2.0).instance
    r = react(bp, i, Signal("ok"), 3.0)
    assert r.commands == (Finished(ID, COMPLETED, "done"),)


# -------------------------------------------------------------------------------- done and the hook
def test_entering_done_completes():
    bp = blueprint(T("init", "start", "continue", "done"))
    r = start(bp, now=2.0)
    assert (r.instance.status, r.instance.state, r.instance.hook_step) == (COMPLETED, "done", None)
    assert r.commands == (Finished(ID, COMPLETED, "done"),)
    assert r.records[-1] == Record(2.0, "done", None, None, None, None, outcome=COMPLETED)
    assert r.instance.finished


def test_worker_action_into_done_runs_first_and_completes_whatever_its_outcome():
    bp = blueprint(T("init", "start", "notify", "done"))
    r = start(bp)
    assert (r.instance.state, r.instance.status) == ("done", RUNNING)
    for ev in ("success", "error", "weird"):
        r2 = react(bp, r.instance, Outcome(1, ev, {"o": ev}), 2.0)
        assert r2.instance.status == COMPLETED and r2.instance.context == {"notify": {"o": ev}}
        assert r2.commands == (Finished(ID, COMPLETED, "done"),)


def test_completion_hook_called_once_and_only_recorded():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "success", "continue", "done"), hook=True)
    i = start(bp).instance
    r = react(bp, i, Outcome(1, "success"), 2.0)
    done = r.instance
    assert done.status == COMPLETED and done.hook_step == 2 and done.step == 2
    assert r.commands == (CallWorker(ID, 2, "done", "done", "hook"), Finished(ID, COMPLETED, "done"))
    for ev, rec in (("success", "hook-ok"), ("error", "hook-failed")):
        h = react(bp, done, HookOutcome(2, ev), 3.0)
        assert h.instance.status == COMPLETED and h.instance.hook_step is None and h.commands == ()
        assert [(x.event, x.outcome, x.action, x.step) for x in h.records] == [(ev, rec, "done", 2)]
    h = react(bp, done, HookOutcome(1, "success"), 3.0)
    assert events(h) == [("success", "stale")] and h.instance.hook_step == 2


def test_finished_instance_refuses_events_and_management():
    bp = blueprint(T("init", "start", "continue", "done"))
    done = start(bp).instance
    for inp in (Signal("start"), Pause(), Resume(), Terminate()):
        with pytest.raises(InstanceFinished) as info:
            react(bp, done, inp, 5.0)
        assert info.value.instance_id == ID and info.value.status == COMPLETED
    r = react(bp, done, Outcome(3, "success"), 5.0)
    assert events(r) == [("success", "stale")] and r.instance.status == COMPLETED


# ----------------------------------------------------------------------------- pause/resume/terminate
def test_pause_queues_inputs_and_resume_applies_them_in_order():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "success", "w2", "s2"),
                   T("s1", "nudge", "continue", "s1"),
                   T("s2", "go", "continue", "s3"), T("s2", "nudge", "continue", "s2"),
                   T("s3", "end", "continue", "done"))
    i = start(bp).instance
    r = react(bp, i, Pause(), 2.0)
    p = r.instance
    assert p.status == PAUSED and events(r) == [("pause", "paused")] and r.commands == ()
    assert react(bp, p, Pause(), 2.5).instance == p        # pausing twice is a no-op
    r = react(bp, p, Outcome(1, "success", {"a": 1}), 3.0)
    assert r.commands == () and r.instance.state == "s1" and events(r) == [("success", "queued")]
    p = r.instance
    assert p.inbox == (Outcome(1, "success", {"a": 1}),)
    # outside events are checked against the current state (s1) when queued
    err = refuse(bp, p, Signal("go"))
    assert err.state == "s1"
    p = react(bp, p, Signal("nudge", {"s": 1}), 4.0).instance   # s1 accepts nudge: queued
    assert len(p.inbox) == 2
    r = react(bp, p, Resume(), 5.0)
    i = r.instance
    assert i.inbox == ()
    # the outcome moved s1 -> s2 (step 2); then the queued "nudge" signal superseded step 2 in s2
    assert events(r) == [("resume", "resumed"), ("success", "applied"), ("nudge", "applied")]
    assert (i.state, i.pending, i.status) == ("s2", None, WAITING)
    assert i.context == {"w": {"a": 1}, "events": {"nudge": {"s": 1}}}
    assert r.commands == (CallWorker(ID, 2, "w2", "s2", "sync"),)


def test_worker_outcome_events_from_outside_are_refused_while_a_sync_step_runs():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "success", "continue", "s2"),
                   T("s1", "cancel", "continue", "done"), T("s2", "x", "continue", "done"))
    i = start(bp).instance
    err = refuse(bp, i, Signal("success"))       # s1 handles success, but only from its worker
    assert err.state == "s1" and err.accepted == ["cancel"] and "step 1 (w) is running" in str(err)
    for ev in ("error", "timeout"):                # not handled at all
        assert refuse(bp, i, Signal(ev)).state == "s1"
    assert react(bp, i, Signal("cancel"), 2.0).instance.status == COMPLETED


def test_queued_event_refused_at_resume_is_recorded_not_raised():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "success", "continue", "s2"),
                   T("s1", "cancel", "continue", "done"), T("s2", "x", "continue", "done"))
    p = react(bp, start(bp).instance, Pause(), 2.0).instance
    p = react(bp, p, Outcome(1, "success"), 3.0).instance
    p = react(bp, p, Signal("cancel"), 4.0).instance
    r = react(bp, p, Resume(), 5.0)
    assert [x.outcome for x in r.records] == ["resumed", "applied", "refused"]
    assert r.instance.state == "s2" and "'cancel'" in r.records[-1].detail


def test_pause_holds_a_timer_and_resume_restores_the_status():
    i = start(DELAYED_BP, now=10.0).instance
    p = react(DELAYED_BP, i, Pause(), 11.0).instance
    p = react(DELAYED_BP, p, TimerFired(1), 40.0)
    assert p.commands == () and p.instance.status == PAUSED     # no new step starts while paused
    r = react(DELAYED_BP, p.instance, Resume(), 50.0)
    assert r.commands == (CallWorker(ID, 2, "remind", "s1", "sync"),)
    q = react(DELAYED_BP, react(DELAYED_BP, i, Pause(), 11.0).instance, Resume(), 12.0)
    assert q.instance.status == DELAYED and q.commands == ()


@pytest.mark.parametrize("accepted", [False, True])
def test_resume_restores_async_status(accepted):
    i = start(ASYNC_BP).instance
    if accepted:
        i = react(ASYNC_BP, i, Outcome(1, "success", accepted=True), 2.0).instance
    r = react(ASYNC_BP, react(ASYNC_BP, i, Pause(), 3.0).instance, Resume(), 4.0)
    assert r.instance.status == (WAITING if accepted else RUNNING)


def test_resume_when_not_paused_is_a_no_op():
    i = start(LINEAR).instance
    r = react(LINEAR, i, Resume(), 5.0)
    assert r.instance == i and r.records == () and r.commands == ()


def test_queued_signal_with_event_id_is_applied_on_resume():
    bp = blueprint(T("init", "start", "w", "s1"), T("s1", "go", "continue", "s2"),
                   T("s1", "success", "continue", "done"), T("s2", "x", "continue", "done"))
    p = react(bp, start(bp).instance, Pause(), 2.0).instance
    q = react(bp, p, Signal("go", {"d": 1}, "ev-1"), 3.0)
    assert not q.duplicate and len(q.instance.inbox) == 1
    again = react(bp, q.instance, Signal("go", {"d": 1}, "ev-1"), 3.5)   # a retry while paused
    assert again.duplicate and len(again.instance.inbox) == 1
    r = react(bp, again.instance, Resume(), 4.0)
    assert r.instance.state == "s2", [(x.event, x.outcome) for x in r.records]
    assert r.instance.context == {"events": {"go": {"d": 1}}}
    dup = react(bp, r.instance, Signal("x", None, "ev-1"), 5.0)
    assert dup.duplicate and dup.instance.state == "s2"


def test_terminate_ends_the_instance_and_cancels_timers():
    # s1 handles ``cancel``, so a plain terminate would deliver it (SPEC §8): ``force`` ends at once
    i = start(DELAYED_BP, now=10.0).instance
    r = react(DELAYED_BP, i, Terminate("operator said so", force=True), 11.0)
    t = r.instance
    assert (t.status, t.reason, t.pending) == (TERMINATED, "operator said so", None)
    assert r.commands == (CancelTimer(ID, 1), Finished(ID, TERMINATED, "s1", "operator said so"))
    assert events(react(DELAYED_BP, t, TimerFired(1), 40.0)) == [("timer", "stale")]
    with pytest.raises(InstanceFinished):
        react(DELAYED_BP, t, Signal("cancel"), 41.0)


def test_terminate_while_paused_drops_the_inbox():
    i = start(LINEAR).instance
    p = react(LINEAR, react(LINEAR, i, Pause(), 2.0).instance, Outcome(1, "success"), 3.0).instance
    r = react(LINEAR, p, Terminate(), 4.0)
    assert r.instance.status == TERMINATED and r.instance.inbox == ()
    assert r.commands == (Finished(ID, TERMINATED, "s1", "terminated"),)


# ---------------------------------------------------------------------------------- event ids
PING = blueprint(T("init", "start", "continue", "a"), T("a", "ping", "continue", "a"),
                 T("a", "stop", "continue", "done"))


def test_repeated_event_id_is_acknowledged_not_applied():
    i = start(PING).instance
    r = react(PING, i, Signal("stop", {"x": 1}, "ev-1"), 2.0)
    assert not r.duplicate
    i = react(PING, i, Signal("ping", {"n": 1}, "ev-1"), 2.0).instance
    assert i.event_ids == ("ev-1",)
    r = react(PING, i, Signal("stop", None, "ev-1"), 3.0)
    assert r.duplicate and r.instance.state == "a" and r.commands == ()
    assert [(x.event, x.outcome, x.detail) for x in r.records] == [("stop", "duplicate", "ev-1")]
    # events without an id are never duplicates
    assert not react(PING, i, Signal("ping"), 4.0).duplicate


def test_event_id_window_forgets_the_oldest():
    i = start(PING).instance
    for n in range(EVENT_ID_WINDOW + 1):
        i = react(PING, i, Signal("ping", None, f"ev-{n}"), 2.0 + n).instance
    assert len(i.event_ids) == EVENT_ID_WINDOW and "ev-0" not in i.event_ids
    assert not react(PING, i, Signal("ping", None, "ev-0"), 999.0).duplicate
    assert react(PING, i, Signal("ping", None, f"ev-{EVENT_ID_WINDOW}"), 999.0).duplicate


def test_repeated_event_id_after_completion_is_acknowledged():
    i = start(PING).instance
    done = react(PING, i, Signal("stop", None, "ev-last"), 2.0).instance
    assert done.status == COMPLETED
    r = react(PING, done, Signal("stop", None, "ev-last"), 3.0)   # the sender's retry
    assert r.duplicate and r.instance.status == COMPLETED and r.commands == ()
    with pytest.raises(InstanceFinished):
        react(PING, done, Signal("stop", None, "ev-other"), 3.0)


# ------------------------------------------------------------------------------------------ context
def test_context_is_input_plus_each_actions_last_output():
    bp = blueprint(T("init", "start", "a1", "s1"), T("s1", "success", "a2", "s2"),
                   T("s2", "success", "a1", "s3"), T("s3", "success", "continue", "done"))
    i = start(bp, {"order": 5}).instance
    i = react(bp, i, Outcome(1, "success", {"v": 1}), 2.0).instance
    i = react(bp, i, Outcome(2, "success", None), 3.0).instance      # no output: nothing stored
    assert i.context == {"order": 5, "a1": {"v": 1}}
    i = react(bp, i, Outcome(3, "success", "text body"), 4.0).instance
    assert i.context == {"order": 5, "a1": "text body"}
    assert i.input == {"order": 5} and i.status == COMPLETED


def test_an_instance_is_never_mutated():
    i = start(LINEAR).instance
    before = (i.context, dict(i.context))
    react(LINEAR, i, Outcome(1, "success", {"v": 1}), 2.0)
    assert i.context is before[0] and i.context == before[1] and i.state == "s1"


# ------------------------------------------------------------------------------------------ history
def test_history_records_tell_the_whole_run():
    bp = blueprint(T("init", "start", "continue", "a"), T("a", "start", "w", "b"),
                   T("b", "success", "continue", "done"))
    r1 = start(bp, now=1.0)
    r2 = react(bp, r1.instance, Outcome(1, "success"), 2.0)
    recs = r1.records + r2.records
    assert recs == (
        Record(1.0, "init", "start", "continue", "a", None, outcome="applied"),
        Record(1.0, "a", "start", "w", "b", None, outcome="applied"),
        Record(2.0, "b", "success", "continue", "done", 1, outcome="applied"),
        Record(2.0, "done", None, None, None, None, outcome=COMPLETED),
    )


def test_unknown_input_type_is_a_type_error():
    i = start(LINEAR).instance
    with pytest.raises(TypeError):
        react(LINEAR, i, "start", 2.0)


def test_updated_moves_only_when_something_happened():
    i = start(LINEAR, now=1.0).instance
    assert react(LINEAR, i, Resume(), 9.0).instance.updated == 1.0
    assert react(LINEAR, i, Outcome(9, "success"), 9.0).instance.updated == 9.0


def test_instance_fields():
    assert Instance(ID, "p", "a", 1).status == WAITING
