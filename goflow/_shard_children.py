"""Child workflows in the shard (SPEC §8): what crosses to other instances, and its recovery.

Private to :mod:`goflow.shard`. The FSM (:mod:`goflow._fsm_children`) decides; this module turns its
commands into :class:`~goflow.requests.Item` s addressed to other instances, which the shard returns
as ``Effects.sends`` *after* the commit and the host routes by instance id (to any host, itself
included). The protocol (docs/runtime.md, "Child workflows"):

* ``StartChildren`` -> one ``Create(parent=...)`` per child. A child create of an id that exists is
  not an error: the existing child answers with its notice again when it has ended.
* A child's end -> ``NotifyParent`` -> a :class:`ChildDone` to the parent, repeated (recovery, a peer
  host's restart) until the parent's host answers with :class:`ChildAck` *after* committing it; the
  child stays live (``Instance.notify``) until then.
* ``CancelChildren`` -> ``Terminate`` to each child still running (its ``cancel`` handler runs).
* A child that cannot be created (its blueprint gone, an input over ``limits.event_bytes``) is
  answered at once with a ``ChildDone`` of outcome ``error`` and the reason, so the parent's join
  always ends.
"""
from __future__ import annotations

import logging
from typing import Callable, Iterable

from . import _fsm_children as children
from .fsm import (FAILED, CancelChildren, ChildAck, ChildDone, Instance, NotifyParent, StartChildren, Terminate,
                  WORKFLOW_STEP)
from .requests import Create, Item

__all__ = ["sends_of", "ack", "failed_create", "notice_items", "resume_items", "failed_by_supervisor",
           "unacknowledged"]

log = logging.getLogger("goflow.shard")


def sends_of(cmd) -> list[Item] | None:
    """The items a child-workflow command sends to other instances (None: not such a command)."""
    if isinstance(cmd, StartChildren):
        return [Item(c.id, Create(c.project, c.activity, c.input, c.version, c.parent)) for c in cmd.children]
    if isinstance(cmd, NotifyParent):
        return [Item(cmd.parent, cmd.done)]
    if isinstance(cmd, CancelChildren):
        return [Item(cid, Terminate(cmd.reason)) for cid in cmd.children]
    return None


def ack(done_item: Item) -> Item:
    """The parent has committed ``done_item``'s ChildDone: tell the child."""
    return Item(done_item.request.child, ChildAck())


def failed_create(iid: str, req: Create, exc: Exception) -> Item:
    """A child that could not be created: its parent's join hears of it as an ``error``."""
    p = req.parent
    log.warning("child.create_failed id=%s parent=%s error=%s", iid, p.id, exc)
    return Item(p.id, ChildDone(p.step, p.index, iid, "error", FAILED, None, f"the child could not start: {exc}"))


def notice_items(inst: Instance) -> list[Item]:
    """The notice of a child that has ended (to send again)."""
    if inst.parent is None or not inst.finished:
        return []
    n = children.notice(inst)
    return [Item(n.parent, n.done)]


def resume_items(inst: Instance, bp, wanted: Callable[[str], bool] = lambda iid: True) -> list[Item]:
    """What a live instance has sent and not seen acknowledged, to send again (recovery, or a peer
    host restarted: ``wanted`` picks the instance ids that host owns): its notice when it is an ended
    child, the creates of the children of its pending workflow step that have not ended."""
    out = [i for i in notice_items(inst) if wanted(i.instance)] if inst.notify else []
    p = inst.pending
    if p is not None and p.kind == WORKFLOW_STEP and inst.join is not None and inst.join.step == p.step:
        action = bp.action(p.action)
        if action is not None:
            out.extend(i for i in sends_of(StartChildren(inst.id, p.step, children.resend(inst, action)))
                       if wanted(i.instance))
    return out


def unacknowledged(cells, before: float) -> tuple[list[Item], int]:
    """The notices of the ended children among ``cells`` (a shard's resident instances) that ended
    (or were last committed) at ``before`` or earlier and are still unacknowledged, to send again;
    and how many unacknowledged children there are in all (none: nothing to come back for)."""
    out, waiting = [], 0
    for cell in cells:
        inst = cell.inst
        if inst.notify:
            waiting += 1
            if inst.updated <= before:
                out.extend(notice_items(inst))
    return out, waiting


def failed_by_supervisor(inst: Instance) -> tuple[Instance, list]:
    """A child failed by its supervisor (past the restart intensity) notifies its parent too."""
    if inst.parent is None or inst.notify:
        return inst, []
    from dataclasses import replace
    return replace(inst, notify=True), [children.notice(inst)]


def chunks(items: Iterable, size: int) -> Iterable[list]:
    batch = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
