"""The pure FSM core: ``react(blueprint, instance, input, now) -> Reaction``.

Nothing here does I/O, reads a clock or keeps state between calls: an :class:`Instance` and an input
go in, a new :class:`Instance`, the *commands* the runtime must carry out (call a worker, arm or cancel
a timer, report the end) and the history :class:`~goflow.history.Record` s come out. Time is the
``now`` argument. The runtime commits the new instance and the records *before* it carries out the
commands (SPEC §6).

Semantics (SPEC §3), as decided here:

* An instance is created in ``init`` (:func:`new_instance`); starting it is the input
  ``Signal("start")``.
* ``(s, e) -> (a, n)``: the instance moves to ``n`` at once. With a ``delay`` it is ``delayed`` and the
  action waits for the durable timer (``StartTimer``); an event accepted by ``n`` meanwhile supersedes
  it. A worker action begins a *step* (a new sequence number; ``CallWorker``) whose outcome is
  delivered in ``n``. ``continue`` with ``n != s`` inserts ``start`` in ``n`` when ``n`` has a ``start``
  transition (gen_statem's state-enter); a ``continue`` self-loop does not spin.
* The instance completes when it is in ``done`` with no step pending (a worker action on a transition
  into ``done`` runs first; its outcome is recorded and completes the instance whatever it is).
* Outcomes carry their step; one whose step is not the pending step is recorded as ``stale`` and
  otherwise ignored. An outcome event with no transition fails the instance. ``timeout`` becomes
  ``error`` where the state does not handle ``timeout``.
* An ``async`` action's call answered as *accepted* (``Outcome.accepted``: a 202, a body
  ``{"accepted": true}``, or a 2xx naming no event, SPEC §8) makes the instance wait (status
  ``waiting``) for the outcome as an outside event, bounded by the action's ``timeout`` timer. Any
  other outcome of the call (``success`` or another named event, ``error``, ``timeout``) is the
  outcome at once and is delivered as usual.
* Outside events (:class:`Signal`) the state does not handle raise :class:`EventRefused`; the instance
  is unchanged. While a *sync* step runs, ``success``/``error``/``timeout`` from outside are refused
  too: they are its worker's outcomes (an async step's outcome does come from outside). An accepted outside event supersedes any pending step (its late outcome is stale). Its
  ``data`` becomes the output of a pending async action, else ``context["events"][name]``.
* **Event ids** (SPEC §6: a repeated id is never applied, for the instance's whole life). A
  :class:`Signal` whose ``event_id`` was taken before (applied, postponed or queued) is acknowledged
  as a duplicate (``Reaction.duplicate``, record ``duplicate``) and not applied, whatever the status.
  The FSM itself remembers the last :data:`EVENT_ID_WINDOW` ids in ``Instance.event_ids`` (in the
  snapshot); the whole life is the runtime's: the shard keeps every id taken in its store and, when
  an event carries an id the window does not hold, asks the store and passes the answer as
  ``react(..., seen=True)``. So the FSM stays pure (no lookup here), and an id the FSM takes is
  exactly one of a :class:`Signal` answered neither by an exception nor as a duplicate.
* ``Pause``: no new step starts; every input but ``Resume``/``Terminate`` is queued in the instance
  (outside events are checked against the current state first) and applied in order on ``Resume``.
  An outside event that finds ``paused_limit`` inputs queued (``limits.paused_events``) raises
  :class:`PausedQueueFull` and the instance is unchanged; the runtime's own inputs (a step's outcome,
  a timer: a few at most, one step is pending) are always queued, so none is lost. The queue is
  only appended to at its end or emptied whole: the store keeps each entry as a row apart from the
  snapshot (:mod:`goflow.queues`), so holding one more event costs O(1).
* ``Terminate`` delivers the event ``cancel`` where the current state has a transition for it (the
  flow's compensation path; like any accepted outside event it supersedes a running step, whose late
  outcome is stale). Without such a transition, or with ``force``, it ends the instance
  (``terminated``); pending timers are cancelled. A *paused* instance that is terminated leaves the
  pause: what it held is recorded ``dropped``, then ``cancel`` is delivered (or it is terminated).
* The completion hook (a worker named ``done``) is called once on completion; its outcome is only
  recorded.

SPEC §8, as decided here:

* **Postpone.** An outside event that the blueprint postpones in the current situation
  (:meth:`Blueprint.postpones`: a postponing transition of the state, or an event of the top-level
  ``postpone`` list that the state has no transition for *or* that arrives while a sync step runs) is
  appended to ``Instance.postponed`` (record ``postponed``) instead of being taken or refused; its
  event id is remembered at once. After every input the queue is offered again, oldest first: the
  first event that is no longer postponed is taken (or, if the state refuses it, recorded
  ``refused`` and removed), and the scan starts again, so each change of state sees the queue in
  order. The queue holds at most ``postponed_limit`` events (``limits.postponed``): one more raises
  :class:`QueueFull` and the instance is unchanged (queued while paused, it is recorded ``refused``
  on resume). Events still queued when the instance ends are recorded ``dropped``. The queue is
  appended to at its end and loses entries by position; the store keeps each entry as a row apart
  from the snapshot (:mod:`goflow.queues`). An input that is only postponed (or only a duplicate)
  changes nothing the queue waits on, so the queue is not offered again after it: postponing one more
  event costs O(1), whatever the queue holds.
* **End states.** An instance that settles in an end state (``Blueprint.end_status``: ``done`` or a
  state of ``end``) ends with that state's status, ``Instance.result`` the state; the completion hook
  is the worker named after that state.
* **Retry** (:class:`Retry`, a failed instance whose failure was a step's: ``failed_action``) runs
  that action again in the state it failed in, as a new step. **Rewind** (:class:`Rewind`, a failed,
  terminated or waiting instance) moves it to a state in ``Instance.visited`` (every state it has
  entered; ``init`` always counts), not an end state, and delivers ``start`` there when the state has
  a ``start`` transition (else it waits). Both are recorded (``retried``/``rewound``, ``detail`` who
  asked); a wrong status raises :class:`WrongStatus`, a target never visited :class:`NotVisited`.
* **Child workflows.** A ``workflow`` action begins a step of kind ``workflow``: its children
  (``StartChildren``) and their join (``Instance.join``); each child's end (:class:`ChildDone`)
  fills its slot, the last one delivers the step's outcome; a step left early cancels the children
  still running (``CancelChildren``); an ended child notifies its parent (``NotifyParent``) until
  :class:`ChildAck`. While children run, ``success``/``error``/``timeout`` from outside are
  refused. The rules are in :mod:`goflow._fsm_children`.
"""
from __future__ import annotations


from ._fsm_children import _children_effects
from ._fsm_manage import REWINDABLE, _cancel, _resume, _retry, _rewind
from ._fsm_run import PAUSED_LIMIT, _busy, _drop, _hook_outcome, _input_name, _remember, _Run, _seen, _terminate
from ._fsm_transitions import MAX_CHAIN, _apply, _check_accepts, _offer
from .errors import InstanceFinished, PausedQueueFull
from .fsm_data import (CHILDREN_LIMIT, COMPLETED, DELAYED, EVENT_ID_WINDOW, FAILED, FINAL_STATUSES, PAUSED,
                       POSTPONED_LIMIT, RUNNING, STATUSES, TERMINATED, WAITING, WORKFLOW_STEP, CallWorker,
                       CancelChildren, CancelTimer, ChildAck, ChildDone, Command, Finished, HookOutcome, Input,
                       Instance, Join, NotifyParent, Outcome, Parent, Pause, Pending, Reaction, Resume, Retry,
                       Rewind, Signal, StartChildren, StartTimer, Terminate, TimerFired, new_instance)
from .fsm_data import replace
from ._slots import maker
from .model import CANCEL, Blueprint

__all__ = [
    "RUNNING", "WAITING", "DELAYED", "PAUSED", "COMPLETED", "FAILED", "TERMINATED",
    "STATUSES", "FINAL_STATUSES", "EVENT_ID_WINDOW", "MAX_CHAIN", "POSTPONED_LIMIT", "PAUSED_LIMIT",
    "REWINDABLE",
    "Pending", "Instance", "new_instance",
    "Signal", "Outcome", "TimerFired", "HookOutcome", "Pause", "Resume", "Terminate", "Retry", "Rewind",
    "ChildDone", "ChildAck", "Input", "Parent", "Join", "WORKFLOW_STEP", "CHILDREN_LIMIT",
    "CallWorker", "StartTimer", "CancelTimer", "Finished", "StartChildren", "CancelChildren", "NotifyParent",
    "Command",
    "Reaction", "react",
]

# An input whose only record is one of these left the state, the status and the step as they were:
# the postponed queue, which held nothing the situation could take, still holds nothing it can take
# (the one event just postponed included), so it is not scanned again -- appending to a queue of N
# stays O(1), not O(N).
_SITUATION_KEPT = frozenset({"postponed", "duplicate"})
_reaction = maker(Reaction)     # Reaction(...) without the frozen __init__'s cost (goflow._slots)


# ----------------------------------------------------------------------------------------- the core
# (the run accumulator and the leaf operations live in goflow._fsm_run, the transitions, steps and
# child-workflow steps in goflow._fsm_transitions, the management operations in goflow._fsm_manage,
# the child-workflow rules in goflow._fsm_children; none imports this module)


def react(bp: Blueprint, inst: Instance, inp: Input, now: float, *,
          postponed_limit: int = POSTPONED_LIMIT, paused_limit: int = PAUSED_LIMIT,
          seen: bool = False, children_limit: int = CHILDREN_LIMIT, child_depth: int = 0) -> Reaction:
    """Apply one input to ``inst``. Raises :class:`EventRefused` (:class:`QueueFull`) /
    :class:`InstanceFinished` / :class:`WrongStatus` / :class:`NotVisited` for an outside event or
    management operation that cannot apply; the instance is then unchanged. ``postponed_limit``
    bounds the postponed queue (``limits.postponed``), ``paused_limit`` the outside events a paused
    instance holds (``limits.paused_events``). ``seen``: the caller knows that this
    :class:`Signal`'s ``event_id`` was taken before (its lifetime record of ids, beyond
    ``Instance.event_ids``): it is a duplicate. ``children_limit`` bounds the children of one
    workflow action (``limits.children``), ``child_depth`` (> 0) the depth of a chain of children
    (``limits.child_depth``)."""
    run = _Run(bp, now, postponed_limit, paused_limit)
    run.children_limit, run.child_depth = children_limit, child_depth
    before = inst
    duplicate = False
    if isinstance(inp, ChildAck):
        inst = replace(inst, notify=False) if inst.notify else inst
    elif seen and isinstance(inp, Signal) and inp.event_id is not None:
        run.record(inst, inp.name, "duplicate", detail=inp.event_id)
        duplicate = True
    elif isinstance(inp, HookOutcome):
        inst = _hook_outcome(run, inst, inp)
    elif isinstance(inp, Retry):
        inst = _retry(run, inst, inp)
    elif isinstance(inp, Rewind):
        inst = _rewind(run, inst, inp)
    elif inst.status in FINAL_STATUSES:
        if isinstance(inp, (Outcome, TimerFired, ChildDone)):
            run.record(inst, _input_name(inp), "stale", step=inp.step,
                       detail=inp.child if isinstance(inp, ChildDone) else None)
        elif isinstance(inp, Signal):
            if not _seen(inst, inp):
                raise InstanceFinished(inst.id, inst.status, inst.state)
            run.record(inst, inp.name, "duplicate", detail=inp.event_id)
            duplicate = True
        else:
            raise InstanceFinished(inst.id, inst.status, inst.state, what="management operation")
    elif isinstance(inp, Terminate):
        t = None if inp.force else bp.transition(inst.state, CANCEL)
        inst = _terminate(run, inst, inp.reason) if t is None else _cancel(run, inst, t, inp.reason)
    elif isinstance(inp, Pause):
        if inst.status != PAUSED:
            run.record(inst, "pause", "paused")
            inst = replace(inst, status=PAUSED)
    elif isinstance(inp, Resume):
        if inst.status == PAUSED:
            inst = _resume(run, inst)
    elif inst.status == PAUSED:
        if isinstance(inp, Signal):
            duplicate = _seen(inst, inp)
            if not duplicate:
                if not bp.postpones(inst.state, inp.name, _busy(inst)):
                    _check_accepts(bp, inst, inp.name)
                if len(inst.inbox) >= run.paused_limit:
                    raise PausedQueueFull(inst.id, inst.state, inp.name, run.paused_limit)
                inst = _remember(inst, inp)
        if not duplicate:
            run.record(inst, _input_name(inp), "queued", step=getattr(inp, "step", None))
            inst = replace(inst, inbox=inst.inbox + (inp,))
    else:
        inst, duplicate = _apply(run, inst, inp)
    if inst.postponed:
        if inst.status in FINAL_STATUSES:
            inst = _drop(run, inst)
        elif not (len(run.records) == 1 and run.records[0].outcome in _SITUATION_KEPT):
            inst = _offer(run, inst)
    if before.pending is not None or inst.parent is not None:
        inst = _children_effects(run, before, inst)
    if inst.updated != now and (run.records or run.commands):
        inst = replace(inst, updated=now)
    return _reaction(inst, tuple(run.commands), tuple(run.records), duplicate)


