"""PostgreSQL plumbing shared by the PostgreSQL shard store and catalog: URLs (with the password kept
out of every message), connecting, the schema and its migrations, and retrying while the server is
unavailable.

Schema versions are rows of ``goflow_schema``; :data:`MIGRATIONS` lists every version's statements.
An empty database is brought to the current version automatically at first open; an older one only
by ``goflow store migrate`` (:func:`migrate`); a newer one is refused.
"""
from __future__ import annotations

import contextlib
import logging
import time
from typing import Callable, Iterator, TypeVar

from ..errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "is_postgres_url", "redact", "connect", "migrate",
           "check_schema", "schema_version", "Unavailable", "unavailable", "errors_as_store_error",
           "Retry"]

log = logging.getLogger("goflow.store")
T = TypeVar("T")

LOCK_CLASS = 0x47464c31          # "GFL1": pg_advisory_lock(LOCK_CLASS, shard) = the shard's writer
MIGRATION_LOCK = 0x47464d31      # "GFM1": serialises migrations

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "shards, instances, history and the catalog", [
        # one row per shard: its writer records the id of each batch it commits here, in the same
        # transaction, so that a commit whose acknowledgement was lost can be told apart
        """CREATE TABLE goflow_shards (
            shard      integer PRIMARY KEY CHECK (shard >= 0),
            last_batch text,
            commits    bigint  NOT NULL DEFAULT 0,
            updated    double precision NOT NULL DEFAULT 0
        )""",
        """CREATE TABLE goflow_instances (
            shard     integer NOT NULL,
            id        text    NOT NULL,
            seq       bigint  GENERATED ALWAYS AS IDENTITY,
            project   text    NOT NULL,
            activity  text    NOT NULL,
            version   bigint  NOT NULL,
            status    text    NOT NULL,
            state     text    NOT NULL,
            snapshot  bytea   NOT NULL,
            created   double precision NOT NULL,
            updated   double precision NOT NULL,
            reason    text,
            live      boolean NOT NULL DEFAULT false,
            PRIMARY KEY (shard, id)
        ) WITH (fillfactor = 70)""",  # room on the page: a transition that changes no indexed column
                                      # (state, snapshot, updated) is a HOT update, no index touched
        "CREATE INDEX goflow_instances_by_status ON goflow_instances (shard, status, created, seq)",
        "CREATE INDEX goflow_instances_by_created ON goflow_instances (shard, created, seq)",
        "CREATE INDEX goflow_instances_by_blueprint ON goflow_instances"
        " (shard, project, activity, status, created, seq)",
        "CREATE INDEX goflow_instances_live ON goflow_instances (shard, id) WHERE live",
        """CREATE TABLE goflow_history (
            seq         bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            shard       integer NOT NULL,
            instance_id text    NOT NULL,
            time        double precision NOT NULL,
            state       text,
            event       text,
            action      text,
            next        text,
            step        bigint,
            attempt     bigint,
            endpoint    text,
            outcome     text,
            latency     double precision,
            detail      text
        )""",
        "CREATE INDEX goflow_history_by_instance ON goflow_history (shard, instance_id, seq)",
        """CREATE TABLE goflow_blueprints (
            project   text    NOT NULL,
            activity  text    NOT NULL,
            version   bigint  NOT NULL,
            document  text    NOT NULL,
            saved     double precision NOT NULL,
            PRIMARY KEY (project, activity, version)
        )""",
    ]),
    (2, "every outside event id an instance took, for its whole life (SPEC §6)", [
        """CREATE TABLE goflow_event_ids (
            shard       integer NOT NULL,
            instance_id text    NOT NULL,
            event_id    text    NOT NULL,
            PRIMARY KEY (shard, instance_id, event_id)
        )""",
    ]),
    (3, "listing indexes end with (created, id): the key of list's keyset pagination", [
        "DROP INDEX goflow_instances_by_status",
        "DROP INDEX goflow_instances_by_created",
        "DROP INDEX goflow_instances_by_blueprint",
        "CREATE INDEX goflow_instances_by_status ON goflow_instances (shard, status, created, id)",
        "CREATE INDEX goflow_instances_by_created ON goflow_instances (shard, created, id)",
        "CREATE INDEX goflow_instances_by_blueprint ON goflow_instances (shard, project, activity, created, id)",
        "CREATE INDEX goflow_instances_by_blueprint_status ON goflow_instances"
        " (shard, project, activity, status, created, id)",
    ]),
    (4, "a child instance's parent (SPEC §8), for list --parent", [
        "ALTER TABLE goflow_instances ADD COLUMN parent text",
        "CREATE INDEX goflow_instances_by_parent ON goflow_instances (shard, parent, created, id)"
        " WHERE parent IS NOT NULL",
    ]),
    (5, "passivation (SPEC §11): each instance's earliest timer in due order, and whether recovery loads it", [
        "ALTER TABLE goflow_instances ADD COLUMN due double precision",
        "ALTER TABLE goflow_instances ADD COLUMN inflight boolean NOT NULL DEFAULT false",
        # rows of an older schema: recovery loads every live one once, and its host writes the marks back
        "UPDATE goflow_instances SET inflight = live WHERE live",
        "CREATE INDEX goflow_instances_due ON goflow_instances (shard, due, id) WHERE due IS NOT NULL",
        "CREATE INDEX goflow_instances_inflight ON goflow_instances (shard, id) WHERE inflight",
    ]),
    (6, "each queued entry of an instance (held while paused, postponed) is a row of its own", [
        """CREATE TABLE goflow_queued (
            shard       integer NOT NULL,
            instance_id text    NOT NULL,
            seq         bigint  NOT NULL,
            queue       text    NOT NULL,
            entry       bytea   NOT NULL,
            PRIMARY KEY (shard, instance_id, seq)
        )""",
    ]),
    (7, "the history as chunks: one row per instance per commit (goflow.store._chunks)", [
        # seq: the key of the chunk's first record; a shard's keys come from its row's history_next
        """CREATE TABLE goflow_history_chunks (
            shard       integer NOT NULL,
            instance_id text    NOT NULL,
            seq         bigint  NOT NULL,
            count       integer NOT NULL,
            records     bytea   NOT NULL,
            PRIMARY KEY (shard, instance_id, seq) INCLUDE (count)
        )""",
        "ALTER TABLE goflow_shards ADD COLUMN history_next bigint NOT NULL DEFAULT 1",
        lambda conn: _history_rows_to_chunks(conn),
        "DROP TABLE goflow_history",
    ]),
]
SCHEMA_VERSION = MIGRATIONS[-1][0]


def is_postgres_url(url: str | None) -> bool:
    return bool(url) and url.split(":", 1)[0] in ("postgresql", "postgres")


def redact(url: str) -> str:
    """The URL without its password (``postgresql://user@host:port/db``), for messages and logs."""
    try:
        from psycopg.conninfo import conninfo_to_dict
        d = conninfo_to_dict(url)
    except Exception:  # an unparsable URL: show its scheme only
        return url.split("://", 1)[0] + "://..."
    user = f"{d['user']}@" if d.get("user") else ""
    port = f":{d['port']}" if d.get("port") else ""
    return f"postgresql://{user}{d.get('host') or ''}{port}/{d.get('dbname') or ''}"


class Unavailable(StoreError):
    """The server cannot be reached (down, restarting, the connection dropped)."""


def unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` means "the server or the connection is gone" (retry) rather than "this
    statement is wrong" (give up)."""
    import psycopg
    from psycopg import errors as e
    if isinstance(exc, (e.AdminShutdown, e.CrashShutdown, e.CannotConnectNow, e.ConnectionException)):
        return True
    if isinstance(exc, psycopg.OperationalError) and not isinstance(exc, (e.LockNotAvailable,
                                                                          e.QueryCanceled)):
        return True
    return isinstance(exc, psycopg.InterfaceError)


@contextlib.contextmanager
def errors_as_store_error(where: str, what: str) -> Iterator[None]:
    """Re-raise psycopg errors as StoreError (:class:`Unavailable` when the server is gone)."""
    import psycopg
    try:
        yield
    except StoreError:
        raise
    except psycopg.Error as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        cls = Unavailable if unavailable(exc) else StoreError
        raise cls(f"{what} failed: {text} ({type(exc).__name__})", where) from exc


def connect(url: str, *, what: str = "connecting to the store", connect_timeout: float = 10.0,
            synchronous_commit: str = "on", application_name: str = "goflow"):
    """An autocommit connection (transactions are explicit) with ``synchronous_commit`` set."""
    import psycopg
    where = redact(url)
    try:
        conn = psycopg.connect(url, autocommit=True, connect_timeout=max(1, int(connect_timeout)),
                               application_name=application_name)
    except psycopg.ProgrammingError as exc:   # a malformed URL or an unknown option
        raise StoreError(f"invalid store URL: {exc}", where) from None
    except psycopg.Error as exc:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise Unavailable(f"{what} failed: {text}", where) from None
    try:
        conn.execute("SELECT set_config('synchronous_commit', %s, false)", (synchronous_commit,))
    except BaseException:
        conn.close()
        raise
    return conn


def schema_version(conn) -> int:
    """The schema version of the database (0: no GoFlow schema yet)."""
    found = conn.execute("SELECT to_regclass('goflow_schema') IS NOT NULL").fetchone()[0]
    if not found:
        return 0
    row = conn.execute("SELECT max(version) FROM goflow_schema").fetchone()
    return int(row[0] or 0)


def migrate(conn, where: str, *, target: int | None = None) -> tuple[int, int]:
    """Bring the schema to ``target`` (default: this GoFlow's version) in one transaction
    (serialised by an advisory lock); returns ``(before, after)``. A newer schema is refused."""
    target = SCHEMA_VERSION if target is None else target
    with errors_as_store_error(where, "migrating the schema"), conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MIGRATION_LOCK,))
        conn.execute("CREATE TABLE IF NOT EXISTS goflow_schema (version integer PRIMARY KEY,"
                     " description text NOT NULL, applied timestamptz NOT NULL DEFAULT now())")
        have = schema_version(conn)
        _refuse_newer(have, where)
        for version, description, statements in MIGRATIONS:
            if have < version <= target:
                for statement in statements:    # SQL, or a function of the connection (moving rows)
                    if callable(statement):
                        statement(conn)
                    else:
                        conn.execute(statement)
                conn.execute("INSERT INTO goflow_schema (version, description) VALUES (%s, %s)",
                             (version, description))
                log.info("store %s: migrated the schema to version %s (%s)", where, version, description)
        return have, max(have, target)


def check_schema(conn, where: str) -> None:
    """At open: create the schema in an empty database; refuse a newer one, or an older one (it
    needs ``goflow store migrate``)."""
    with errors_as_store_error(where, "checking the schema"):
        have = schema_version(conn)
    if have == SCHEMA_VERSION:
        return
    _refuse_newer(have, where)
    if have == 0:
        migrate(conn, where)
        return
    raise StoreError(f"schema version {have} is older than this GoFlow's ({SCHEMA_VERSION}); "
                     "run `goflow store migrate` first", where)


def _history_rows_to_chunks(conn) -> None:
    """Migration 7: the rows of goflow_history as chunks with the same keys
    (:func:`goflow.store._chunks.chunk_runs`), and each shard's counter above its keys."""
    from ._chunks import chunk_runs
    from ._rows import HISTORY_COLUMNS
    insert = ("INSERT INTO goflow_history_chunks (shard, instance_id, seq, count, records)"
              " SELECT * FROM unnest(%b::integer[], %b::text[], %b::bigint[], %b::integer[], %b::bytea[])")
    with conn.cursor(name="goflow_history_rows") as rows:    # server side: read in slices
        rows.itersize = 5000
        rows.execute(f"SELECT seq, shard, instance_id, {HISTORY_COLUMNS} FROM goflow_history"
                     " ORDER BY shard, instance_id, seq")
        batch: list = []
        for seq, key, count, blob in chunk_runs((r[0], (r[1], r[2]), *r[3:]) for r in rows):
            batch.append((key[0], key[1], seq, count, blob))
            if len(batch) >= 1000:
                conn.execute(insert, [list(col) for col in zip(*batch)])
                batch = []
        if batch:
            conn.execute(insert, [list(col) for col in zip(*batch)])
    conn.execute("INSERT INTO goflow_shards (shard, history_next) SELECT shard, max(seq + count)"
                 " FROM goflow_history_chunks GROUP BY shard"
                 " ON CONFLICT (shard) DO UPDATE SET history_next = excluded.history_next")


def _refuse_newer(have: int, where: str) -> None:
    if have > SCHEMA_VERSION:
        raise StoreError(f"schema version {have} is newer than this GoFlow supports ({SCHEMA_VERSION}); "
                         "upgrade GoFlow or use another database", where)


class Retry:
    """Retrying while the server is unavailable: exponential backoff from ``first`` to ``longest``
    seconds, giving up (raising the last :class:`Unavailable`) after ``give_up_after`` seconds
    (``0``: at the first failure; ``None``: never).

    ``on_change(available, error)`` hears when the store becomes unavailable and available again.
    ``sleep`` and ``clock`` are arguments so that tests can pass fakes."""

    def __init__(self, *, give_up_after: float | None = 300.0, first: float = 0.05, longest: float = 2.0,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 on_change: Callable[[bool, str | None], None] | None = None):
        self.give_up_after, self.first, self.longest = give_up_after, first, longest
        self.sleep, self.clock, self.on_change = sleep, clock, on_change
        self.down_since: float | None = None

    def run(self, attempt: Callable[[], T], where: str) -> T:
        delay, started = self.first, None
        while True:
            try:
                result = attempt()
            except Unavailable as exc:
                now = self.clock()
                if started is None:
                    started = now
                    if self.down_since is None:
                        self.down_since = now
                        log.warning("store-unavailable store=%s error=%s", where, exc)
                        self._tell(False, str(exc))
                if self.give_up_after is not None and now - started >= self.give_up_after:
                    raise
                self.sleep(delay)
                delay = min(delay * 2, self.longest)
                continue
            if self.down_since is not None:
                log.warning("store-available store=%s after=%.1fs", where, self.clock() - self.down_since)
                self.down_since = None
                self._tell(True, None)
            return result

    def _tell(self, available: bool, error: str | None) -> None:
        if self.on_change is not None:
            try:
                self.on_change(available, error)
            except Exception:  # a status callback never breaks the store
                log.exception("store status callback failed")
