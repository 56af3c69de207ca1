"""The store interface: what the runtime needs from durable storage, whatever holds it.

A host process owns one store (one shard) and is its only writer. Every transition the host commits
is a :class:`Change` -- the instance's new row (its opaque snapshot bytes) and the history records of
that transition. :meth:`InstanceStore.commit` takes a whole batch of changes and makes them durable in
ONE transaction (group commit): all of them or none.

Every outside event id an instance takes is kept for the instance's whole life (SPEC §6: a repeated
id is never applied): a :class:`Change` carries the ids its transition took, the same transaction
stores them, and :meth:`InstanceStore.seen_event_ids` answers whether ids were taken before.

An instance's queued entries (the inputs held while paused, the postponed events: SPEC §8) are rows
of their own, apart from the snapshot, so that appending one to a queue of N writes one row: a
:class:`Change` carries the rows its transition appended (``queued``) and the ``seq`` of those it
removed (``unqueued``), in the same transaction; :meth:`InstanceStore.get` and
:meth:`InstanceStore.unfinished` / :meth:`InstanceStore.in_flight` return them
(``StoredInstance.queue``) in ``seq`` order.

The store never decodes a snapshot nor a queued entry; it only keeps the few plain columns (status,
state, ...) it needs to answer queries and to find the instances to recover: ``inflight`` (recovery loads only those, SPEC
§11) and ``due``, the instance's earliest timer, indexed so that a host finds the timers of the
instances it has passivated in due order (:meth:`InstanceStore.due`) instead of holding them in memory.
"""
from __future__ import annotations

import abc
from dataclasses import dataclass
from typing import Iterable, Iterator, Sequence

from ..fsm import FINAL_STATUSES
from ..history import Record

__all__ = [
    "QUARANTINED", "FINISHED_STATUSES", "Change", "StoredInstance", "Summary", "CountKey",
    "InstanceStore",
]

QUARANTINED = "quarantined"
"""Status of an instance the store keeps but the runtime must not load (e.g. a corrupt snapshot)."""

FINISHED_STATUSES = FINAL_STATUSES
"""Statuses that end an instance (:data:`goflow.fsm.FINAL_STATUSES`)."""

CountKey = tuple  # (project, activity, version, status)


@dataclass(frozen=True, slots=True)
class Change:
    """One instance's committed transition: its new row and the history records it appends.

    ``reason`` (optional) is the failure or termination reason, kept in its own column so that
    listings can show it without decoding the snapshot. ``live`` says whether recovery reloads the
    instance; by default (``None``) exactly when its status is not final, but a completed instance
    whose completion hook is still in flight is live too, so the hook is called again after a crash.
    ``event_ids``: the outside event ids this transition took (applied, postponed or queued), kept
    for the instance's whole life in the same transaction. ``due``: the instance's earliest timer
    (None: none), what :meth:`InstanceStore.due` scans. ``inflight``: whether recovery loads it (a
    worker step not yet accepted, a completion hook); by default (``None``) the same as ``live``.
    ``queued``: the queue rows it appended, ``(seq, queue, entry bytes)`` (``queue`` is ``"inbox"`` or
    ``"postponed"``, ``seq`` unique within the instance); ``unqueued``: the ``seq`` of the queue rows
    it removed (deleted before the rows appended by the same change are written). See
    :mod:`goflow.queues`.
    """

    instance_id: str
    project: str
    activity: str
    version: int
    status: str
    state: str
    snapshot: bytes
    records: Sequence[Record] = ()
    created: float = 0.0
    updated: float = 0.0
    reason: str | None = None
    live: bool | None = None      # reload on recovery; None: when the status is not final
    event_ids: Sequence[str] = ()  # outside event ids taken by this transition (de-duplication)
    parent: str | None = None      # a child instance's parent id (SPEC §8); never changes for an id
    due: float | None = None       # the instance's earliest timer (passivated instances' timers)
    inflight: bool | None = None   # recovery loads it; None: as live
    queued: Sequence[tuple[int, str, bytes]] = ()  # queue rows appended: (seq, queue, entry)
    unqueued: Sequence[int] = ()   # seq of the queue rows removed


@dataclass(frozen=True, slots=True)
class StoredInstance:
    """An instance as stored: the latest committed row, snapshot bytes included, and its queue rows
    ``(seq, queue, entry bytes)`` in ``seq`` order (:mod:`goflow.queues`)."""

    id: str
    project: str
    activity: str
    version: int
    status: str
    state: str
    snapshot: bytes
    created: float
    updated: float
    reason: str | None = None
    queue: tuple = ()

    @property
    def finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def quarantined(self) -> bool:
        return self.status == QUARANTINED


@dataclass(frozen=True, slots=True)
class Summary:
    """An instance in a listing: the row without its snapshot."""

    id: str
    project: str
    activity: str
    version: int
    status: str
    state: str
    created: float
    updated: float
    reason: str | None = None


class InstanceStore(abc.ABC):
    """Durable storage of instances (latest snapshot) and their history (append-only).

    Implementations: :class:`goflow.store.SQLiteStore` (embedded default). A store is used by one
    writer; read-only handles may query it meanwhile.
    """

    @abc.abstractmethod
    def commit(self, changes: Sequence[Change]) -> None:
        """Make a batch durable in ONE transaction: upsert each instance's row (the latest change
        of an instance in the batch wins), append its records in order. All or nothing; raises
        :class:`goflow.errors.StoreError` and leaves the store unchanged on failure."""

    @abc.abstractmethod
    def seen_event_ids(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        """Which of the ``(instance_id, event_id)`` pairs a committed :class:`Change` took (its
        ``event_ids``), ever: one query for a batch's worth of pairs, and a cost per pair that does
        not grow with the number of ids an instance has taken (an index on the pair)."""

    @abc.abstractmethod
    def get(self, instance_id: str) -> StoredInstance | None:
        """The stored instance, or ``None`` when there is none."""

    @abc.abstractmethod
    def exists(self, instance_id: str) -> bool:
        """Whether an instance of that id is stored (in any status)."""

    def existing(self, instance_ids) -> set[str]:
        """Which of ``instance_ids`` are stored (in any status): one query where a store can."""
        return {i for i in instance_ids if self.exists(i)}

    @abc.abstractmethod
    def unfinished(self) -> Iterator[StoredInstance]:
        """Every instance to recover: its last change was live (by default: not completed, failed,
        terminated nor quarantined), and it is not quarantined."""

    @abc.abstractmethod
    def in_flight(self) -> Iterator[StoredInstance]:
        """Every instance recovery loads: its last change had work in flight (``Change.inflight``,
        by default ``live``), and it is not quarantined. The rest stay in the store until an event,
        a timer or a query needs them (SPEC §11)."""

    @abc.abstractmethod
    def due(self, now: float, limit: int, after: tuple[float, str] | None = None) -> list[tuple[float, str]]:
        """At most ``limit`` ``(due, id)`` of the instances whose timer (``Change.due``) is due at or
        before ``now``, in due order (then id), after the ``(due, id)`` ``after``: a keyset scan of
        the due index."""

    @abc.abstractmethod
    def next_due(self, after: float | None = None) -> float | None:
        """The earliest stored due time (later than ``after`` when given), or None."""

    @abc.abstractmethod
    def history_page(self, instance_id: str, limit: int, *, order: str = "latest",
                     after: int | None = None) -> tuple[list[Record], int | None]:
        """One page of the instance's records: at most ``limit`` of them, the latest first
        (``order="latest"``) or the oldest first (``"oldest"``), starting after the record whose
        key is ``after``. Returns ``(records, next)``: ``next`` is the key of the last record
        returned when more follow, else ``None``. A keyset query on the history index: every page
        costs the same, wherever it is."""

    @abc.abstractmethod
    def history_count(self, instance_id: str, before: int | None = None) -> int:
        """How many of the instance's records have a key lower than ``before`` (all of them: None),
        counted on the history index: how the gRPC API numbers a page whose cursor does not say
        where it is (:func:`goflow.paging.record_positions`)."""

    def history(self, instance_id: str) -> list[Record]:
        """Every record of the instance, in the order they were committed (read page by page)."""
        out: list[Record] = []
        after = None
        while True:
            records, after = self.history_page(instance_id, 1000, order="oldest", after=after)
            out.extend(records)
            if after is None:
                return out

    @abc.abstractmethod
    def list(self, project: str | None = None, activity: str | None = None, status: str | None = None,
             limit: int = 50, *, order: str = "latest", after: tuple[float, str] | None = None,
             state: str | None = None, parent: str | None = None) -> list[Summary]:
        """At most ``limit`` instances matching every given filter, ordered by ``(created, id)``:
        the newest first (``order="latest"``) or the oldest first; ``after`` is the
        ``(created, id)`` of the last instance of the previous page (keyset pagination). ``state``:
        in that state (how ``list --end-state`` finds the instances that ended in an end state).
        ``parent``: the children of that instance (``Change.parent``)."""

    @abc.abstractmethod
    def counts(self, project: str | None = None, activity: str | None = None) -> dict[CountKey, int]:
        """Number of instances per ``(project, activity, version, status)``."""

    @abc.abstractmethod
    def quarantine(self, instance_id: str, reason: str, now: float | None = None) -> None:
        """Mark one instance unusable (status ``quarantined``, with the reason); it is left out of
        :meth:`unfinished`, :meth:`in_flight` and :meth:`due`. A history record (outcome ``quarantined``) says so. Raises
        :class:`goflow.errors.InstanceNotFound` when there is no such instance."""

    @abc.abstractmethod
    def close(self) -> None:
        """Release the store; closing twice is harmless."""

    def __enter__(self) -> "InstanceStore":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
