"""What the SQLite and PostgreSQL instance stores share beside their SQL dialects: the column lists
they select, the rows a batch of changes writes (:func:`batch_rows`; its history as chunks,
:mod:`goflow.store._chunks`), the ``order`` of a page, an instance read back with its queue rows
(:func:`stored`) and the keyset scan of the recovered instances (:func:`scan`)."""
from __future__ import annotations

from ._chunks import dumps, encode
from .base import StoredInstance

__all__ = ["COLUMNS", "SUMMARY_COLUMNS", "HISTORY_COLUMNS", "QUEUE_COLUMNS", "NOT_RECOVERED", "dumps",
           "descending", "batch_rows", "queue_rows", "group_queues", "stored", "scan"]

COLUMNS = "id, project, activity, version, status, state, snapshot, created, updated, reason"
SUMMARY_COLUMNS = "id, project, activity, version, status, state, created, updated, reason"
QUEUE_COLUMNS = "seq, queue, entry"
HISTORY_COLUMNS = "time, state, event, action, next, step, attempt, endpoint, outcome, latency, detail"

# Statuses left out of recovery unless a change says otherwise (Change.live): a status added later is
# recovered unless it is listed here.
NOT_RECOVERED = frozenset({"completed", "failed", "terminated", "quarantined"})


def batch_rows(changes, path: str, check=None) -> tuple[dict[str, tuple], list[tuple], list[tuple]]:
    """A batch's instance rows (the last change of each instance is the one stored: ``(id, project,
    activity, version, status, state, snapshot, created, updated, reason, live, parent, due,
    inflight)``, the flags as bools), history chunks ``(instance, count, blob)`` (one per instance
    with records in the batch, its records in order: :mod:`goflow.store._chunks`) and taken event
    ids ``(instance, event id)``. ``check(change)`` may refuse a change first. Raises
    :class:`StoreError` for a record's ``detail`` that is not JSON (nothing of the batch is written)."""
    rows: dict[str, tuple] = {}
    records: dict[str, list] = {}
    ids: list[tuple] = []
    for c in changes:
        iid = c.instance_id
        if check is not None:
            check(c)
        if c.event_ids:
            ids.extend([(iid, e) for e in c.event_ids])
        live = c.live if c.live is not None else c.status not in NOT_RECOVERED
        inflight = live if c.inflight is None else c.inflight
        rows[iid] = (iid, c.project, c.activity, c.version, c.status, c.state, c.snapshot,
                     c.created, c.updated, c.reason, bool(live), c.parent,
                     None if c.due is None else float(c.due), bool(inflight))
        if c.records:
            held = records.get(iid)
            if held is None:
                records[iid] = list(c.records)
            else:
                held.extend(c.records)
    chunks = [(iid, len(recs), encode(iid, recs, path)) for iid, recs in records.items()]
    return rows, chunks, ids


def descending(order: str) -> bool:
    if order not in ("latest", "oldest"):
        raise ValueError(f"order must be 'latest' or 'oldest', not {order!r}")
    return order == "latest"


def queue_rows(changes) -> tuple[list[tuple[str, int]], list[tuple[str, int, str, bytes]]]:
    """The queue rows a batch deletes ``(instance, seq)`` and writes ``(instance, seq, queue,
    entry)``: deleting every row first, then writing, leaves each ``(instance, seq)`` as the batch's
    last change of it says (a row appended and removed within the batch is never written)."""
    deletes: dict[tuple[str, int], None] = {}
    writes: dict[tuple[str, int], tuple] = {}
    for c in changes:
        iid = c.instance_id
        for seq in c.unqueued:
            key = (iid, seq)
            deletes[key] = None
            writes.pop(key, None)
        for seq, queue, entry in c.queued:
            writes[(iid, seq)] = (iid, seq, queue, entry)
    return list(deletes), list(writes.values())


def group_queues(rows) -> dict[str, list[tuple]]:
    """Rows ``(instance, seq, queue, entry)`` ordered by instance and seq, as each instance's list of
    ``(seq, queue, entry)``."""
    out: dict[str, list[tuple]] = {}
    for iid, seq, queue, entry in rows:
        out.setdefault(iid, []).append((seq, queue, bytes(entry)))
    return out


def stored(rows: list, queue: list) -> StoredInstance | None:
    """An instance's row (the :data:`COLUMNS`; none: None) and its queue rows (the
    :data:`QUEUE_COLUMNS`, in seq order) as a :class:`StoredInstance`."""
    if not rows:
        return None
    return StoredInstance(*rows[0], tuple((q, k, bytes(e)) for q, k, e in queue))


def scan(read, chunk: int):
    """Keyset pagination by id: ``read(after)`` gives up to ``chunk`` instance rows (the
    :data:`COLUMNS`) with ids above ``after`` and the queue rows ``(instance, seq, queue, entry)`` of
    those instances, read in one moment of the store; yields each as a :class:`StoredInstance`."""
    after = ""
    make = StoredInstance
    while True:
        rows, queued = read(after)
        queues = group_queues(queued)
        for row in rows:
            yield make(*row, tuple(queues.get(row[0], ())))
        if len(rows) < chunk:
            return
        after = rows[-1][0]
