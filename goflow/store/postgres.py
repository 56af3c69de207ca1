"""The PostgreSQL store: every shard's instances and history in one database, as rows keyed by
shard number, written by one connection per host process.

Same contract as :class:`goflow.store.SQLiteStore` (see ``docs/store.md``): a batch is ONE
transaction, all or nothing. While the server is unavailable (restarting, the connection dropped)
every operation retries with backoff (:class:`goflow.store._pg.Retry`) and logs ``store-unavailable``;
a commit whose outcome was lost with the connection is resolved by the batch id its transaction
wrote into the shard's row of ``goflow_shards`` -- it is never applied twice.
"""
from __future__ import annotations

import logging
import threading
import time
import uuid
from typing import Iterator, Sequence

from ..errors import InstanceNotFound, StoreError
from ..history import Record
from ._pg import LOCK_CLASS, Retry, Unavailable, check_schema, connect, errors_as_store_error, redact
from ._chunks import chunk_page, encode
from ._rows import COLUMNS, QUEUE_COLUMNS, SUMMARY_COLUMNS, batch_rows, descending, queue_rows, scan, stored
from .base import QUARANTINED, Change, CountKey, InstanceStore, StoredInstance, Summary

__all__ = ["PostgresStore", "SYNCHRONOUS_COMMIT"]

log = logging.getLogger("goflow.store")

SYNCHRONOUS_COMMIT = ("on", "off", "local", "remote_write", "remote_apply")
_CHUNK = 2000


# One statement per table, the batch as arrays (unnest) in binary format (%b: half the client CPU of
# text arrays, and bytea travels as bytes, not hex): measured faster than executemany (pipelined) and
# than COPY into a staging table at the batch sizes a host commits -- see docs/store.md.
_UPSERT = (
    "INSERT INTO goflow_instances (shard, id, project, activity, version, status, state, snapshot,"
    " created, updated, reason, live, parent, due, inflight)"
    " SELECT %b, * FROM unnest(%b::text[], %b::text[], %b::text[], %b::bigint[], %b::text[], %b::text[],"
    " %b::bytea[], %b::float8[], %b::float8[], %b::text[], %b::bool[], %b::text[], %b::float8[], %b::bool[])"
    " ON CONFLICT (shard, id) DO UPDATE SET project = excluded.project, activity = excluded.activity,"
    " version = excluded.version, status = excluded.status, state = excluded.state,"
    " snapshot = excluded.snapshot, updated = excluded.updated, reason = excluded.reason,"
    " live = excluded.live, due = excluded.due, inflight = excluded.inflight"
)
# each chunk's key: the shard's counter (goflow_shards.history_next, raised by the batch's total in the
# same transaction, before) less the total, plus the chunk's offset in the batch (goflow.store._chunks)
_APPEND = (
    "INSERT INTO goflow_history_chunks (shard, instance_id, seq, count, records)"
    " SELECT %b, i, (SELECT history_next FROM goflow_shards WHERE shard = %b) - %b + o, c, b"
    " FROM unnest(%b::text[], %b::bigint[], %b::integer[], %b::bytea[]) AS u(i, o, c, b)"
)
_REMEMBER = (
    "INSERT INTO goflow_event_ids (shard, instance_id, event_id)"
    " SELECT %b, i, e FROM unnest(%b::text[], %b::text[]) AS r(i, e) ON CONFLICT DO NOTHING"
)
_SEEN = (
    "SELECT k.i, k.e FROM unnest(%b::text[], %b::text[]) AS k(i, e) JOIN goflow_event_ids g"
    " ON g.shard = %b AND g.instance_id = k.i AND g.event_id = k.e"
)
_UNQUEUE = (
    "DELETE FROM goflow_queued g USING unnest(%b::text[], %b::bigint[]) AS r(i, s)"
    " WHERE g.shard = %b AND g.instance_id = r.i AND g.seq = r.s"
)
_QUEUE = (
    "INSERT INTO goflow_queued (shard, instance_id, seq, queue, entry)"
    " SELECT %b, * FROM unnest(%b::text[], %b::bigint[], %b::text[], %b::bytea[])"
    " ON CONFLICT (shard, instance_id, seq) DO UPDATE SET queue = excluded.queue, entry = excluded.entry"
)
_APPEND_ONE = (
    "INSERT INTO goflow_history_chunks (shard, instance_id, seq, count, records)"
    " SELECT %s, %s, history_next - 1, 1, %s FROM goflow_shards WHERE shard = %s"
)


class PostgresStore(InstanceStore):
    """An :class:`InstanceStore` for shard ``shard`` in the PostgreSQL database at ``url``.

    ``synchronous_commit="on"`` (default): a commit returns once the server has flushed it to its
    WAL, so it survives a crash of the server and of its machine; ``"off"`` returns before the flush
    (a server crash can lose the last ~0.6 s of commits, never half a batch). ``readonly=True``: for
    queries while the writer runs (no writer lock). ``unavailable_for``: how long an operation
    retries while the server is unavailable before it raises (``None``: forever; ``0``: no retry);
    ``wait_at_open`` retries the first connection that way too (hosts: the root checked the URL).
    """

    def __init__(self, url: str, shard: int = 0, *, readonly: bool = False, synchronous_commit: str = "on",
                 connect_timeout: float = 10.0, lock_timeout: float = 10.0, unavailable_for: float | None = 300.0,
                 retry: Retry | None = None, wait_at_open: bool = False):
        if synchronous_commit not in SYNCHRONOUS_COMMIT:
            raise ValueError(f"synchronous_commit must be one of {', '.join(SYNCHRONOUS_COMMIT)}, "
                             f"not {synchronous_commit!r}")
        if not isinstance(shard, int) or isinstance(shard, bool) or shard < 0:
            raise ValueError(f"shard number must be an integer >= 0, not {shard!r}")
        self.url, self.shard, self.readonly = url, shard, readonly
        self.path = f"{redact(url)}#shard={shard}"       # what error messages name (no password)
        self.synchronous_commit = synchronous_commit
        self.connect_timeout, self.lock_timeout = connect_timeout, lock_timeout
        self.retry = retry or Retry(give_up_after=unavailable_for)
        self._lock = threading.RLock()
        self._conn = None
        self._closed = False
        if wait_at_open:     # a host (re)started while the server is unavailable waits like a commit
            self._conn = self.retry.run(lambda: self._connect(first=True), self.path)
        else:                # elsewhere an error at open is said at once (a wrong URL, a wrong password)
            self._conn = self._connect(first=True)
        log.debug("opened %s (synchronous_commit=%s, readonly=%s)", self.path, synchronous_commit, readonly)

    def __repr__(self) -> str:
        return f"PostgresStore({self.path!r}, readonly={self.readonly})"

    # ------------------------------------------------------------------------------- connection
    def _connect(self, first: bool = False):
        conn = connect(self.url, what=f"connecting shard {self.shard}", connect_timeout=self.connect_timeout,
                       synchronous_commit=self.synchronous_commit,
                       application_name=f"goflow-shard-{self.shard}")
        try:
            if first:
                check_schema(conn, self.path)
            if not self.readonly:
                with errors_as_store_error(self.path, "locking the shard for writing"):
                    conn.execute("SELECT set_config('lock_timeout', %s, false)",
                                 (f"{int(self.lock_timeout * 1000)}ms",))
                    try:
                        conn.execute("SELECT pg_advisory_lock(%s, %s)", (LOCK_CLASS, self.shard))
                    except Exception as exc:
                        from psycopg import errors as e
                        if isinstance(exc, e.LockNotAvailable):
                            raise StoreError(f"shard {self.shard} is already open for writing by another "
                                             "connection (one writer per shard)", self.path) from None
                        raise
                    conn.execute("SELECT set_config('lock_timeout', '0', false)")
                    conn.execute("INSERT INTO goflow_shards (shard) VALUES (%s) ON CONFLICT DO NOTHING",
                                 (self.shard,))
        except BaseException:
            conn.close()
            raise
        return conn

    def _run(self, what: str, work):
        """``work(conn)`` under the lock, reconnecting and retrying while the server is unavailable."""
        def attempt():
            with self._lock:
                if self._closed:
                    raise StoreError("the store is closed", self.path)
                if self._conn is None or self._conn.closed or self._conn.broken:
                    self._drop()
                    self._conn = self._connect()
                try:
                    with errors_as_store_error(self.path, what):
                        return work(self._conn)
                except Unavailable:
                    self._drop()
                    raise
        return self.retry.run(attempt, self.path)

    def _drop(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except Exception:
                pass
            self._conn = None

    # ------------------------------------------------------------------------------------ writing
    def commit(self, changes: Sequence[Change]) -> None:
        if not changes:
            return
        self._writable()
        rows, chunks, ids = batch_rows(changes, self.path, self._check)
        row_cols = [list(col) for col in zip(*rows.values())]
        total, hist_cols = 0, None
        if chunks:
            offsets = []
            for _, count, _ in chunks:
                offsets.append(total)
                total += count
            hist_cols = [[c[0] for c in chunks], offsets, [c[1] for c in chunks], [c[2] for c in chunks]]
        id_cols = [list(col) for col in zip(*ids)] if ids else None
        unqueue, queue = queue_rows(changes)
        unqueue_cols = [list(col) for col in zip(*unqueue)] if unqueue else None
        queue_cols = [list(col) for col in zip(*queue)] if queue else None
        batch = uuid.uuid4().hex
        state = {"tried": False}

        def work(conn):
            if state["tried"]:   # a retry: did the lost attempt commit? (its id is in the shard's row)
                row = conn.execute("SELECT last_batch FROM goflow_shards WHERE shard = %s",
                                   (self.shard,)).fetchone()
                if row is not None and row[0] == batch:
                    log.warning("store %s: the batch %s committed before the connection was lost",
                                self.path, batch)
                    return
            state["tried"] = True
            with conn.pipeline(), conn.transaction():
                conn.execute("UPDATE goflow_shards SET last_batch = %s, commits = commits + 1, updated = %s,"
                             " history_next = history_next + %s WHERE shard = %s",
                             (batch, time.time(), total, self.shard))
                conn.execute(_UPSERT, (self.shard, *row_cols))
                if hist_cols is not None:
                    conn.execute(_APPEND, (self.shard, self.shard, total, *hist_cols))
                if id_cols is not None:
                    conn.execute(_REMEMBER, (self.shard, *id_cols))
                if unqueue_cols is not None:
                    conn.execute(_UNQUEUE, (*unqueue_cols, self.shard))
                if queue_cols is not None:
                    conn.execute(_QUEUE, (self.shard, *queue_cols))

        self._run(f"committing a batch of {len(changes)} changes (nothing of it was committed)", work)
        if log.isEnabledFor(logging.DEBUG):
            log.debug("committed %s changes (%s instances, %s records) to %s",
                      len(changes), len(rows), total, self.path)

    def _check(self, c: Change) -> None:
        """Types PostgreSQL would otherwise coerce (a str into bytea): refuse the batch up front."""
        problem = None
        if not isinstance(c.snapshot, (bytes, bytearray, memoryview)):
            problem = f"snapshot must be bytes, not {type(c.snapshot).__name__}"
        elif not isinstance(c.version, int) or isinstance(c.version, bool):
            problem = f"version must be an integer, not {c.version!r}"
        else:
            for name in ("instance_id", "project", "activity", "status", "state"):
                if not isinstance(getattr(c, name), str):
                    problem = f"{name} must be a string, not {getattr(c, name)!r}"
                    break
        if problem:
            raise StoreError(f"committing a batch failed: instance {c.instance_id!r}: {problem} "
                             "(nothing of it was committed)", self.path)

    def quarantine(self, instance_id: str, reason: str, now: float | None = None) -> None:
        self._writable()
        when = time.time() if now is None else now

        def work(conn):
            with conn.transaction():
                row = conn.execute("SELECT state, status FROM goflow_instances WHERE shard = %s AND id = %s"
                                   " FOR UPDATE", (self.shard, instance_id)).fetchone()
                if row is None:
                    raise InstanceNotFound(instance_id)
                conn.execute("UPDATE goflow_instances SET status = %s, reason = %s, live = false,"
                             " inflight = false, due = NULL"
                             " WHERE shard = %s AND id = %s", (QUARANTINED, reason, self.shard, instance_id))
                record = Record(when, row[0], outcome=QUARANTINED, detail={"reason": reason, "status": row[1]})
                conn.execute("UPDATE goflow_shards SET history_next = history_next + 1 WHERE shard = %s",
                             (self.shard,))
                conn.execute(_APPEND_ONE, (self.shard, instance_id, encode(instance_id, [record], self.path),
                                           self.shard))
                return row

        row = self._run(f"quarantining instance {instance_id!r}", work)
        log.warning("quarantined instance %s (was %s in state %s) in %s: %s",
                    instance_id, row[1], row[0], self.path, reason)

    # ------------------------------------------------------------------------------------ reading
    def get(self, instance_id: str) -> StoredInstance | None:
        row, queue = self._read(
            f"reading instance {instance_id!r}",
            (f"SELECT {COLUMNS} FROM goflow_instances WHERE shard = %s AND id = %s", (self.shard, instance_id)),
            (f"SELECT {QUEUE_COLUMNS} FROM goflow_queued WHERE shard = %s AND instance_id = %s ORDER BY seq",
             (self.shard, instance_id)))
        return stored(row, queue)

    def exists(self, instance_id: str) -> bool:
        return self._one("SELECT 1 FROM goflow_instances WHERE shard = %s AND id = %s",
                         (self.shard, instance_id), f"looking up instance {instance_id!r}") is not None

    def existing(self, instance_ids) -> set[str]:
        ids = list(dict.fromkeys(instance_ids))
        if not ids:
            return set()
        rows = self._all("SELECT id FROM goflow_instances WHERE shard = %s AND id = ANY(%b::text[])",
                         (self.shard, ids), f"looking up {len(ids)} instances")
        return {r[0] for r in rows}

    def seen_event_ids(self, pairs) -> set[tuple[str, str]]:
        pairs = list(dict.fromkeys(pairs))
        if not pairs:
            return set()
        iids, eids = [p[0] for p in pairs], [p[1] for p in pairs]
        rows = self._all(_SEEN, (iids, eids, self.shard), f"looking up {len(pairs)} event ids")
        return {(r[0], r[1]) for r in rows}

    def unfinished(self) -> Iterator[StoredInstance]:
        return self._scan("live")

    def in_flight(self) -> Iterator[StoredInstance]:
        return self._scan("inflight")

    def due(self, now: float, limit: int, after: tuple[float, str] | None = None) -> list[tuple[float, str]]:
        if after is None:
            sql, args = "", ()
        else:
            sql, args = " AND (due, id) > (%s, %s)", (float(after[0]), str(after[1]))
        rows = self._all("SELECT due, id FROM goflow_instances WHERE shard = %s AND due IS NOT NULL AND due <= %s"
                         f"{sql} ORDER BY due, id LIMIT %s", (self.shard, float(now), *args, max(int(limit), 0)),
                         "scanning due timers")
        return [(r[0], r[1]) for r in rows]

    def next_due(self, after: float | None = None) -> float | None:
        sql, args = ("", ()) if after is None else (" AND due > %s", (float(after),))
        row = self._one(f"SELECT min(due) FROM goflow_instances WHERE shard = %s AND due IS NOT NULL{sql}",
                        (self.shard, *args), "reading the next due timer")
        return row[0]

    def _scan(self, flag: str) -> Iterator[StoredInstance]:
        sql = (f"SELECT {COLUMNS} FROM goflow_instances WHERE shard = %s AND {flag} AND id > %s"
               f" ORDER BY id LIMIT {_CHUNK}")
        queued = ("SELECT instance_id, seq, queue, entry FROM goflow_queued WHERE shard = %s"
                  " AND instance_id > %s AND instance_id <= %s ORDER BY instance_id, seq")
        return scan(lambda after: self._read("listing unfinished instances", (sql, (self.shard, after)),
                                             (queued, lambda rows: (self.shard, after,
                                                                    rows[-1][0] if rows else after))),
                    _CHUNK)

    def history_page(self, instance_id: str, limit: int, *, order: str = "latest",
                     after: int | None = None) -> tuple[list[Record], int | None]:
        desc = descending(order)
        n = max(int(limit), 0)
        args = (self.shard, instance_id)
        if after is None:
            where, take = "", n + 1
        elif desc:
            where, args, take = " AND seq < %s", (*args, int(after)), n + 1
        else:   # from the chunk holding the key after `after` (it may begin before it): one chunk more
            where = (" AND seq >= coalesce((SELECT max(seq) FROM goflow_history_chunks WHERE shard = %s"
                     " AND instance_id = %s AND seq <= %s), %s)")
            args, take = (*args, self.shard, instance_id, int(after), int(after)), n + 2
        rows = self._all(f"SELECT seq, records FROM goflow_history_chunks WHERE shard = %s AND instance_id = %s"
                         f"{where} ORDER BY seq {'DESC' if desc else 'ASC'} LIMIT %s", (*args, take),
                         f"reading the history of instance {instance_id!r}")
        return chunk_page(rows, desc, None if after is None else int(after), n)

    def history_count(self, instance_id: str, before: int | None = None) -> int:
        if before is None:
            sql, args = "sum(count)", (self.shard, instance_id)
        else:   # the chunk holding `before` counts its keys below it
            sql, args = "sum(least(count, %s - seq))", (int(before), self.shard, instance_id, int(before))
        rows = self._all(f"SELECT coalesce({sql}, 0) FROM goflow_history_chunks WHERE shard = %s AND instance_id = %s"
                         f"{'' if before is None else ' AND seq < %s'}", args,
                         f"counting the history of {instance_id!r}")
        return int(rows[0][0])

    def list(self, project: str | None = None, activity: str | None = None, status: str | None = None,
             limit: int = 50, *, order: str = "latest", after: tuple[float, str] | None = None,
             state: str | None = None, parent: str | None = None) -> list[Summary]:
        desc = descending(order)
        where, args = _filters(project=project, activity=activity, status=status, state=state, parent=parent)
        if after is not None:
            where += " AND (created, id) < (%s, %s)" if desc else " AND (created, id) > (%s, %s)"
            args += (float(after[0]), str(after[1]))
        way = "DESC" if desc else "ASC"
        rows = self._all(f"SELECT {SUMMARY_COLUMNS} FROM goflow_instances WHERE shard = %s{where}"
                         f" ORDER BY created {way}, id {way} LIMIT %s",
                         (self.shard, *args, max(int(limit), 0)), "listing instances")
        return [Summary(*r) for r in rows]

    def counts(self, project: str | None = None, activity: str | None = None) -> dict[CountKey, int]:
        where, args = _filters(project=project, activity=activity)
        rows = self._all("SELECT project, activity, version, status, count(*) FROM goflow_instances"
                         f" WHERE shard = %s{where} GROUP BY project, activity, version, status",
                         (self.shard, *args), "counting instances")
        return {(p, a, v, s): n for p, a, v, s, n in rows}

    # --------------------------------------------------------------------------------- lifecycle
    def close(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._drop()          # the writer's advisory lock goes with its session
        log.debug("closed %s", self.path)

    @property
    def closed(self) -> bool:
        return self._closed

    # ---------------------------------------------------------------------------------- helpers
    def _writable(self) -> None:
        if self.readonly:
            raise StoreError("the store was opened read-only", self.path)

    def _read(self, what: str, first: tuple, then: tuple) -> tuple[list, list]:
        """Two queries in one REPEATABLE READ transaction (one moment of the store, whoever writes
        meanwhile): ``then``'s arguments may be a function of ``first``'s rows."""
        def work(conn):
            with conn.transaction():
                conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                rows = conn.execute(*first).fetchall()
                args = then[1](rows) if callable(then[1]) else then[1]
                return rows, conn.execute(then[0], args).fetchall()
        return self._run(what, work)

    def _one(self, sql: str, args: tuple, what: str):
        return self._run(what, lambda conn: conn.execute(sql, args).fetchone())

    def _all(self, sql: str, args: tuple, what: str) -> list:
        return self._run(what, lambda conn: conn.execute(sql, args).fetchall())


def _filters(**given) -> tuple[str, tuple]:
    """`` AND a = %s AND b = %s`` for the filters that are not None (column names are fixed here)."""
    used = [(k, v) for k, v in given.items() if v is not None]
    return "".join(f" AND {k} = %s" for k, _ in used), tuple(v for _, v in used)
