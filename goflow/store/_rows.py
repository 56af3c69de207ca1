"""What the SQLite and PostgreSQL instance stores share beside their SQL dialects: the column lists
they select, the JSON of a history record's ``detail``, reading a record row back, the ``order`` of a
page, and cutting a history page (asked for ``limit + 1`` rows) into its records and next cursor."""
from __future__ import annotations

import json

from ..history import Record

__all__ = ["COLUMNS", "SUMMARY_COLUMNS", "HISTORY_COLUMNS", "QUEUE_COLUMNS", "dumps", "record", "descending",
           "history_page", "queue_rows", "group_queues"]

COLUMNS = "id, project, activity, version, status, state, snapshot, created, updated, reason"
SUMMARY_COLUMNS = "id, project, activity, version, status, state, created, updated, reason"
QUEUE_COLUMNS = "seq, queue, entry"
HISTORY_COLUMNS = "time, state, event, action, next, step, attempt, endpoint, outcome, latency, detail"

dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def record(row: tuple) -> Record:
    """A history row (the :data:`HISTORY_COLUMNS`, ``detail`` as JSON text or None) as a Record."""
    detail = row[10]
    if detail is not None:
        row = row[:10] + (json.loads(detail),)
    return Record(*row)


def descending(order: str) -> bool:
    if order not in ("latest", "oldest"):
        raise ValueError(f"order must be 'latest' or 'oldest', not {order!r}")
    return order == "latest"


def history_page(rows: list, limit: int) -> tuple[list[Record], int | None]:
    """Rows ``(seq, *HISTORY_COLUMNS)``, up to ``limit + 1`` of them, as the page's records and the
    ``seq`` to continue after (None when this page is the last)."""
    more = len(rows) > limit
    rows = rows[:limit]
    return [record(r[1:]) for r in rows], (rows[-1][0] if more and rows else None)


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
