"""Child workflows in the pure FSM (SPEC §8): the children a workflow action starts, their join, the
notice a child gives its parent when it ends. Private to :mod:`goflow.fsm` (and the shard, for a
child failed by its supervisor); see docs/runtime.md ("Child workflows") for the protocol. These are
the rules (pure functions of an instance); the steps that start and join children, which take
transitions, are in :mod:`goflow._fsm_transitions`, which imports this module (never the reverse).

* **Ids.** A child's id is derived: ``<parent>~<step>`` for a single child, ``<parent>~<step>~<i>``
  for item ``i`` of a forEach. When that would be over the identifier bound (256 UTF-8 bytes), the
  parent id is replaced by ``#`` and the SHA-256 of the parent id (hex, 40 digits): still derived
  from the parent and the step only, so a re-sent create names the same child.
* **Inputs.** A single child's input is the parent's context, or the object under the action's
  ``input`` key. A forEach child's is ``{"item": item, "index": i}`` on top of that object (or of
  nothing when there is no ``input`` key).
* **Join.** Each child's end arrives as :class:`ChildDone` (a repeated index is ignored). When all
  have ended: a single child's outcome is ``success`` when it completed in ``done``, its end state's
  name for an end state, ``error`` when it failed or was terminated; its context is the output.
  A forEach's is ``success`` (the children's contexts in item order) when every child completed,
  else ``error`` with ``{"failed": [...], "results": [...]}``.
"""
from __future__ import annotations

import hashlib


from .fsm_data import (COMPLETED, WORKFLOW_STEP, CancelChildren, ChildDone, ChildStart, Instance, Join, NotifyParent,
                       Parent)
from .fsm_data import replace
from .ids import MAX_BYTES
from .model import DONE, ERROR, SUCCESS, Action

__all__ = ["child_id", "plan", "record_child", "join_outcome", "notice", "unfinished", "retry_join"]


def child_id(parent: str, step: int, index: int | None) -> str:
    tail = f"~{step}" if index is None else f"~{step}~{index}"
    cid = parent + tail
    if len(cid.encode("utf-8")) <= MAX_BYTES:
        return cid
    return "#" + hashlib.sha256(parent.encode("utf-8")).hexdigest()[:40] + tail


def _ids(inst: Instance, join: Join, indices) -> tuple[str, ...]:
    single = not join.each
    return tuple(child_id(inst.id, join.origins[i], None if single else i) for i in indices)


def _inputs(inst: Instance, action: Action):
    """The children's inputs, or the reason there are none (a bad context: an ``error`` outcome)."""
    ctx = inst.context
    base = ctx
    if action.input is not None:
        if action.input not in ctx:
            return f"the input key {action.input!r} is not in the context"
        base = ctx[action.input]
        if not isinstance(base, dict):
            return f"the input key {action.input!r} holds {type(base).__name__}, not an object"
    if action.for_each is None:
        return [dict(base)]
    if action.for_each not in ctx:
        return f"the forEach key {action.for_each!r} is not in the context"
    items = ctx[action.for_each]
    if not isinstance(items, (list, tuple)):
        return f"the forEach key {action.for_each!r} holds {type(items).__name__}, not a list"
    base = base if action.input is not None else {}
    return [{**base, "item": item, "index": i} for i, item in enumerate(items)]


def _starts(inst: Instance, action: Action, join: Join, inputs, indices) -> tuple[ChildStart, ...]:
    project, activity = action.child
    depth = inst.parent.depth + 1 if inst.parent is not None else 1
    ids = _ids(inst, join, indices)
    return tuple(ChildStart(cid, project, activity, action.version, inputs[i], Parent(inst.id, join.step, i, depth))
                 for cid, i in zip(ids, indices))


def plan(inst: Instance, action: Action, step: int, limit: int, max_depth: int):
    """``(join, starts)`` for a workflow action begun as ``step``, or the reason it starts nothing."""
    depth = inst.parent.depth + 1 if inst.parent is not None else 1
    if max_depth > 0 and depth > max_depth:
        return f"a child here would be {depth} deep, over limits.child_depth ({max_depth})"
    inputs = _inputs(inst, action)
    if isinstance(inputs, str):
        return inputs
    if len(inputs) > limit:
        return (f"the forEach key {action.for_each!r} holds {len(inputs)} items, over the limit of {limit} "
                f"children (limits.children)")
    join = Join(step, action.name, (None,) * len(inputs), (step,) * len(inputs), action.for_each is not None)
    return join, _starts(inst, action, join, inputs, range(len(inputs)))


def resend(inst: Instance, action: Action) -> tuple[ChildStart, ...]:
    """The creates of the children of the pending workflow step that have not ended (recovery)."""
    join = inst.join
    inputs = _inputs(inst, action)
    if join is None or isinstance(inputs, str) or len(inputs) != len(join.results):
        return ()
    return _starts(inst, action, join, inputs, [i for i, r in enumerate(join.results) if r is None])


def retry_join(inst: Instance, action: Action, step: int):
    """A retry of a failed workflow step: new children (new ids, of step ``step``) for the failed
    indices only, the results of the others kept; or None when there is no join to retry."""
    join = inst.join
    inputs = _inputs(inst, action)
    if (join is None or join.action != action.name or join.step != inst.step or isinstance(inputs, str)
            or len(inputs) != len(join.results)):
        return None                         # the step failed before it started children: start afresh
    failed = [i for i, r in enumerate(join.results) if r is None or r[1] != COMPLETED]
    results = tuple(None if i in failed else r for i, r in enumerate(join.results))
    origins = tuple(step if i in failed else o for i, o in enumerate(join.origins))
    new = replace(join, step=step, results=results, origins=origins)
    return new, _starts(inst, action, new, inputs, failed)


def record_child(join: Join, done: ChildDone) -> Join | None:
    """``join`` with ``done`` recorded, or None when that index has ended already (a repeat)."""
    if not 0 <= done.index < len(join.results) or join.results[done.index] is not None:
        return None
    results = list(join.results)
    results[done.index] = (done.event, done.status, done.context, done.reason)
    return Join(join.step, join.action, tuple(results), join.origins, join.each)


def join_outcome(inst: Instance, join: Join) -> tuple[str, object]:
    """The outcome event and output of a join whose children have all ended."""
    if not join.each:
        event, _status, context, _reason = join.results[0]
        return event, context
    ids = _ids(inst, join, range(len(join.results)))
    failed = [{"index": i, "id": ids[i], "status": r[1], "outcome": r[0], "reason": r[3]}
              for i, r in enumerate(join.results) if r[1] != COMPLETED]
    contexts = [r[2] for r in join.results]
    if failed:
        return ERROR, {"failed": failed, "results": contexts}
    return SUCCESS, contexts


def unfinished(inst: Instance, join: Join) -> tuple[str, ...]:
    """The ids of the children of ``join`` that have not ended."""
    return _ids(inst, join, [i for i, r in enumerate(join.results) if r is None])


def notice(inst: Instance) -> NotifyParent:
    """The notice an ended child sends its parent (repeated until the parent acknowledges it)."""
    p = inst.parent
    if inst.result is not None:
        event = SUCCESS if inst.result == DONE else inst.result
    else:
        event = ERROR
    return NotifyParent(inst.id, p.id, ChildDone(p.step, p.index, inst.id, event, inst.status, dict(inst.context),
                                                 inst.reason))


# ------------------------------------------------------------------ after any input
def _children_effects(run, before: Instance, inst: Instance) -> Instance:
    """After any input: a workflow step that was left before its children all ended cancels those
    still running (terminate: their ``cancel`` handlers run); a child that has just ended notifies
    its parent until the parent acknowledges it."""
    p = before.pending
    if (p is not None and p.kind == WORKFLOW_STEP and before.join is not None and before.join.step == p.step
            and p.step not in run.joined and (inst.pending is None or inst.pending.step != p.step)):
        left = unfinished(before, before.join)
        if left:
            run.record(inst, None, "children-cancelled", action=p.action, step=p.step, detail=list(left))
            run.commands.append(CancelChildren(inst.id, left, f"its parent {inst.id!r} left step {p.step}"))
    if inst.parent is not None and inst.finished and not before.finished:
        run.commands.append(notice(inst))
        inst = replace(inst, notify=True)
    return inst
