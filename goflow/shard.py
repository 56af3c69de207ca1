"""A shard: the instances one host owns, their durable store, their timers and their supervision.

This is the host actor's whole logic with Thespian taken out (the actor in ``actors/host.py`` only
moves messages in and effects out). Each instance is a *lightweight actor*: its own mailbox (the
items addressed to it in a batch, applied in order), its own state (an immutable
:class:`goflow.fsm.Instance` no one else touches) and a supervisor (this shard).

One batch of :class:`~goflow.requests.Item` s is handled as a unit: every item is applied through the
pure FSM core (dispatched by the type of its request: :mod:`goflow._shard_apply`), each new state is encoded as a snapshot, and the
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
earliest timer and whether recovery loads it (work in flight, or a parent waiting for its children,
whose creates are sent again); the timers of passivated instances are found by a scan of the store's
due index.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable

from . import _shard_children as kin, metrics, queues, snapshot
from ._shard_apply import Applying, check_input, instance_view
from ._shard_cache import Residency, Resident, StoredTimers
from ._shard_cells import _Cell, _live
from ._shard_watch import wake
from .config import EngineSection, LimitsSection, RetrySection, RuntimeSection
from .errors import BlueprintNotFound, GoflowError, InstanceNotFound
from .fsm import CallWorker, CancelTimer, ChildDone, StartTimer
from .jobs import Job
from .model import Blueprint
from .requests import Create, Item, Reply
from .timers import TimerWheel

__all__ = ["Effects", "Shard", "instance_view", "check_input"]

log = logging.getLogger("goflow.shard")


@dataclass(slots=True)
class Effects:
    jobs: list = field(default_factory=list)
    replies: list = field(default_factory=list)
    sends: list = field(default_factory=list)   # items to other instances, routed by id (child workflows)


class Shard(Applying, Resident):
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
        restarted: what it may have lost), of resident and passivated instances alike."""
        return self._outstanding(wanted)

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
