"""A shard: the instances one host owns, their durable store, their timers and their supervision.

This is the host actor's whole logic with Thespian taken out (the actor in ``actors/host.py`` only
moves messages in and effects out). Each instance is a *lightweight actor*: its own mailbox (the
items addressed to it in a batch, applied in order), its own state (an immutable
:class:`goflow.fsm.Instance` no one else touches) and a supervisor (this shard).

One batch of :class:`~goflow.requests.Item` s is handled as a unit: every item is applied through the
pure FSM core (dispatched by the type of its request), each new state is encoded as a snapshot, and the
whole batch is committed in ONE store transaction before any effect (worker job, timer, reply, completion notice) is returned to the caller — so no
effect ever happens before its transition is durable, and durability costs one sync per batch.

Event ids (SPEC §6: a repeated id is never applied, for the instance's whole life): the FSM knows the
last :data:`goflow.fsm.EVENT_ID_WINDOW` ids of an instance (in its snapshot); every id an instance
takes is also kept by the store (``Change.event_ids``, committed with the transition). Before a
batch is applied, the event ids its outside events carry that the window of their instance does not
hold are looked up in the store in ONE query (:meth:`InstanceStore.seen_event_ids`); a known one goes
to the FSM as ``react(..., seen=True)`` and is answered ``duplicate: true``, not applied — after a
restart, after the instance ended, after any number of other events. An id taken earlier in the same
batch is known from the batch itself.

Supervision (SPEC §6, :mod:`goflow._shard_cells`): a crash of an instance's handler restarts it from
its last committed snapshot, or fails it past the restart intensity; other instances are untouched.

Passivation (SPEC §11, :mod:`goflow._shard_cache`): ``cells`` holds the instances with work in flight
and a bounded, least-recently-used cache of idle ones; an idle instance leaves it after
``passivate_after`` seconds unused (or at once past ``cache_size``) and is loaded again from the store
(:meth:`Shard._load_row`) on its next event, timer, wait or query. Each commit stores the instance's
earliest timer and whether it has work in flight; recovery loads only the latter, and the timers of
passivated instances are found by a scan of the store's due index.
"""
from __future__ import annotations

import logging
import time

import msgpack
from dataclasses import dataclass, field, replace
from typing import Callable, Iterable

from . import _shard_children as kin, metrics, queues, snapshot
from ._shard_cache import Residency, Resident, StoredTimers
from ._shard_cells import _Cell, _live, restart
from ._shard_watch import hold, wake, watch
from .config import EngineSection, LimitsSection, RetrySection, RuntimeSection
from .errors import (BlueprintNotFound, GoflowError, InstanceError, InstanceExists, InstanceFinished,
                     InstanceNotFound, InvalidInput)
from .fsm import (FAILED, FINAL_STATUSES, CallWorker, CancelTimer, ChildAck, ChildDone, Finished, HookOutcome,
                  Instance, Outcome, Pause, Resume, Retry, Rewind, Signal, StartTimer, Terminate, TimerFired,
                  new_instance, react)
from .history import Record
from .jobs import Job, StepDone
from .jsonlike import why_not_json_like
from .model import START, Blueprint
from .requests import Create, Item, Reply, Wait, Watch
from .timers import TimerWheel

__all__ = ["Effects", "Shard", "instance_view", "check_input"]

log = logging.getLogger("goflow.shard")

# The FSM inputs a caller may send; a worker's result comes as StepDone, a timer is the shard's own.
_INPUTS = (Signal, Pause, Resume, Terminate, TimerFired, Outcome, HookOutcome, Retry, Rewind, ChildDone, ChildAck)
# Management operations that apply to a finished instance too (it is then live again).
_REVIVE = (Retry, Rewind)
# Requests that come from the runtime itself (no caller waits on them): after the instance finished
# they are still recorded in its history; for a quarantined instance they are dropped.
_LATE = (StepDone, TimerFired, Outcome, HookOutcome, ChildDone)


@dataclass(slots=True)
class Effects:
    jobs: list = field(default_factory=list)
    replies: list = field(default_factory=list)
    sends: list = field(default_factory=list)   # items to other instances, routed by id (child workflows)


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


class Shard(Resident):
    def __init__(self, store, blueprints: Iterable[Blueprint] = (), *, clock: Callable[[], float] = time.time,
                 intensity: int = EngineSection.intensity, period: float = EngineSection.period,
                 name: str = "shard", event_bytes: int = LimitsSection.event_bytes,
                 retry: RetrySection = RetrySection(), postponed: int = LimitsSection.postponed,
                 paused_events: int = LimitsSection.paused_events, children: int = LimitsSection.children,
                 child_depth: int = LimitsSection.child_depth,
                 passivate_after: float = RuntimeSection.passivate_after,
                 cache_size: int = RuntimeSection.cache_size):
        self.store, self.clock, self.name = store, clock, name
        self.event_bytes = event_bytes
        self.postponed = postponed          # limits.postponed: the bound of each postponed queue
        self.paused_events = paused_events  # limits.paused_events: what a paused instance holds
        self.children, self.child_depth = children, child_depth   # limits.children, limits.child_depth
        self._sends: list[Item] = []        # this batch's items to other instances, sent after the commit
        self.retry = retry                  # the backoff of workers that leave theirs unset
        self.intensity, self.period = intensity, period
        self.blueprints: dict[tuple, Blueprint] = {}
        self.latest: dict[tuple, int] = {}
        self.cells: dict[str, _Cell] = {}          # the resident instances (the rest: passivated)
        self.resident = Residency(passivate_after, cache_size)
        self.stored_timers = StoredTimers(store)   # the timers of passivated instances
        self.loaded = 0                            # rows decoded into cells (recovery and on demand)
        self.passivated = 0                        # instances passivated since the shard started
        self.timers = TimerWheel()
        self.waiters: dict[str, list] = {}     # instance id -> [(reply token, Wait or Watch), ...]
        self._stored: set[str] = set()     # ids of this batch's creates that the store already holds
        self._seen: set[tuple[str, str]] = set()    # this batch's (instance, event id) the store knows
        self._taken: dict[str, dict] = {}           # instance id -> event ids taken in this batch (keys)
        for bp in blueprints:
            self.deploy(bp)

    # ------------------------------------------------------------------------------- blueprints
    def deploy(self, bp: Blueprint) -> None:
        bp = self.retry.apply_to_blueprint(bp)      # its jobs carry workers with every backoff field set
        self.blueprints[bp.key] = bp
        pa = (bp.project, bp.activity)
        if bp.version >= self.latest.get(pa, 0):
            self.latest[pa] = bp.version

    def blueprint(self, project: str, activity: str, version: int | None = None) -> Blueprint:
        if version is None:
            version = self.latest.get((project, activity))
        bp = self.blueprints.get((project, activity, version))
        if bp is None:
            raise BlueprintNotFound(project, activity, version)
        return bp

    # ---------------------------------------------------------------------------------- recovery
    def recover(self, now: float | None = None) -> Effects:
        """Load the instances with work in flight (the store's ``in_flight``) and re-dispatch their
        steps; the rest stay in the store, their timers in its due index. A row the store marks in
        flight whose instance is idle (a store of an older schema) gets its marks written back."""
        fx = Effects()
        self._recover(fx, now)
        return fx

    def inflight(self) -> list[Job]:
        """Every worker call in flight (to re-dispatch after a worker proxy restarts)."""
        fx = Effects()
        for cell in self.cells.values():
            self._resume_effects(cell, fx, timers=False)
        return fx.jobs

    def outstanding(self, wanted) -> list[Item]:
        """The unacknowledged child-workflow messages to the instances ``wanted`` picks (a peer host
        restarted: what it may have lost). Such instances are never passivated (``in_flight``)."""
        out: list[Item] = []
        for cell in self.cells.values():
            out.extend(kin.resume_items(cell.inst, cell.bp, wanted))
        return out

    # ---------------------------------------------------------------------------------- handling
    def handle(self, items: Iterable[Item], now: float | None = None) -> Effects:
        """Apply a batch; commit it in one transaction; return the effects to carry out."""
        now = self.clock() if now is None else now
        fx = Effects()
        staged: dict[str, _Cell] = {}          # cells changed in this batch (new objects)
        records: dict[str, list] = {}
        commands: list = []
        replies: list[Reply] = []
        items = list(items)
        # one store lookup for every create of the batch (a networked store answers each in a round trip)
        self._stored = self.store.existing([i.instance for i in items if isinstance(i.request, Create)
                                            and i.instance not in self.cells])
        self._taken = {}
        self._sends = []
        try:
            self._seen = self._stored_event_ids(items)
        except Exception as exc:  # nothing applied: every caller hears why (as for a failed commit)
            log.error("shard.lookup_failed name=%s items=%s error=%s", self.name, len(items), exc)
            err = exc if isinstance(exc, GoflowError) else GoflowError(f"store lookup failed: {exc}")
            fx.replies = [Reply(i.token, False, err) for i in items]
            return fx
        for item in items:
            try:
                self._apply(item, now, staged, records, commands, replies)
            except GoflowError as exc:
                if isinstance(item.request, ChildDone):    # the parent is gone: let the child rest
                    log.warning("child.parent_missing parent=%s child=%s error=%s", item.instance,
                                item.request.child, exc)
                    self._sends.append(kin.ack(item))
                elif isinstance(item.request, Create) and item.request.parent is not None:
                    self._sends.append(kin.failed_create(item.instance, item.request, exc))
                replies.append(Reply(item.token, False, exc))
        if staged:
            changes = []
            committed = {}                 # each staged cell's queue rows once the batch commits
            for iid, cell in staged.items():
                appended, removed, committed[iid] = queues.diff(cell.queued, cell.inst)
                changes.append(self._change(cell.inst, cell.snap or snapshot.encode(cell.inst), records.get(iid, ()),
                                            tuple(self._taken.get(iid, ())),
                                            queues.rows_of(iid, appended) if appended else (), removed))
            t0 = time.perf_counter()
            try:
                self.store.commit(changes)
            except Exception as exc:  # nothing happened: no state moves, every caller hears why
                log.error("shard.commit_failed name=%s items=%s error=%s", self.name, len(changes), exc)
                err = exc if isinstance(exc, GoflowError) else GoflowError(f"store commit failed: {exc}")
                fx.replies = [Reply(r.token, False, err) if r.ok else r for r in replies]
                return fx
            if metrics.enabled():
                metrics.committed(time.perf_counter() - t0, len(changes),
                                  ((c.inst.project, c.inst.activity, records.get(i, ())) for i, c in staged.items()))
            for iid, cell in staged.items():
                cell.snap = None
                cell.queued = committed[iid]
                if _live(cell.inst):          # a completed instance stays while its hook is in flight
                    self.cells[iid] = cell
                else:
                    self.cells.pop(iid, None)
                    self.resident.drop(iid)
        for cmd in commands:
            if isinstance(cmd, CallWorker):
                fx.jobs.append(self._job(staged.get(cmd.instance) or self.cells[cmd.instance], cmd))
            elif isinstance(cmd, StartTimer):
                self.timers.arm(cmd.instance, cmd.step, cmd.due)
            elif isinstance(cmd, CancelTimer):
                self.timers.cancel(cmd.instance, cmd.step)
            else:
                sent = kin.sends_of(cmd)
                if sent:
                    fx.sends.extend(sent)
        fx.sends.extend(self._sends)
        replies.extend(wake(self.store, self.waiters, staged, instance_view))   # when its condition holds
        for iid in staged:
            if iid in self.cells:
                self._touch(iid, now)
        self._passivate(now)
        fx.replies = replies
        return fx

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
        records.setdefault(iid, []).append(Record(now, None, None, None, "init", None, outcome="created"))
        self._react(cell, item, Signal(START), now, staged, records, commands, replies,
                    value=lambda inst: {"id": inst.id, "version": inst.version})

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

    # ----------------------------------------------------------------------------------- queries
    def status(self, iid: str, now: float | None = None) -> dict:
        """The instance's view; a passivated instance is loaded (and kept in the cache)."""
        cell = self.cells.get(iid)
        row = None
        if cell is None:
            cell, row = self._load(iid, now)
            if cell is not None:
                self._passivate(self.clock() if now is None else now)
        if cell is not None:
            return instance_view(cell.inst)
        if row is None:
            raise InstanceNotFound(iid)
        if row.status == "quarantined":
            return {"id": iid, "project": row.project, "activity": row.activity, "version": row.version,
                    "status": row.status, "state": row.state, "context": None, "reason": row.reason}
        return instance_view(queues.load(row)[0])
