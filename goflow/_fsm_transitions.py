"""Applying one input: the transitions, steps and child-workflow steps of the pure FSM.

Private to :mod:`goflow.fsm`, whose docstring states the semantics; :func:`goflow.fsm.react` is the
entry. Here are the mutually recursive parts of one input's run -- an input applied (:func:`_apply`),
an outcome delivered (:func:`_deliver`), a transition taken (:func:`_fire`), an action begun
(:func:`_begin`), a workflow action's children started and joined -- so that the modules around them
import each other at top level without a cycle: :mod:`goflow.fsm` and :mod:`goflow._fsm_manage` import
this module, which imports only the leaves (:mod:`goflow._fsm_run`, :mod:`goflow._fsm_children`,
:mod:`goflow.fsm_data`, :mod:`goflow.model`).
"""
from __future__ import annotations

from ._fsm_children import join_outcome, plan, record_child
from ._fsm_run import ASYNC_STEP, DELAY_STEP, SYNC_STEP, _busy, _drop, _fail, _record, _remember, _Run, _seen, _settle
from .errors import EventRefused, QueueFull
from .fsm_data import (DELAYED, FINAL_STATUSES, PAUSED, RUNNING, WAITING, WORKFLOW_STEP, CallWorker, CancelTimer,
                       ChildDone, Instance, Join, Outcome, Pending, Signal, StartChildren, StartTimer, TimerFired)
from .fsm_data import replace
from .model import ASYNC, CONTINUE, ERROR, START, SUCCESS, TIMEOUT, WORKFLOW, Blueprint, Transition

MAX_CHAIN = 10_000      # bound on transitions applied for one input (continue chains)

WORKER_OUTCOMES = frozenset({SUCCESS, ERROR, TIMEOUT})


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
    """Take transition ``t`` (already known to match ``inst.state``), then whatever it sets off.

    A chain of ``continue`` s (each entering a state whose ``start`` continues) only moves the state:
    it is followed on ``state``/``visited`` here and the instance copied once at its end (a copy per
    transition was most of the FSM's cost), with the wait or end it settles in when it ends there."""
    bp, record = run.bp, run.records.append
    state, visited = inst.state, inst.visited
    for _ in range(MAX_CHAIN):
        nxt = t.next
        entered = nxt != state
        record(_record(run.now, state, event, t.action, nxt, cause, None, None, "applied"))
        if nxt not in visited:
            visited = visited + (nxt,)
        state = nxt
        if t.delay > 0:
            step = inst.step + 1
            due = run.now + t.delay
            run.commands.append(StartTimer(inst.id, step, due))
            return replace(inst, state=state, visited=visited, step=step, status=DELAYED,
                           pending=Pending(step, t.action, DELAY_STEP, run.now, due, enter=entered))
        if t.action == CONTINUE:
            if entered and bp.end_status(state) is None:
                t2 = bp.transition(state, START)
                if t2 is not None:
                    t, event, cause = t2, START, None
                    continue
            return _settle(run, inst, state=state, visited=visited)
        return _begin(run, replace(inst, state=state, visited=visited), t.action, entered)
    return _fail(run, replace(inst, state=state, visited=visited), event,
                 f"more than {MAX_CHAIN} transitions for one input (a continue loop)", None)


def _begin(run: _Run, inst: Instance, action: str, entered: bool):
    """Run ``action`` in the current state (``continue`` that enters a state with a ``start``
    transition takes it)."""
    if action == CONTINUE:
        if entered and run.bp.end_status(inst.state) is None:
            t = run.bp.transition(inst.state, START)
            if t is not None:
                return _fire(run, inst, t, START)
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


# ------------------------------------------------------------------ the FSM's child-workflow steps
def _start_children(run, inst: Instance, a, step: int) -> Instance:
    """Begin workflow action ``a`` as ``step``: its children (``StartChildren``), or, when the context
    cannot give them (a forEach key missing or not a list, too many items, too deep), the ``error``
    outcome with the reason, nothing started."""
    planned = plan(inst, a, step, run.children_limit, run.child_depth)
    if isinstance(planned, str):
        run.record(inst, None, "children-refused", action=a.name, step=step, detail=planned)
        p = Pending(step, a.name, WORKFLOW_STEP, run.now)
        inst = replace(inst, step=step, context={**inst.context, a.name: {"error": planned}})
        return _deliver(run, inst, ERROR, p)
    join, starts = planned
    return _children_started(run, inst, a, step, join, starts)


def _children_started(run, inst: Instance, a, step: int, join: Join, starts) -> Instance:
    for c in starts:
        run.record(inst, None, "child-started", action=a.name, step=step, detail=c.id)
    run.commands.append(StartChildren(inst.id, step, starts))
    inst = replace(inst, step=step, status=RUNNING, join=join, pending=Pending(step, a.name, WORKFLOW_STEP, run.now))
    if not starts:                          # an empty forEach list: joined at once
        return _joined(run, inst, join)
    return inst


def _child_done(run, inst: Instance, done: ChildDone) -> Instance:
    p, join = inst.pending, inst.join
    if p is None or p.kind != WORKFLOW_STEP or p.step != done.step or join is None or join.step != done.step:
        run.record(inst, done.event, "stale", step=done.step, detail=done.child)
        return inst
    recorded = record_child(join, done)
    if recorded is None:                    # that child's end is known already (a repeated notice)
        return inst
    run.record(inst, done.event, "child-ended", action=p.action, step=p.step,
               detail={"child": done.child, "status": done.status})
    inst = replace(inst, join=recorded)
    return _joined(run, inst, recorded) if recorded.ended == len(recorded.results) else inst


def _joined(run, inst: Instance, join: Join) -> Instance:
    p = inst.pending
    run.joined.add(p.step)
    event, output = join_outcome(inst, join)
    inst = replace(inst, pending=None, context={**inst.context, p.action: output})
    return _deliver(run, inst, event, p)
