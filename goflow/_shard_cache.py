"""Passivation (SPEC §11): which of a shard's instances stay in memory, and the timers of the others.

An instance with nothing in flight -- waiting for an event, delayed on a timer, paused, an accepted
async step waiting for its outcome, or a workflow step waiting for its children -- is *idle*:
:class:`Residency` keeps the idle resident instances least recently used first, and says which to
passivate: those unused for ``runtime.passivate_after`` seconds, and at once the least recently used
past ``runtime.cache_size``. An instance with a worker step not yet accepted, a completion hook in
flight or an ended child's notice not yet acknowledged is never passivated (:func:`in_flight`): it
is the active set. Recovery loads it, and a parent waiting for its children (:func:`awaits_children`:
their creates are sent again, then it is idle as any other): :func:`recovers`, the store's mark.

A passivated instance's earliest timer is in the store (``Change.due``, an indexed column):
:class:`StoredTimers` keeps only the earliest due time of the shard, and when it comes scans the
store's due index in due order for the instances to load and fire (no timer per passivated instance
in memory). Resident instances keep theirs in the shard's :class:`goflow.timers.TimerWheel`.

:class:`Resident` is the part of :class:`goflow.shard.Shard` that loads, passivates and recovers
instances, and finds the due timers. Private to :mod:`goflow.shard`. Pure: no Thespian, no actors.
"""
from __future__ import annotations

import logging
from collections import OrderedDict

from . import _shard_children as kin, queues
from ._shard_cells import _Cell, _live
from .errors import BlueprintNotFound, SnapshotError
from .fsm import FINAL_STATUSES, WORKFLOW_STEP, CallWorker, Instance, TimerFired
from .jobs import HOOK
from .requests import Item
from ._slots import maker
from .store import QUARANTINED, Change

__all__ = ["Residency", "StoredTimers", "Resident", "in_flight", "awaits_children", "recovers", "due_of"]

_change = maker(Change)     # Change(...) without the frozen __init__'s cost (one per instance per commit)
log = logging.getLogger("goflow.shard")

SCAN_PAGE = 500        # rows per query of the due index
SCAN_LIMIT = 1000      # passivated instances loaded per scan; more due: the host comes back at once


def in_flight(inst: Instance) -> bool:
    """Work in flight: a worker step not yet accepted (sync, or async before its 202), a completion
    hook, or a child's end its parent has not acknowledged (SPEC §8: the child sends its notice again
    until then). Such an instance stays resident, and recovery loads it."""
    p = inst.pending
    if p is not None and p.kind in ("sync", "async") and not p.accepted:
        return True
    return inst.hook_step is not None or inst.notify


def awaits_children(inst: Instance) -> bool:
    """A workflow step whose children run (SPEC §8). The parent has no work of its own in flight: it
    is idle (passivated like a waiting instance; each child's ``ChildDone``, sent again until the
    parent acknowledges it, loads it again). But the creates of its children may have been lost with
    a host (the sender's before it sent them, the receiver's before it committed them): recovery and
    a peer host's restart send them again (:func:`goflow._shard_children.resume_items`), so the
    store marks it for recovery (:func:`recovers`)."""
    p = inst.pending
    return p is not None and p.kind == WORKFLOW_STEP and inst.join is not None and inst.join.step == p.step


def recovers(inst: Instance) -> bool:
    """Whether recovery loads the instance (``Change.inflight``, the store's ``in_flight``): work in
    flight, or a parent waiting for its children."""
    return in_flight(inst) or awaits_children(inst)


def due_of(inst: Instance) -> float | None:
    """The instance's earliest timer (a delay, an async step's timeout), or None."""
    p = inst.pending
    return None if p is None else p.due


class Residency:
    """The idle resident instances, least recently used first, with the time each was last used."""

    __slots__ = ("after", "size", "idle")

    def __init__(self, passivate_after: float, cache_size: int):
        self.after, self.size = passivate_after, cache_size
        self.idle: OrderedDict[str, float] = OrderedDict()

    def touch(self, iid: str, now: float, idle: bool) -> None:
        """``iid`` was used at ``now``; ``idle``: it may be passivated (nothing in flight, no waiter)."""
        if idle:
            self.idle[iid] = now
            self.idle.move_to_end(iid)
        else:
            self.idle.pop(iid, None)

    def drop(self, iid: str) -> None:
        self.idle.pop(iid, None)

    def expired(self, now: float) -> list[str]:
        """Remove and return the instances to passivate at ``now``: past the cache size (least
        recently used first) and unused for ``passivate_after`` seconds."""
        out = []
        idle, after, size = self.idle, self.after, self.size
        while idle:
            iid, used = next(iter(idle.items()))
            if len(idle) > size or now - used >= after:
                idle.popitem(last=False)
                out.append(iid)
            else:
                break
        return out

    def next_at(self) -> float | None:
        """When to passivate next: the least recently used idle instance's time, plus a slack of a
        tenth of ``passivate_after`` (at most a second) so that one wake-up passivates every
        instance that expires meanwhile, not one wake-up per instance used at its own time."""
        for used in self.idle.values():
            return used + self.after + min(1.0, self.after / 10)
        return None


class StoredTimers:
    """The timers of passivated instances: in the store's due index; here only the earliest."""

    __slots__ = ("store", "next")

    def __init__(self, store):
        self.store = store
        self.next: float | None = None

    def reset(self) -> None:
        """Read the earliest stored due time (recovery)."""
        self.next = self.store.next_due()

    def add(self, due: float | None) -> None:
        """An instance with a timer at ``due`` was passivated."""
        if due is not None and (self.next is None or due < self.next):
            self.next = due

    def scan(self, now: float, resident) -> list[str]:
        """The ids of instances not in ``resident`` whose stored timer is due at ``now``, in due
        order, at most :data:`SCAN_LIMIT` (then the next scan is due at once)."""
        if self.next is None or self.next > now:
            return []
        out: list[str] = []
        after = None
        try:
            while True:
                rows = self.store.due(now, SCAN_PAGE, after)
                out.extend(iid for _, iid in rows if iid not in resident)
                if len(rows) < SCAN_PAGE or len(out) >= SCAN_LIMIT:
                    break
                after = rows[-1]
            self.next = now if len(out) >= SCAN_LIMIT else self.store.next_due(after=now)
        except Exception as exc:  # the store failed: these timers fire at the next try (a second on)
            log.error("shard.due_scan_failed error=%s", exc)
            self.next = now + 1.0
        return out


class Resident:
    """Mixed into :class:`goflow.shard.Shard` (its ``store``, ``cells``, ``timers``, ``waiters``,
    ``resident``, ``stored_timers``, ``clock``): loading, passivation, recovery, due timers."""

    def _recover(self, fx, now: float | None) -> None:
        """:meth:`goflow.shard.Shard.recover`: the in-flight rows loaded, their effects in ``fx``."""
        quarantined = 0
        fixes: list[Change] = []
        for row in self.store.in_flight():
            cell = self._load_row(row)
            if cell is None:
                quarantined += 1
                continue
            self._resume_effects(cell, fx)
            if not in_flight(cell.inst):    # idle from now on: passivated as any other
                now = self.clock() if now is None else now
                if not recovers(cell.inst):     # a row of an older store: its marks written back
                    fixes.append(self._change(cell.inst, row.snapshot))
                self._touch(row.id, now)
                if len(fixes) >= 1000:
                    self.store.commit(fixes)
                    fixes = []
                    self._passivate(now)
        if fixes:
            self.store.commit(fixes)
        self.stored_timers.reset()
        if now is not None:
            self._passivate(now)
        log.info("shard.recovered name=%s instances=%s jobs=%s timers=%s quarantined=%s next_due=%s",
                 self.name, len(self.cells), len(fx.jobs), len(self.timers), quarantined,
                 self.stored_timers.next)

    def _cell_of(self, row) -> _Cell:
        """THE way a stored row (:class:`goflow.store.StoredInstance`: its snapshot and its queue rows)
        becomes an instance's cell: the :class:`Instance` with its queues read back in order
        (:func:`goflow.queues.load`), its blueprint and its committed queue rows. Every load goes
        through here (:meth:`_load_row`, a finished instance revived, the supervisor's restart).
        Raises :class:`SnapshotError` (a corrupt snapshot or queue row) or :class:`BlueprintNotFound`."""
        inst, queued = queues.load(row)
        return _Cell(inst, self.blueprint(inst.project, inst.activity, inst.version), queued=queued)

    def _stored_cell(self, iid: str) -> _Cell | None:
        """The instance as stored, as a cell (:meth:`_cell_of`), or None when there is none."""
        row = self.store.get(iid)
        return None if row is None else self._cell_of(row)

    def _load_row(self, row) -> _Cell | None:
        """A stored row as a resident cell (:meth:`_cell_of`), or None when it cannot be (a corrupt
        snapshot or queue row, an unknown blueprint): then it is quarantined."""
        try:
            cell = self._cell_of(row)
        except (SnapshotError, BlueprintNotFound) as exc:
            log.error("instance.quarantined id=%s reason=%s", row.id, exc)
            self.store.quarantine(row.id, str(exc))
            return None
        self.loaded += 1
        self.cells[row.id] = cell
        return cell

    def _load(self, iid: str, now: float | None):
        """Load a passivated instance (resident from now on); returns ``(cell, row)``: the cell is
        None when the instance is not passivated (unknown, finished or quarantined: see the row)."""
        row = self.store.get(iid)
        if row is None or row.status in FINAL_STATUSES or row.status == QUARANTINED:
            return None, row
        now = self.clock() if now is None else now
        cell = self._load_row(row)
        if cell is None:
            return None, self.store.get(iid)
        p = cell.inst.pending
        if p is not None and p.due is not None:
            self.timers.arm(iid, p.step, p.due)
        self._touch(iid, now)
        return cell, row

    def _touch(self, iid: str, now: float) -> None:
        self.resident.touch(iid, now, not in_flight(self.cells[iid].inst) and iid not in self.waiters)

    def _passivate(self, now: float) -> None:
        """Drop the idle instances past the cache size or unused for ``passivate_after`` seconds."""
        for iid in self.resident.expired(now):
            cell = self.cells.pop(iid, None)
            if cell is None:
                continue
            p = cell.inst.pending
            if p is not None and p.due is not None:
                self.timers.cancel(iid, p.step)
                self.stored_timers.add(p.due)
            self.passivated += 1

    def _change(self, inst: Instance, snap: bytes, records=(), taken=(), queued=(), unqueued=()) -> Change:
        return _change(inst.id, inst.project, inst.activity, inst.version, inst.status, inst.state, snap,
                       records, inst.created, inst.updated, inst.reason, _live(inst), taken,
                       parent=None if inst.parent is None else inst.parent.id,
                       due=due_of(inst), inflight=recovers(inst), queued=queued, unqueued=unqueued)

    def _resume_effects(self, cell: _Cell, fx, timers: bool = True) -> None:
        inst, p = cell.inst, cell.inst.pending
        if p is not None:
            if p.kind in ("sync", "async") and not p.accepted:
                fx.jobs.append(self._job(cell, CallWorker(inst.id, p.step, p.action, inst.state, p.kind)))
            if timers and p.due is not None:
                self.timers.arm(inst.id, p.step, p.due)
        if inst.hook_step is not None:
            fx.jobs.append(self._job(cell, CallWorker(inst.id, inst.hook_step, inst.state, inst.state, HOOK)))
        if timers:                          # recovery: the unacknowledged child-workflow messages again
            fx.sends.extend(kin.resume_items(inst, cell.bp))

    def _outstanding(self, wanted) -> list[Item]:
        """:meth:`goflow.shard.Shard.outstanding`: the unacknowledged child-workflow messages of the
        resident instances, then of the passivated parents waiting for their children (the store's
        rows marked for recovery that are not resident; decoded, not loaded). A row that cannot be
        decoded is left alone here: it is quarantined when it is loaded."""
        out: list[Item] = []
        for cell in self.cells.values():
            out.extend(kin.resume_items(cell.inst, cell.bp, wanted))
        for row in self.store.in_flight():
            if row.id in self.cells:
                continue
            try:
                cell = self._cell_of(row)
            except (SnapshotError, BlueprintNotFound):
                continue
            out.extend(kin.resume_items(cell.inst, cell.bp, wanted))
        return out

    def due_items(self, now: float | None = None) -> list[Item]:
        """The timers due at ``now``: the resident instances' (the wheel), then the passivated ones'
        (a scan of the store's due index; each is loaded). With none, idle instances are passivated."""
        now = self.clock() if now is None else now
        items = [Item(iid, TimerFired(step)) for iid, step in self.timers.pop_due(now)]
        for iid in self.stored_timers.scan(now, self.cells):
            cell, _ = self._load(iid, now)
            p = cell.inst.pending if cell is not None else None
            if p is not None and p.due is not None and p.due <= now:
                self.timers.cancel(iid, p.step)
                items.append(Item(iid, TimerFired(p.step)))
        if not items:
            self._passivate(now)
        return items

    def next_due(self) -> float | None:
        """When the host should wake next: a resident timer, a stored one, or a passivation."""
        times = [t for t in (self.timers.next_due(), self.stored_timers.next, self.resident.next_at())
                 if t is not None]
        return min(times) if times else None
