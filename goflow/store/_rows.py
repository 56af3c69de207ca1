"""What the SQLite and PostgreSQL instance stores share beside their SQL dialects: the column lists
they select, the JSON of a history record's ``detail``, reading a record row back, the ``order`` of a
page, and cutting a history page (asked for ``limit + 1`` rows) into its records and next cursor."""
from __future__ import annotations

import json

from ..history import Record

__all__ = ["COLUMNS", "SUMMARY_COLUMNS", "HISTORY_COLUMNS", "dumps", "record", "descending", "history_page"]

COLUMNS = "id, project, activity, version, status, state, snapshot, created, updated, reason"
SUMMARY_COLUMNS = "id, project, activity, version, status, state, created, updated, reason"
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
