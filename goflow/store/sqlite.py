"""The embedded store: one SQLite file (WAL mode) per instance host, written by that host alone.

See ``docs/store.md`` for the schema, the durability levels and the measured figures.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from typing import Iterable, Iterator, Sequence

from ..errors import InstanceNotFound, StoreError
from ..history import Record
from ._checkpoint import Checkpointer
from ._db import SYNCHRONOUS, WAL_AUTOCHECKPOINT_PAGES, WriterLock, ensure_schema, errors_as_store_error, open_connection
from ._chunks import chunk_page, chunk_runs, encode
from ._rows import (COLUMNS, HISTORY_COLUMNS, QUEUE_COLUMNS, SUMMARY_COLUMNS, batch_rows, descending,
                    queue_rows, scan, stored)
from .base import QUARANTINED, Change, CountKey, InstanceStore, StoredInstance, Summary

__all__ = ["SCHEMA_VERSION", "APPLICATION_ID", "SQLiteStore"]

log = logging.getLogger("goflow.store")

SCHEMA_VERSION = 7
APPLICATION_ID = 0x47465301  # "GFS\x01": a GoFlow shard store

_TABLES = [
    """CREATE TABLE instances (
        id        TEXT    NOT NULL PRIMARY KEY,
        project   TEXT    NOT NULL,
        activity  TEXT    NOT NULL,
        version   INTEGER NOT NULL CHECK (typeof(version) = 'integer'),
        status    TEXT    NOT NULL,
        state     TEXT    NOT NULL,
        snapshot  BLOB    NOT NULL CHECK (typeof(snapshot) = 'blob'),
        created   REAL    NOT NULL,
        updated   REAL    NOT NULL,
        reason    TEXT,
        live      INTEGER NOT NULL DEFAULT 0   -- 1: reloaded on recovery (see Change.live)
    )""",
    "CREATE INDEX instances_live ON instances (id) WHERE live = 1",
    # (schema 1 to 6 had here the history as one row per record, indexed by (instance_id, seq))
]
# version 7: the history as chunks, one row per instance per commit (goflow.store._chunks); seq is the
# rowid, the key of the chunk's first record, and the covering index serves pages and counts
_CHUNKS = [
    """CREATE TABLE history_chunks (
        seq         INTEGER PRIMARY KEY,
        instance_id TEXT    NOT NULL,
        count       INTEGER NOT NULL,
        records     BLOB    NOT NULL
    )""",
]
_CHUNK_INDEX = ["CREATE INDEX history_by_instance ON history_chunks (instance_id, seq, count)"]
# version 2: every outside event id an instance took, for its whole life (SPEC §6). The primary key
# is the lookup: a B-tree search whose cost grows with log(rows), not with an instance's ids.
_EVENT_IDS = [
    """CREATE TABLE event_ids (
        instance_id TEXT NOT NULL,
        event_id    TEXT NOT NULL,
        PRIMARY KEY (instance_id, event_id)
    ) WITHOUT ROWID""",
]
# version 3: the listing indexes end with (created, id), the key of list's keyset pagination
# (versions 1 and 2 had them without id)
_LIST_INDEXES = [
    "CREATE INDEX instances_by_created ON instances (created, id)",  # never updated: created is kept
    "CREATE INDEX instances_by_status ON instances (status, created, id)",
    "CREATE INDEX instances_by_blueprint ON instances (project, activity, created, id)",
    "CREATE INDEX instances_by_blueprint_status ON instances (project, activity, status, created, id)",
]
# version 4: a child instance's parent (SPEC §8), for list --parent
_PARENT = [
    "ALTER TABLE instances ADD COLUMN parent TEXT",
    "CREATE INDEX instances_by_parent ON instances (parent, created, id) WHERE parent IS NOT NULL",
]
# version 5 (SPEC §11, passivation): the instance's earliest timer, indexed in due order, and whether
# recovery loads it (work in flight). A row of an older store gets inflight = live: recovery loads
# every live instance once and the host writes their marks back (goflow.shard.Shard.recover).
_TIMERS = [
    "ALTER TABLE instances ADD COLUMN due REAL",
    "ALTER TABLE instances ADD COLUMN inflight INTEGER NOT NULL DEFAULT 0",
    "UPDATE instances SET inflight = live WHERE live = 1",
    "CREATE INDEX instances_due ON instances (due, id) WHERE due IS NOT NULL",
    "CREATE INDEX instances_inflight ON instances (id) WHERE inflight = 1",
]
# version 6: each queued entry of an instance (held while paused, postponed) is a row of its own,
# apart from the snapshot (goflow.queues): appending to a queue of N writes one row, not N
_QUEUED = [
    """CREATE TABLE queued (
        instance_id TEXT    NOT NULL,
        seq         INTEGER NOT NULL,
        queue       TEXT    NOT NULL,   -- inbox | postponed
        entry       BLOB    NOT NULL,
        PRIMARY KEY (instance_id, seq)
    ) WITHOUT ROWID""",
]
_DDL = _TABLES + _CHUNKS + _CHUNK_INDEX + _EVENT_IDS + _LIST_INDEXES + _PARENT + _TIMERS + _QUEUED
_UPGRADES = {
    1: _EVENT_IDS,           # a version-1 store gains the table; ids it took before are not in it
    2: [*(f"DROP INDEX IF EXISTS {name}" for name in ("instances_by_created", "instances_by_status",
                                                      "instances_by_blueprint", "instances_by_blueprint_status")),
        *_LIST_INDEXES],
    3: _PARENT,
    4: _TIMERS,
    5: _QUEUED,              # an older store keeps its queues in its snapshots (formats 1 to 3), still read
    6: [*_CHUNKS, lambda conn: _rows_to_chunks(conn), "DROP TABLE history", *_CHUNK_INDEX],
}

_UPSERT = (
    "INSERT INTO instances"
    " (id, project, activity, version, status, state, snapshot, created, updated, reason, live, parent, due,"
    " inflight) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
    # project, activity and parent never change for an id: left out of the SET, the listing indexes that hold
    # them but not status (instances_by_blueprint, instances_by_created) are not rewritten per update
    " ON CONFLICT (id) DO UPDATE SET version = excluded.version, status = excluded.status, state = excluded.state,"
    " snapshot = excluded.snapshot, updated = excluded.updated, reason = excluded.reason,"
    " live = excluded.live, due = excluded.due, inflight = excluded.inflight"
)
_APPEND = "INSERT INTO history_chunks (seq, instance_id, count, records) VALUES (?, ?, ?, ?)"
_NEXT_KEY = "SELECT seq + count FROM history_chunks ORDER BY seq DESC LIMIT 1"
_REMEMBER = "INSERT OR IGNORE INTO event_ids (instance_id, event_id) VALUES (?, ?)"
_SEEN = "SELECT 1 FROM event_ids WHERE instance_id = ? AND event_id = ?"
_UNQUEUE = "DELETE FROM queued WHERE instance_id = ? AND seq = ?"
_QUEUE = "INSERT OR REPLACE INTO queued (instance_id, seq, queue, entry) VALUES (?, ?, ?, ?)"
_CHUNK = 2000  # rows per query while iterating unfinished()
_IN_CHUNK = 500  # ids per IN (...) lookup (under SQLite's 999-parameter limit of old builds)


class SQLiteStore(InstanceStore):
    """An :class:`InstanceStore` in one SQLite file, WAL mode.

    ``synchronous="normal"`` (default): a commit survives a crash of the process (kill -9), but the
    last transactions may be lost if the machine loses power or the OS crashes. ``"full"``: the WAL
    is synced at every commit, so a commit survives power loss too (slower). ``readonly=True`` opens
    an existing store for queries while its writer runs. ``timeout`` is how long to wait for a lock.
    """

    def __init__(self, path: str | os.PathLike, *, synchronous: str = "normal", readonly: bool = False,
                 timeout: float = 5.0):
        self.path = os.fspath(path)
        self.readonly = readonly
        self.synchronous = synchronous
        self._lock = threading.RLock()
        if synchronous not in SYNCHRONOUS:
            raise ValueError(f"synchronous must be one of {sorted(SYNCHRONOUS)}, not {synchronous!r}")
        self._writer = None if readonly else WriterLock(self.path)
        try:
            self._conn = open_connection(self.path, readonly=readonly, synchronous=synchronous,
                                         timeout=timeout, autocheckpoint=False)
            self._checkpointer = None
            try:
                ensure_schema(self._conn, self.path, kind="shard store", application_id=APPLICATION_ID,
                              version=SCHEMA_VERSION, ddl=_DDL, readonly=readonly,
                              upgrades=_UPGRADES)
                if not readonly:
                    with errors_as_store_error(self.path, "opening the checkpoint connection"):
                        self._checkpointer = Checkpointer(self.path, synchronous=SYNCHRONOUS[synchronous],
                                                          pages=WAL_AUTOCHECKPOINT_PAGES)
            except BaseException:
                self._conn.close()
                raise
        except BaseException:
            if self._writer is not None:
                self._writer.release()
            raise
        self._closed = False
        log.debug("opened %s (synchronous=%s, readonly=%s)", self.path, synchronous, readonly)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r}, synchronous={self.synchronous!r}, readonly={self.readonly})"

    # ------------------------------------------------------------------------------------ writing
    def commit(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        self._writable()
        rows, chunks, ids = batch_rows(changes, self.path)
        unqueue, queue = queue_rows(changes)
        with self._lock, errors_as_store_error(self.path, f"committing a batch of {len(changes)} changes "
                                                          "(nothing of it was committed)"):
            conn = self._open_conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                conn.executemany(_UPSERT, rows.values())
                if chunks:
                    conn.executemany(_APPEND, _keyed(conn, chunks))
                if ids:
                    conn.executemany(_REMEMBER, ids)
                if unqueue:
                    conn.executemany(_UNQUEUE, unqueue)
                if queue:
                    conn.executemany(_QUEUE, queue)
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn)
                raise
        self._checkpointer.wrote()
        if log.isEnabledFor(logging.DEBUG):
            log.debug("committed %s changes (%s instances, %s records) to %s",
                      len(changes), len(rows), sum(c[1] for c in chunks), self.path)

    def quarantine(self, instance_id: str, reason: str, now: float | None = None) -> None:
        self._writable()
        when = time.time() if now is None else now
        with self._lock, errors_as_store_error(self.path, f"quarantining instance {instance_id!r}"):
            conn = self._open_conn()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT state, status FROM instances WHERE id = ?",
                                   (instance_id,)).fetchone()
                if row is None:
                    raise InstanceNotFound(instance_id)
                conn.execute("UPDATE instances SET status = ?, reason = ?, live = 0, inflight = 0, due = NULL WHERE id = ?",
                             (QUARANTINED, reason, instance_id))
                record = Record(when, row[0], outcome=QUARANTINED, detail={"reason": reason, "status": row[1]})
                chunk = (instance_id, 1, encode(instance_id, [record], self.path))
                conn.executemany(_APPEND, _keyed(conn, [chunk]))
                conn.execute("COMMIT")
            except BaseException:
                self._rollback(conn)
                raise
        self._checkpointer.wrote()
        log.warning("quarantined instance %s (was %s in state %s) in %s: %s",
                    instance_id, row[1], row[0], self.path, reason)

    # ------------------------------------------------------------------------------------ reading
    def seen_event_ids(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        pairs = list(pairs)
        if not pairs:
            return set()
        with self._lock, errors_as_store_error(self.path, f"looking up {len(pairs)} event ids"):
            conn = self._open_conn()
            return {pair for pair in pairs if conn.execute(_SEEN, pair).fetchone() is not None}

    def existing(self, instance_ids) -> set[str]:
        ids = list(dict.fromkeys(instance_ids))
        if not ids:
            return set()
        found: set[str] = set()
        with self._lock, errors_as_store_error(self.path, f"looking up {len(ids)} instances"):
            conn = self._open_conn()
            for k in range(0, len(ids), _IN_CHUNK):     # one query per chunk, not one per id
                chunk = ids[k:k + _IN_CHUNK]
                sql = f"SELECT id FROM instances WHERE id IN ({','.join('?' * len(chunk))})"
                found.update(r[0] for r in conn.execute(sql, chunk))
        return found

    def get(self, instance_id: str) -> StoredInstance | None:
        row, queue = self._read(
            f"reading instance {instance_id!r}",
            (f"SELECT {COLUMNS} FROM instances WHERE id = ?", (instance_id,)),
            (f"SELECT {QUEUE_COLUMNS} FROM queued WHERE instance_id = ? ORDER BY seq", (instance_id,)))
        return stored(row, queue)

    def exists(self, instance_id: str) -> bool:
        return self._one("SELECT 1 FROM instances WHERE id = ?", (instance_id,),
                         f"looking up instance {instance_id!r}") is not None

    def unfinished(self) -> Iterator[StoredInstance]:
        return self._scan("instances_live", "live")

    def in_flight(self) -> Iterator[StoredInstance]:
        return self._scan("instances_inflight", "inflight")

    def due(self, now: float, limit: int, after: tuple[float, str] | None = None) -> list[tuple[float, str]]:
        if after is None:
            return self._all("SELECT due, id FROM instances INDEXED BY instances_due WHERE due IS NOT NULL"
                             " AND due <= ? ORDER BY due, id LIMIT ?", (float(now), max(int(limit), 0)),
                             "scanning due timers")
        return self._all("SELECT due, id FROM instances INDEXED BY instances_due WHERE due IS NOT NULL"
                         " AND due <= ? AND (due, id) > (?, ?) ORDER BY due, id LIMIT ?",
                         (float(now), float(after[0]), str(after[1]), max(int(limit), 0)), "scanning due timers")

    def next_due(self, after: float | None = None) -> float | None:
        if after is None:
            row = self._one("SELECT min(due) FROM instances WHERE due IS NOT NULL", (), "reading the next due timer")
        else:
            row = self._one("SELECT min(due) FROM instances WHERE due IS NOT NULL AND due > ?", (float(after),),
                            "reading the next due timer")
        return row[0]

    def _scan(self, index: str, flag: str) -> Iterator[StoredInstance]:
        # Keyset pagination over the partial index: no statement stays open between chunks, so the
        # caller may commit while it iterates, and no read transaction pins the WAL meanwhile.
        sql = (f"SELECT {COLUMNS} FROM instances INDEXED BY {index}"
               f" WHERE {flag} = 1 AND id > ? ORDER BY id LIMIT {_CHUNK}")
        queued = ("SELECT instance_id, seq, queue, entry FROM queued WHERE instance_id > ? AND instance_id <= ?"
                  " ORDER BY instance_id, seq")
        return scan(lambda after: self._read("listing unfinished instances", (sql, (after,)),
                                             (queued, lambda rows: (after, rows[-1][0] if rows else after))),
                    _CHUNK)

    def history_page(self, instance_id: str, limit: int, *, order: str = "latest",
                     after: int | None = None) -> tuple[list[Record], int | None]:
        desc = descending(order)
        n = max(int(limit), 0)
        if after is None:
            where, args, take = "", (instance_id,), n + 1
        elif desc:
            where, args, take = " AND seq < ?", (instance_id, int(after)), n + 1
        else:   # from the chunk holding the key after `after` (it may begin before it): one chunk more
            where = (" AND seq >= coalesce((SELECT max(seq) FROM history_chunks WHERE instance_id = ?"
                     " AND seq <= ?), ?)")
            args, take = (instance_id, instance_id, int(after), int(after)), n + 2
        rows = self._all(f"SELECT seq, records FROM history_chunks WHERE instance_id = ?{where}"
                         f" ORDER BY seq {'DESC' if desc else 'ASC'} LIMIT ?", (*args, take),
                         f"reading the history of instance {instance_id!r}")
        return chunk_page(rows, desc, None if after is None else int(after), n)

    def history_count(self, instance_id: str, before: int | None = None) -> int:
        if before is None:
            sql, args = "SELECT coalesce(sum(count), 0) FROM history_chunks WHERE instance_id = ?", (instance_id,)
        else:   # the chunk holding `before` counts its keys below it
            sql = ("SELECT coalesce(sum(min(count, ? - seq)), 0) FROM history_chunks"
                   " WHERE instance_id = ? AND seq < ?")
            args = (int(before), instance_id, int(before))
        return self._all(sql, args, f"counting the history of instance {instance_id!r}")[0][0]

    def list(self, project: str | None = None, activity: str | None = None, status: str | None = None,
             limit: int = 50, *, order: str = "latest", after: tuple[float, str] | None = None,
             state: str | None = None, parent: str | None = None) -> list[Summary]:
        desc = descending(order)
        where, args = _filters(project=project, activity=activity, status=status, state=state, parent=parent)
        if after is not None:
            created, iid = after
            where += (" AND " if where else " WHERE ") + ("(created, id) < (?, ?)" if desc else "(created, id) > (?, ?)")
            args += (float(created), str(iid))
        way = "DESC" if desc else "ASC"
        rows = self._all(f"SELECT {SUMMARY_COLUMNS} FROM instances{where}"
                         f" ORDER BY created {way}, id {way} LIMIT ?",
                         (*args, max(int(limit), 0)), "listing instances")
        return [Summary(*r) for r in rows]

    def counts(self, project: str | None = None, activity: str | None = None) -> dict[CountKey, int]:
        where, args = _filters(project=project, activity=activity)
        rows = self._all("SELECT project, activity, version, status, count(*) FROM instances"
                         f"{where} GROUP BY project, activity, version, status", args,
                         "counting instances")
        return {(p, a, v, s): n for p, a, v, s, n in rows}

    # --------------------------------------------------------------------------------- lifecycle
    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            try:
                with errors_as_store_error(self.path, "closing the store"):
                    if self._checkpointer is not None:
                        self._checkpointer.close()  # first: the last connection's close checkpoints
                    self._conn.close()
            finally:
                if self._writer is not None:
                    self._writer.release()
        log.debug("closed %s", self.path)

    @property
    def closed(self) -> bool:
        return self._closed

    # ---------------------------------------------------------------------------------- helpers
    def _open_conn(self):
        if self._closed:
            raise StoreError("the store is closed", self.path)
        return self._conn

    def _writable(self) -> None:
        if self.readonly:
            raise StoreError("the store was opened read-only", self.path)

    def _rollback(self, conn) -> None:
        if conn.in_transaction:
            try:
                conn.execute("ROLLBACK")
            except Exception:  # the original error is the one worth reporting
                log.exception("rollback failed in %s", self.path)

    def _read(self, what: str, first: tuple, then: tuple) -> tuple[list, list]:
        """Two queries in one read transaction (one moment of the store, whoever writes meanwhile):
        ``then``'s arguments may be a function of ``first``'s rows."""
        with self._lock, errors_as_store_error(self.path, what):
            conn = self._open_conn()
            conn.execute("BEGIN")
            try:
                rows = conn.execute(*first).fetchall()
                args = then[1](rows) if callable(then[1]) else then[1]
                more = conn.execute(then[0], args).fetchall()
            finally:
                self._rollback(conn)     # a read: nothing to keep
            return rows, more

    def _one(self, sql: str, args: tuple, what: str):
        with self._lock, errors_as_store_error(self.path, what):
            return self._open_conn().execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple, what: str) -> list:
        with self._lock, errors_as_store_error(self.path, what):
            return self._open_conn().execute(sql, args).fetchall()


def _keyed(conn, chunks) -> list[tuple]:
    """The rows of ``chunks`` ``(instance, count, blob)``: each keyed above every key given before."""
    last = conn.execute(_NEXT_KEY).fetchone()
    seq = last[0] if last else 1
    out = []
    for iid, count, blob in chunks:
        out.append((seq, iid, count, blob))
        seq += count
    return out


def _rows_to_chunks(conn) -> None:
    """Schema 6 to 7: the history rows as chunks with the same keys (goflow.store._chunks.chunk_runs)."""
    rows = conn.execute(f"SELECT seq, instance_id, {HISTORY_COLUMNS} FROM history ORDER BY instance_id, seq")
    batch: list = []
    for chunk in chunk_runs(rows):
        batch.append(chunk)
        if len(batch) >= 1000:
            conn.executemany(_APPEND, batch)
            batch = []
    if batch:
        conn.executemany(_APPEND, batch)


def _filters(**given) -> tuple[str, tuple]:
    """`` WHERE a = ? AND b = ?`` for the filters that are not None (column names are fixed here)."""
    used = [(k, v) for k, v in given.items() if v is not None]
    if not used:
        return "", ()
    return " WHERE " + " AND ".join(f"{k} = ?" for k, _ in used), tuple(v for _, v in used)
