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


from .errors import EventRefused, InstanceFinished, PausedQueueFull, QueueFull
from ._fsm_children import _child_done, _children_effects, _start_children
from .fsm_data import (CHILDREN_LIMIT, COMPLETED, DELAYED, EVENT_ID_WINDOW, FAILED, FINAL_STATUSES, PAUSED,
                       POSTPONED_LIMIT, RUNNING, STATUSES, TERMINATED, WAITING, WORKFLOW_STEP, CallWorker,
                       CancelChildren, CancelTimer, ChildAck, ChildDone, Command, Finished, HookOutcome, Input,
                       Instance, Join, NotifyParent, Outcome, Parent, Pause, Pending, Reaction, Resume, Retry,
                       Rewind, Signal, StartChildren, StartTimer, Terminate, TimerFired, new_instance)
from .fsm_data import replace
from ._fsm_run import (ASYNC_STEP, DELAY_STEP, PAUSED_LIMIT, SYNC_STEP, _busy, _drop, _fail, _hook_outcome,
                       _input_name, _remember, _Run, _seen, _settle, _terminate)
from ._fsm_manage import REWINDABLE, _cancel, _resume, _retry, _rewind
from .model import ASYNC, CANCEL, CONTINUE, ERROR, START, SUCCESS, TIMEOUT, WORKFLOW, Blueprint, Transition

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

MAX_CHAIN = 10_000      # bound on transitions applied for one input (continue chains)

WORKER_OUTCOMES = frozenset({SUCCESS, ERROR, TIMEOUT})
# An input whose only record is one of these left the state, the status and the step as they were:
# the postponed queue, which held nothing the situation could take, still holds nothing it can take
# (the one event just postponed included), so it is not scanned again -- appending to a queue of N
# stays O(1), not O(N).
_SITUATION_KEPT = frozenset({"postponed", "duplicate"})


# ----------------------------------------------------------------------------------------- the core
# (the run accumulator and the leaf operations live in goflow._fsm_run, the management operations
# in goflow._fsm_manage, the child-workflow steps in goflow._fsm_children)


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
    return Reaction(inst, tuple(run.commands), tuple(run.records), duplicate)


def _check_accepts(bp: Blueprint, inst: Instance, event: str) -> Transition:
    t = bp.transition(inst.state, event)
    p = inst.pending
    if t is not None and p is not None and p.kind in (SYNC_STEP, WORKFLOW_STEP) and event in WORKER_OUTCOMES:
        # ``success``/``error``/``timeout`` while a sync step (its children) runs are its worker's to give
        accepted = [e for e in bp.accepts(inst.state) if e not in WORKER_OUTCOMES]
        who = "its worker gives" if p.kind == SYNC_STEP else "its children's ends give"
        raise EventRefused(inst.id, inst.state, event, accepted,
                           why=f"step {p.step} ({p.action}) is running and {who} that outcome")
    if t is None:
        raise EventRefused(inst.id, inst.state, event, bp.accepts(inst.state))
    return t


def _apply(run: _Run, inst: Instance, inp, queued: bool = False) -> tuple[Instance, bool]:
    """Apply a non-management input to an instance that is neither paused nor finished. A ``queued``
    input (from the inbox, on resume) had its event id checked and remembered when it was queued."""
    if isinstance(inp, Signal):
        if not queued and _seen(inst, inp):
            run.record(inst, inp.name, "duplicate", detail=inp.event_id)
            return inst, True
        if run.bp.postpones(inst.state, inp.name, _busy(inst)):
            if len(inst.postponed) >= run.limit:
                raise QueueFull(inst.id, inst.state, inp.name, run.limit)
            run.record(inst, inp.name, "postponed", detail=inp.event_id)
            inst = replace(inst, postponed=inst.postponed + (inp,))
            return (inst if queued else _remember(inst, inp)), False
        t = _check_accepts(run.bp, inst, inp.name)
        if not queued:
            inst = _remember(inst, inp)
        p = inst.pending
        if p is not None:
            if p.due is not None:
                run.commands.append(CancelTimer(inst.id, p.step))
            inst = replace(inst, pending=None)
        if p is not None and p.kind == ASYNC_STEP:
            if inp.data is not None:
                inst = replace(inst, context={**inst.context, p.action: inp.data})
        elif inp.data is not None:
            events = {**inst.context.get("events", {}), inp.name: inp.data}
            inst = replace(inst, context={**inst.context, "events": events})
        return _fire(run, inst, t, inp.name), False
    if isinstance(inp, Outcome):
        return _outcome(run, inst, inp), False
    if isinstance(inp, TimerFired):
        return _timer(run, inst, inp), False
    if isinstance(inp, ChildDone):
        return _child_done(run, inst, inp), False
    raise TypeError(f"not an FSM input: {inp!r}")


def _outcome(run: _Run, inst: Instance, o: Outcome) -> Instance:
    p = inst.pending
    if p is None or p.step != o.step or p.kind == DELAY_STEP or (p.kind == ASYNC_STEP and p.accepted):
        run.record(inst, o.event, "stale", step=o.step)
        return inst
    ctx = inst.context if o.output is None else {**inst.context, p.action: o.output}
    if p.kind == ASYNC_STEP and o.accepted:
        run.record(inst, o.event, "accepted", action=p.action, step=p.step)
        return replace(inst, context=ctx, pending=replace(p, accepted=True), status=WAITING)
    if p.due is not None:
        run.commands.append(CancelTimer(inst.id, p.step))
    inst = replace(inst, context=ctx, pending=None)
    return _deliver(run, inst, SUCCESS if o.accepted else o.event, p)


def _timer(run: _Run, inst: Instance, tf: TimerFired) -> Instance:
    p = inst.pending
    if p is None or p.step != tf.step or p.kind in (SYNC_STEP, WORKFLOW_STEP):
        run.record(inst, "timer", "stale", step=tf.step)
        return inst
    inst = replace(inst, pending=None)
    if p.kind == ASYNC_STEP:
        return _deliver(run, inst, TIMEOUT, p)
    run.record(inst, "timer", "delay-elapsed", action=p.action, step=p.step)
    return _begin(run, inst, p.action, p.enter)


def _deliver(run: _Run, inst: Instance, event: str, p: Pending) -> Instance:
    """Deliver the outcome ``event`` of step ``p`` in the current state."""
    if run.bp.end_status(inst.state) is not None:
        run.record(inst, event, "applied", action=p.action, step=p.step)
        return _settle(run, inst)
    if event == TIMEOUT and run.bp.transition(inst.state, TIMEOUT) is None:
        event = ERROR
    t = run.bp.transition(inst.state, event)
    if t is None:
        reason = (f"outcome {event!r} of step {p.step} ({p.action}) has no transition in state "
                  f"{inst.state!r}; it accepts {', '.join(run.bp.accepts(inst.state)) or 'nothing'}")
        return _fail(run, inst, event, reason, p.step, p.action)
    return _fire(run, inst, t, event, p.step)


def _fire(run: _Run, inst: Instance, t: Transition, event: str, cause: int | None = None) -> Instance:
    """Take transition ``t`` (already known to match ``inst.state``), then whatever it sets off."""
    for _ in range(MAX_CHAIN):
        entered = t.next != inst.state
        run.record(inst, event, "applied", action=t.action, next=t.next, step=cause)
        if t.next in inst.visited:
            inst = replace(inst, state=t.next)
        else:
            inst = replace(inst, state=t.next, visited=inst.visited + (t.next,))
        if t.delay > 0:
            step = inst.step + 1
            due = run.now + t.delay
            run.commands.append(StartTimer(inst.id, step, due))
            return replace(inst, step=step, status=DELAYED,
                           pending=Pending(step, t.action, DELAY_STEP, run.now, due, enter=entered))
        nxt = _begin(run, inst, t.action, entered, chain=True)
        if not isinstance(nxt, Transition):
            return nxt
        t, event, cause = nxt, START, None
    return _fail(run, inst, event, f"more than {MAX_CHAIN} transitions for one input (a continue loop)", None)


def _begin(run: _Run, inst: Instance, action: str, entered: bool, chain: bool = False):
    """Run ``action`` in the current state. For ``continue`` that enters a state with a ``start``
    transition, returns that transition when ``chain`` (the caller loops), else takes it."""
    if action == CONTINUE:
        if entered and run.bp.end_status(inst.state) is None:
            t = run.bp.transition(inst.state, START)
            if t is not None:
                return t if chain else _fire(run, inst, t, START)
        return _settle(run, inst)
    a = run.bp.action(action)
    step = inst.step + 1
    if a is not None and a.type == WORKFLOW:
        return _start_children(run, inst, a, step)
    if a is not None and a.type == ASYNC:
        due = run.now + a.timeout if a.timeout else None
        run.commands.append(CallWorker(inst.id, step, action, inst.state, ASYNC_STEP))
        if due is not None:
            run.commands.append(StartTimer(inst.id, step, due))
        pending = Pending(step, action, ASYNC_STEP, run.now, due)
    else:
        run.commands.append(CallWorker(inst.id, step, action, inst.state, SYNC_STEP))
        pending = Pending(step, action, SYNC_STEP, run.now)
    return replace(inst, step=step, pending=pending, status=RUNNING)


def _offer(run: _Run, inst: Instance) -> Instance:
    """Offer the postponed events again, oldest first, until none can be taken (see the docstring)."""
    for _ in range(MAX_CHAIN):
        if inst.status in FINAL_STATUSES or inst.status == PAUSED or not inst.postponed:
            break
        busy = _busy(inst)
        for i, sig in enumerate(inst.postponed):
            if run.bp.postpones(inst.state, sig.name, busy):
                continue
            inst = replace(inst, postponed=inst.postponed[:i] + inst.postponed[i + 1:])
            try:
                inst, _ = _apply(run, inst, sig, queued=True)
            except EventRefused as exc:
                run.record(inst, sig.name, "refused", detail=str(exc))
            break
        else:
            break
    return _drop(run, inst) if inst.status in FINAL_STATUSES and inst.postponed else inst
