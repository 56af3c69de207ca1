"""The bookkeeping of one :func:`goflow.fsm.react` call and the ways an instance stops.

Private to :mod:`goflow.fsm` (see its docstring for the semantics): :class:`_Run` accumulates the
commands and history records of one input; the helpers below are the leaf operations that never
apply a transition themselves: settling into an end state or a wait, failing, terminating, dropping
the postponed events of an ended instance, the end hook's outcome, and the small predicates over an
instance (its step kind, its status once resumed, the event ids it remembers).
"""
from __future__ import annotations


from .fsm_data import (COMPLETED, DELAYED, EVENT_ID_WINDOW, FAILED, POSTPONED_LIMIT, RUNNING, SYNC_STEP,
                       TERMINATED, WAITING, CallWorker, CancelTimer, ChildDone, Finished, HookOutcome, Instance,
                       Outcome, Signal)
from .fsm_data import replace
from ._slots import maker
from .history import Record
from .model import DONE, SUCCESS, Blueprint

PAUSED_LIMIT = 1_000    # default bound of the outside events a paused instance holds (limits.paused_events)
ASYNC_STEP, DELAY_STEP = "async", "delay"  # the other kinds of a Pending step (fsm_data.SYNC_STEP)
# Record(time, state, event, action, next, step, attempt, endpoint, outcome, latency, detail) without the
# frozen __init__'s cost: several records per transition (goflow._slots)
_record = maker(Record)


class _Run:
    """Accumulates commands and records while one input is applied."""

    __slots__ = ("bp", "now", "commands", "records", "limit", "paused_limit", "children_limit", "child_depth",
                 "joined")

    def __init__(self, bp: Blueprint, now: float, limit: int = POSTPONED_LIMIT, paused_limit: int = PAUSED_LIMIT):
        self.bp, self.now, self.limit, self.paused_limit = bp, now, limit, paused_limit
        self.commands: list = []
        self.records: list = []
        self.children_limit, self.child_depth = 1_000, 0     # limits.children, limits.child_depth
        self.joined: set = set()            # workflow steps whose children all ended in this input

    def record(self, inst: Instance, event: str | None, outcome: str, *, action=None, next=None,
               step=None, detail=None) -> None:
        self.records.append(_record(self.now, inst.state, event, action, next, step, None, None, outcome,
                                    None, detail))


def _input_name(inp) -> str:
    if isinstance(inp, Signal):
        return inp.name
    if isinstance(inp, Outcome):
        return inp.event
    if isinstance(inp, ChildDone):
        return inp.event
    return "timer"


def _seen(inst: Instance, sig: Signal) -> bool:
    return sig.event_id is not None and sig.event_id in inst.event_ids


def _remember(inst: Instance, sig: Signal) -> Instance:
    if sig.event_id is None:
        return inst
    return replace(inst, event_ids=(inst.event_ids + (sig.event_id,))[-EVENT_ID_WINDOW:])


def _settle(run: _Run, inst: Instance, **moved) -> Instance:
    """No step is pending: end in an end state (``done``: completed), else wait for an outside event.
    ``moved``: the ``state`` (and ``visited``) a chain of transitions left it in, not yet copied in."""
    state = moved.get("state", inst.state)
    status = run.bp.end_status(state)
    if status is None:
        if inst.status == WAITING:
            return replace(inst, **moved) if moved else inst
        return replace(inst, status=WAITING, **moved)
    reason = None if status == COMPLETED else f"ended in the end state {state!r}"
    inst = replace(inst, status=status, pending=None, result=state, reason=reason, **moved)
    run.records.append(_record(run.now, state, None, None, None, None, None, None, status, None,
                               None if state == DONE else {"result": state}))
    if run.bp.workers_for(state):
        step = inst.step + 1
        run.commands.append(CallWorker(inst.id, step, state, state, "hook"))
        inst = replace(inst, step=step, hook_step=step)
    run.commands.append(Finished(inst.id, status, state, reason))
    return inst


def _fail(run: _Run, inst: Instance, event: str | None, reason: str, step: int | None,
          action: str | None = None) -> Instance:
    p = inst.pending
    if p is not None and p.due is not None:
        run.commands.append(CancelTimer(inst.id, p.step))
    run.record(inst, event, FAILED, step=step, detail=reason)
    run.commands.append(Finished(inst.id, FAILED, inst.state, reason))
    return replace(inst, status=FAILED, reason=reason, pending=None, inbox=(), failed_action=action)


def _terminate(run: _Run, inst: Instance, reason: str) -> Instance:
    p = inst.pending
    if p is not None and p.due is not None:
        run.commands.append(CancelTimer(inst.id, p.step))
    run.record(inst, "terminate", TERMINATED, detail=reason)
    run.commands.append(Finished(inst.id, TERMINATED, inst.state, reason))
    return replace(inst, status=TERMINATED, reason=reason, pending=None, inbox=())


def _busy(inst: Instance) -> bool:
    """A sync step runs (postponable events that the state takes wait for it to end)."""
    p = inst.pending
    return p is not None and p.kind == SYNC_STEP


def _drop(run: _Run, inst: Instance) -> Instance:
    """The instance ended: every event still postponed is recorded ``dropped``."""
    for sig in inst.postponed:
        run.record(inst, sig.name, "dropped", detail=sig.event_id)
    return replace(inst, postponed=())


def _status_of(inst: Instance) -> str:
    p = inst.pending
    if p is None:
        return WAITING
    if p.kind == DELAY_STEP:
        return DELAYED
    if p.kind == ASYNC_STEP and p.accepted:
        return WAITING
    return RUNNING


def _hook_outcome(run: _Run, inst: Instance, h: HookOutcome) -> Instance:
    if inst.hook_step != h.step:
        run.record(inst, h.event, "stale", action=inst.state, step=h.step)
        return inst
    run.record(inst, h.event, "hook-" + ("ok" if h.event == SUCCESS else "failed"), action=inst.state,
               step=h.step)
    return replace(inst, hook_step=None)
