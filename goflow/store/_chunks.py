"""History chunks: how both stores keep an instance's history records (SQLite schema 7, PostgreSQL
migration 7).

A commit writes ONE row per instance it changed, a *chunk*: the records of that instance in the
batch, in order, as one msgpack array of rows (the :data:`goflow.store._rows.HISTORY_COLUMNS`,
``detail`` as JSON text or nil). A record's key -- what history cursors carry (``h<seq>``) -- is its
chunk's ``seq`` plus its index in the chunk: a chunk holds the keys ``seq .. seq + count - 1``, and
the store gives each chunk keys above every key it gave before (SQLite: above the last chunk's;
PostgreSQL: from a counter in the shard's row), so an instance's keys grow in commit order as the
rowids of schema 6 did. The chunk table is indexed by ``(instance_id, seq, count)``: a page is a
keyset query on that index (at most ``limit + 2`` chunks read), a count reads the index alone.

Why: one row per record plus its index entry was ~80 % of a commit of engine-only instances
(``benchmarks/history_layout.py``: 1,000 instances x 6 records, 76 ms per commit as rows, 30 ms as
chunks, 11 ms with no history at all; see docs/store.md).

Older stores are migrated in place: each run of records of one instance with consecutive keys becomes
one chunk with the same keys, so cursors given out before the upgrade still name the same records.
"""
from __future__ import annotations

import json

import msgpack

from ..errors import StoreError
from ..history import Record
__all__ = ["dumps", "encode", "decode", "chunk_page", "chunk_runs"]

dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

_packb = msgpack.packb
_unpackb = msgpack.unpackb


def encode(iid: str, records, path: str) -> bytes:
    """The chunk of ``records`` (:class:`Record`) of instance ``iid``. Raises :class:`StoreError` for
    a ``detail`` that is not JSON or a field that cannot be stored (nothing of the batch is written)."""
    rows = []
    for r in records:
        detail = r.detail
        if detail is not None:
            try:
                detail = dumps(detail)
            except (TypeError, ValueError) as exc:
                raise StoreError(f"history detail of instance {iid!r} cannot be stored as JSON: {exc}; "
                                 "nothing of this batch was committed", path) from exc
        try:    # times as floats, as the REAL / double precision columns of schema 6 gave them back
            rows.append((float(r.time), r.state, r.event, r.action, r.next, r.step, r.attempt, r.endpoint,
                         r.outcome, None if r.latency is None else float(r.latency), detail))
        except (TypeError, ValueError) as exc:
            raise StoreError(f"a history record of instance {iid!r} cannot be stored: its time and latency must "
                             f"be numbers ({exc}); nothing of this batch was committed", path) from exc
    try:
        return _packb(rows)
    except (TypeError, ValueError, OverflowError) as exc:
        raise StoreError(f"a history record of instance {iid!r} cannot be stored: {exc}; nothing of this "
                         "batch was committed", path) from exc


def decode(blob) -> list[Record]:
    """A chunk's records."""
    out = []
    for t in _unpackb(blob):
        if t[10] is not None:
            t[10] = json.loads(t[10])
        out.append(Record(*t))
    return out


def chunk_page(chunks, desc: bool, after: int | None, limit: int) -> tuple[list[Record], int | None]:
    """Chunks ``(seq, records blob)`` in page order (seq ascending, or descending when ``desc``) as
    one page: at most ``limit`` records whose keys come after ``after`` in that order, and the key of
    the last one when more follow (else None)."""
    keyed: list[tuple[int, Record]] = []
    for seq, blob in chunks:
        pairs = list(enumerate(decode(blob), seq))
        if desc:
            pairs.reverse()
        if after is not None:
            pairs = [p for p in pairs if (p[0] < after if desc else p[0] > after)]
        keyed.extend(pairs)
        if len(keyed) > limit:
            break
    more = len(keyed) > limit
    keyed = keyed[:limit]
    return [r for _, r in keyed], (keyed[-1][0] if more and keyed else None)


def chunk_runs(rows):
    """Rows of the schema-6 history ``(seq, instance_id, *HISTORY_COLUMNS)`` (``detail`` as JSON
    text), ordered by instance then seq, as chunks ``(seq, instance_id, count, blob)``: one per run
    of one instance's records with consecutive keys (a batch's records of an instance were)."""
    run: list = []
    for row in rows:
        seq, iid = row[0], row[1]
        if run and (iid != run[0][1] or seq != run[-1][0] + 1):
            yield _run_chunk(run)
            run = []
        run.append(row)
    if run:
        yield _run_chunk(run)


def _run_chunk(run: list) -> tuple:
    return (run[0][0], run[0][1], len(run),
            _packb([(float(r[2]), *r[3:11], None if r[11] is None else float(r[11]), r[12]) for r in run]))
