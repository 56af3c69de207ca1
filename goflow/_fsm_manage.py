"""The management operations of the pure FSM: ``terminate`` that delivers ``cancel``, ``retry``,
``rewind`` and ``resume``.

Private to :mod:`goflow.fsm` (see its docstring for the semantics: this module holds how each
operation changes an instance, :func:`goflow.fsm.react` when it applies). Each operation ends by
taking a transition or applying held inputs (``_fire``, ``_begin``, ``_apply`` of
:mod:`goflow._fsm_transitions`, imported at top level: that module never imports this one).
"""
from __future__ import annotations

from . import _fsm_children as children
from ._fsm_run import _input_name, _Run, _status_of
from ._fsm_transitions import _apply, _begin, _children_started, _fire
from .errors import EventRefused, NotVisited, WrongStatus
from .fsm_data import FAILED, FINAL_STATUSES, PAUSED, RUNNING, TERMINATED, WAITING, CancelTimer, Instance, Retry, Rewind
from .fsm_data import replace
from .model import CANCEL, INIT, START, WORKFLOW, Transition

REWINDABLE = frozenset({FAILED, TERMINATED, WAITING})


def _cancel(run: _Run, inst: Instance, t: Transition, reason: str) -> Instance:
    """``terminate`` where the state handles ``cancel``: deliver it (the flow's compensation)."""
    if inst.status == PAUSED:
        for held in inst.inbox:
            run.record(inst, _input_name(held), "dropped", step=getattr(held, "step", None),
                       detail="held while paused; the instance was terminated")
        inst = replace(inst, inbox=(), status=_status_of(inst))
    run.record(inst, "terminate", "cancelling", detail=reason)
    p = inst.pending
    if p is not None:
        if p.due is not None:
            run.commands.append(CancelTimer(inst.id, p.step))
        inst = replace(inst, pending=None)
    return _fire(run, inst, t, CANCEL)



def _retry(run: _Run, inst: Instance, r: Retry) -> Instance:
    if inst.status != FAILED:
        raise WrongStatus(inst.id, "retry", inst.status, inst.state, "only a failed instance can be retried")
    if inst.failed_action is None:
        why = (f"it ended in its end state {inst.result!r}, which is an outcome, not a failed step"
               if inst.result is not None else "it did not fail in a step")
        raise WrongStatus(inst.id, "retry", inst.status, inst.state, f"{why}; rewind it to a state instead")
    action = inst.failed_action
    run.record(inst, "retry", "retried", action=action, detail=r.by)
    inst = replace(inst, status=RUNNING, reason=None, failed_action=None)
    a = run.bp.action(action)
    if a is not None and a.type == WORKFLOW:
        step = inst.step + 1
        again = children.retry_join(inst, a, step)
        if again is not None:               # only the failed children run again (new ids)
            join, starts = again
            return _children_started(run, inst, a, step, join, starts)
    return _begin(run, inst, action, False)


def _rewind(run: _Run, inst: Instance, r: Rewind) -> Instance:
    if inst.status not in REWINDABLE:
        raise WrongStatus(inst.id, "rewind", inst.status, inst.state,
                          "only a failed, terminated or waiting instance can be rewound")
    target = r.state
    if run.bp.end_status(target) is not None:
        raise NotVisited(inst.id, target, inst.state, "it is an end state; rewind to a state before it")
    if target != INIT and target not in inst.visited:
        seen = ", ".join(repr(s) for s in (INIT,) + inst.visited if run.bp.end_status(s) is None)
        raise NotVisited(inst.id, target, inst.state, f"the instance never entered it (it has visited {seen})")
    p = inst.pending
    if p is not None and p.due is not None:
        run.commands.append(CancelTimer(inst.id, p.step))
    run.record(inst, "rewind", "rewound", next=target, detail=r.by)
    inst = replace(inst, state=target, status=WAITING, pending=None, reason=None, failed_action=None,
                   result=None)
    t = run.bp.transition(target, START)
    return _fire(run, inst, t, START) if t is not None else inst


def _resume(run: _Run, inst: Instance) -> Instance:
    run.record(inst, "resume", "resumed")
    inbox = inst.inbox
    inst = replace(inst, inbox=(), status=_status_of(inst))
    for queued in inbox:
        if inst.status in FINAL_STATUSES:
            run.record(inst, _input_name(queued), "stale")
            continue
        try:
            inst, _ = _apply(run, inst, queued, queued=True)
        except EventRefused as exc:
            run.record(inst, _input_name(queued), "refused", detail=str(exc))
    return inst
