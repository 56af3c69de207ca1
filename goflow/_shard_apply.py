"""How one item of a batch changes its instance: mixed into :class:`goflow.shard.Shard`.

:class:`Applying` is the per-item half of a shard's batch (``Shard.handle`` is the other: the one
commit, then the effects). Each item is dispatched by the type of its request (:meth:`Applying._apply`:
a create, a wait or watch, an FSM input, a worker's result), its instance found live, staged earlier
in the batch, or loaded from the store; the FSM reacts (:meth:`Applying._react`), the new state is
encoded as a snapshot, and a crash of the handler is supervised there (:func:`goflow._shard_cells.restart`).
Nothing here touches the store's write side: the changes are staged for ``Shard.handle`` to commit.

Also here: the event-data rule (:func:`check_input`) and an instance's plain-data view
(:func:`instance_view`), both re-exported by :mod:`goflow.shard`.
"""
from __future__ import annotations

from dataclasses import replace

import msgpack

from . import _shard_children as kin, queues, snapshot
from ._fsm_run import _record
from ._shard_cells import _Cell, restart
from ._shard_watch import hold, watch
from .errors import GoflowError, InstanceError, InstanceExists, InstanceFinished, InstanceNotFound, InvalidInput
from .fsm import (FAILED, FINAL_STATUSES, CallWorker, ChildAck, ChildDone, Finished, HookOutcome, Instance,
                  Outcome, Pause, Resume, Retry, Rewind, Signal, Terminate, TimerFired, new_instance, react)
from .history import Record
from .jobs import Job, StepDone
from .jsonlike import why_not_json_like
from .model import START
from .requests import Create, Item, Reply, Wait, Watch

__all__ = ["Applying", "check_input", "instance_view"]

# The FSM inputs a caller may send; a worker's result comes as StepDone, a timer is the shard's own.
_INPUTS = (Signal, Pause, Resume, Terminate, TimerFired, Outcome, HookOutcome, Retry, Rewind, ChildDone, ChildAck)
# Management operations that apply to a finished instance too (it is then live again).
_REVIVE = (Retry, Rewind)
# Requests that come from the runtime itself (no caller waits on them): after the instance finished
# they are still recorded in its history; for a quarantined instance they are dropped.
_LATE = (StepDone, TimerFired, Outcome, HookOutcome, ChildDone)

_START = Signal(START)      # what a create delivers (immutable: one for every create)


def _created(inst: Instance) -> dict:
    """The answer to a create."""
    return {"id": inst.id, "version": inst.version}


def check_input(instance_id: str, what: str, value, limit: int) -> None:
    """Refuse untrusted data that is not JSON-like (:mod:`goflow.jsonlike`) or is over ``limit``
    bytes once encoded."""
    why = why_not_json_like(value)
    if why:
        raise InvalidInput(instance_id, f"{what} is not JSON-like data ({why})")
    try:
        size = len(msgpack.packb(value, use_bin_type=True))
    except (TypeError, ValueError, OverflowError) as exc:
        raise InvalidInput(instance_id, f"{what} is not JSON-like data ({exc})") from None
    if size > limit:
        raise InvalidInput(instance_id, f"{what} is {size} bytes encoded, over the limit of {limit} "
                                        "(limits.event_bytes)")


def instance_view(inst: Instance) -> dict:
    """The plain-data status of an instance (what ``status`` returns). ``result``: the end state it
    ended in (None while it runs, and when it failed or was terminated outside an end state);
    ``postponed``: the names of its postponed events, oldest first; ``visited``: the states it has
    entered (the targets ``rewind`` accepts, with ``init``)."""
    p = inst.pending
    return {
        "id": inst.id, "project": inst.project, "activity": inst.activity, "version": inst.version,
        "status": inst.status, "state": inst.state, "context": inst.context, "input": inst.input,
        "step": inst.step, "reason": inst.reason, "created": inst.created, "updated": inst.updated,
        "result": inst.result, "postponed": [e.name for e in inst.postponed], "visited": list(inst.visited),
        "parent": None if inst.parent is None else {"id": inst.parent.id, "step": inst.parent.step,
                                                    "index": inst.parent.index},
        "pending": None if p is None else {"step": p.step, "action": p.action, "kind": p.kind,
                                           "since": p.since, "due": p.due, "accepted": p.accepted},
    }


class Applying:
    """Mixed into :class:`goflow.shard.Shard` (its ``store``, ``cells``, ``waiters``, ``resident``,
    limits, the batch's ``_stored``/``_seen``/``_taken``/``_sends``, and :class:`goflow._shard_cache.Resident`'s
    loading): the application of one item to its instance, staged for the batch's commit."""

    def _stored_event_ids(self, items: list[Item]) -> set[tuple[str, str]]:
        """The ``(instance, event id)`` pairs of the batch's outside events that the store knows,
        asked in one query for the ids their instance's window does not hold."""
        ask = []
        for item in items:
            req = item.request
            if isinstance(req, Signal) and req.event_id is not None:
                cell = self.cells.get(item.instance)
                if cell is None or req.event_id not in cell.inst.event_ids:
                    ask.append((item.instance, req.event_id))
        return self.store.seen_event_ids(ask) if ask else set()

    def _apply(self, item: Item, now: float, staged, records, commands, replies) -> None:
        req, iid = item.request, item.instance
        if isinstance(req, Create):
            self._create(item, req, now, staged, records, commands, replies)
            return
        if isinstance(req, Watch):
            if iid not in staged and iid not in self.cells:
                self._load(iid, now)        # a passivated instance is live: loaded to be watched
            replies.extend(watch(self.store, self.cells, self.waiters, item, req, staged))
            if iid in self.waiters:
                self.resident.drop(iid)     # a held watch keeps its instance resident
            return
        if isinstance(req, ChildAck) and iid not in staged and iid not in self.cells:
            return                          # acknowledged before (the child is at rest)
        if isinstance(req, ChildDone):
            self._sends.append(kin.ack(item))   # sent only once this batch is committed
        if isinstance(req, Signal) and req.data is not None:
            check_input(iid, f"the data of event {req.name!r}", req.data, self.event_bytes)
        cell = staged.get(iid) or self.cells.get(iid)
        if cell is None:                    # passivated (then loaded), or unknown, finished, quarantined
            cell, row = self._load(iid, now)
        if cell is None:
            if row is None:
                raise InstanceNotFound(iid)
            if isinstance(req, Wait):
                replies.append(Reply(item.token, True, instance_view(queues.load(row)[0])))
                return
            late = isinstance(req, _LATE)
            if late and row.status not in FINAL_STATUSES:
                return                      # quarantined: no snapshot to record it with
            repeated = isinstance(req, Signal) and req.event_id is not None
            revive = isinstance(req, _REVIVE)
            if not (late or repeated or revive) or row.status not in FINAL_STATUSES:
                raise InstanceFinished(iid, row.status, row.state)
            # a late result or timer (the completion hook's outcome, a stale step's), a repeated
            # event id after the end (a duplicate: the FSM decides), or a retry/rewind (the FSM
            # decides; the instance is live again): applied to the stored snapshot, so the FSM
            # records it and this batch commits it
            cell = self._cell_of(row)
        if isinstance(req, Wait):
            if req.holds(cell.inst):
                replies.append(Reply(item.token, True, instance_view(cell.inst)))
            else:
                hold(self.waiters, iid, item.token, req)
                self.resident.drop(iid)     # a waiter keeps its instance resident
            return
        if isinstance(req, StepDone):
            records.setdefault(iid, []).extend(req.result.attempts)
            req = req.input()
        elif not isinstance(req, _INPUTS):
            raise GoflowError(f"{req!r} is not a request to an instance ({iid})")
        self._react(cell, item, req, now, staged, records, commands, replies)

    def _create(self, item: Item, req: Create, now: float, staged, records, commands, replies) -> None:
        iid = item.instance
        if not isinstance(req.input, dict):
            raise InvalidInput(iid, f"the input must be a JSON object, not {type(req.input).__name__}")
        check_input(iid, "the input", req.input, self.event_bytes)
        if iid in self.cells or iid in staged or iid in self._stored:
            if req.parent is None:
                raise InstanceExists(iid)
            self._child_again(iid, staged)      # a child created again: idempotent
            replies.append(Reply(item.token, True, {"id": iid, "existing": True}))
            return
        bp = self.blueprint(req.project, req.activity, req.version)
        inst = new_instance(bp, iid, req.input, now)
        cell = _Cell(inst if req.parent is None else replace(inst, parent=req.parent), bp)
        records.setdefault(iid, []).append(_record(now, None, None, None, "init", None, None, None, "created"))
        self._react(cell, item, _START, now, staged, records, commands, replies, value=_created)

    def _child_again(self, iid: str, staged) -> None:
        """A child's create arrived again (its parent recovered): an ended child repeats its notice."""
        cell = staged.get(iid) or self.cells.get(iid)
        if cell is not None:
            inst = cell.inst
        else:
            row = self.store.get(iid)
            if row is None or row.status not in FINAL_STATUSES:
                return                      # created earlier in this batch, or quarantined
            inst = queues.load(row)[0]
        self._sends.extend(kin.notice_items(inst))

    def _react(self, cell: _Cell, item: Item, inp, now, staged, records, commands, replies, value=None) -> None:
        iid = cell.inst.id
        while True:
            try:
                r = react(cell.bp, cell.inst, inp, now, postponed_limit=self.postponed,
                          paused_limit=self.paused_events, seen=self._known(iid, inp),
                          children_limit=self.children, child_depth=self.child_depth)
                # an instance that cannot be stored is a crash; a child's end carries what the child's
                # own snapshot held, so a parent's join is encoded once, at the commit (many ends of
                # one parent arrive in one batch: one encoding of its join instead of one per end)
                snap = None if isinstance(inp, ChildDone) else snapshot.encode(r.instance)
                if isinstance(inp, Outcome) and r.instance.inbox and r.instance.inbox[-1] is inp:
                    queues.encode_entry(iid, inp)    # a held worker output too (event data is checked)
                break
            except InstanceError:           # refused on purpose (EventRefused, WrongStatus, ...)
                raise
            except Exception as exc:  # the instance's handler crashed: supervise it
                cell = restart(cell, exc, now, staged.get(iid), self._stored_cell, period=self.period,
                               intensity=self.intensity)
                if cell.inst.status == FAILED:
                    cell.inst, notices = kin.failed_by_supervisor(cell.inst)
                    commands.extend(notices)
                    staged[iid] = cell
                    records.setdefault(iid, []).append(
                        Record(now, cell.inst.state, None, None, None, None, outcome=FAILED, detail=cell.inst.reason))
                    commands.append(Finished(iid, FAILED, cell.inst.state, cell.inst.reason))
                    raise InstanceFinished(iid, FAILED, cell.inst.state) from exc
                records.setdefault(iid, []).append(
                    Record(now, cell.inst.state, None, None, None, None, outcome="restarted",
                           detail=f"restart {len(cell.crashes)}: {type(exc).__name__}: {exc}"))
        if isinstance(inp, Signal) and inp.event_id is not None and not r.duplicate:
            self._taken.setdefault(iid, {})[inp.event_id] = None    # stored with the batch
        new = _Cell(r.instance, cell.bp, snap, cell.queued)
        new.crashes = cell.crashes
        staged[iid] = new
        if r.records:
            records.setdefault(iid, []).extend(r.records)
        commands.extend(r.commands)
        if value is not None:
            result = value(r.instance)
        else:
            result = {"id": iid, "state": r.instance.state, "status": r.instance.status, "duplicate": r.duplicate}
        replies.append(Reply(item.token, True, result))

    def _known(self, iid: str, inp) -> bool:
        """Whether an outside event's id was taken before: committed (the store said so for this
        batch) or earlier in this batch."""
        if not isinstance(inp, Signal) or inp.event_id is None:
            return False
        return (iid, inp.event_id) in self._seen or inp.event_id in self._taken.get(iid, ())

    def _job(self, cell: _Cell, cmd: CallWorker) -> Job:
        inst = cell.inst
        request = {"instance": inst.id, "project": inst.project, "activity": inst.activity,
                   "version": inst.version, "action": cmd.action, "state": cmd.state, "step": cmd.step,
                   "attempt": 1, "input": inst.input, "context": inst.context}
        return Job(inst.id, cmd.step, cmd.mode, cmd.action, request, cell.bp.workers_for(cmd.action))
