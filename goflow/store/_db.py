"""Shared SQLite plumbing for the shard stores and the catalog: opening, pragmas, schema versions,
the single-writer lock and turning every failure into :class:`goflow.errors.StoreError`."""
from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
from pathlib import Path
from typing import Iterator, Mapping, Sequence

from ..errors import StoreError
from ..files import private_file

try:  # POSIX only; elsewhere the single-writer check is skipped
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = ["SYNCHRONOUS", "errors_as_store_error", "open_connection", "ensure_schema", "WriterLock"]

log = logging.getLogger("goflow.store")

SYNCHRONOUS = {"normal": "NORMAL", "full": "FULL"}
WAL_AUTOCHECKPOINT_PAGES = 10_000  # x 4 KiB pages


@contextlib.contextmanager
def errors_as_store_error(path: str, what: str) -> Iterator[None]:
    """Re-raise sqlite3/OS errors as StoreError naming the file and what was being done."""
    try:
        yield
    except StoreError:
        raise
    except sqlite3.Error as exc:
        raise StoreError(f"{what} failed: {exc} ({type(exc).__name__})", path) from exc
    except OSError as exc:
        raise StoreError(f"{what} failed: {exc.strerror or exc}", path) from exc


def open_connection(path: str, *, readonly: bool, synchronous: str, timeout: float,
                    autocheckpoint: bool = True) -> sqlite3.Connection:
    """A connection in autocommit mode (transactions are explicit), WAL for writers. A writer with
    ``autocheckpoint=False`` never checkpoints: another connection must (``_checkpoint.Checkpointer``)."""
    if synchronous not in SYNCHRONOUS:
        raise ValueError(f"synchronous must be one of {sorted(SYNCHRONOUS)}, not {synchronous!r}")
    p = Path(path)
    with errors_as_store_error(path, "opening the store"):
        if readonly:
            if not p.is_file():
                raise StoreError("cannot open read-only: no such store file", path)
            conn = sqlite3.connect(p.resolve().as_uri() + "?mode=ro", uri=True, timeout=timeout,
                                   isolation_level=None, check_same_thread=False)
        else:
            if p.exists() and not p.is_file():
                raise StoreError("is not a regular file", path)
            p.parent.mkdir(parents=True, exist_ok=True)
            private_file(p, create=True)      # 0600 before SQLite opens it: its -wal/-shm files copy the mode
            for companion in ("-wal", "-shm"):  # made by an older version or under another umask
                private_file(f"{p}{companion}")
            conn = sqlite3.connect(str(p), timeout=timeout, isolation_level=None, check_same_thread=False)
        try:
            if not readonly:
                mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
                if str(mode).lower() != "wal":
                    raise StoreError(f"cannot switch to WAL mode (journal_mode is {mode})", path)
            conn.execute(f"PRAGMA synchronous={SYNCHRONOUS[synchronous]}")
            conn.execute("PRAGMA temp_store=MEMORY")
            conn.execute("PRAGMA cache_size=-32768")  # 32 MiB page cache
            if not readonly:
                # Checkpoint every ~40 MB of WAL rather than every 4 MB: a page that many commits
                # rewrite (the rows of live instances) is copied into the database once per
                # checkpoint, not once per few commits. The WAL file is truncated back to 64 MB.
                pages = WAL_AUTOCHECKPOINT_PAGES if autocheckpoint else 0
                conn.execute(f"PRAGMA wal_autocheckpoint={pages}")
                conn.execute(f"PRAGMA journal_size_limit={64 * 1024 * 1024}")
            conn.execute("PRAGMA foreign_keys=OFF")
            # reads the header: a file that is not a database fails here
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except BaseException:
            conn.close()
            raise
    return conn


def ensure_schema(conn: sqlite3.Connection, path: str, *, kind: str, application_id: int,
                  version: int, ddl: Sequence[str], readonly: bool,
                  upgrades: Mapping[int, Sequence[str]] | None = None) -> None:
    """Create the schema on first open; refuse a newer schema or another kind of file. An older
    schema ``v`` is upgraded in the same transaction by ``upgrades[v]`` (to ``v + 1``), then on: each
    step a list of SQL statements or functions ``f(conn)``."""
    with errors_as_store_error(path, f"checking the {kind} schema"):
        if not readonly:
            conn.execute("BEGIN IMMEDIATE")
        try:
            app = conn.execute("PRAGMA application_id").fetchone()[0]
            have = conn.execute("PRAGMA user_version").fetchone()[0]
            tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
            if app not in (0, application_id) or (app == 0 and tables):
                raise StoreError(f"is not a GoFlow {kind} file (application_id {app:#x}, "
                                 f"expected {application_id:#x})", path)
            if have > version:
                raise StoreError(f"{kind} schema version {have} is newer than this GoFlow supports "
                                 f"({version}); upgrade GoFlow or use another data directory", path)
            if have < version:
                if readonly:
                    raise StoreError(f"{kind} schema version {have} is older than {version}; "
                                     "open it once for writing to upgrade it", path)
                steps = [ddl] if have == 0 else [(upgrades or {}).get(v) for v in range(have, version)]
                if any(step is None for step in steps):
                    raise StoreError(f"no upgrade from {kind} schema version {have}", path)
                for step in steps:
                    for statement in step:      # SQL, or a function of the connection (moving rows)
                        if callable(statement):
                            statement(conn)
                        else:
                            conn.execute(statement)
                conn.execute(f"PRAGMA application_id={int(application_id)}")
                conn.execute(f"PRAGMA user_version={int(version)}")
                log.info("%s %s schema version %s in %s", "created" if have == 0 else f"upgraded from {have} to",
                         kind, version, path)
            if not readonly:
                conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise


class WriterLock:
    """An exclusive advisory lock on ``<store>.lock``: one writer per store file. The OS drops it
    when the process dies (even on kill -9), so a restarted host takes it over at once."""

    def __init__(self, path: str):
        self.path = path + ".lock"
        self._fd: int | None = None
        if fcntl is None:  # pragma: no cover
            return
        with errors_as_store_error(path, "locking the store for writing"):
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            try:
                if os.fstat(fd).st_mode & 0o077:
                    os.fchmod(fd, 0o600)
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise StoreError("is already open for writing (by another process or another "
                                 "handle in this one); a store has one writer", path) from None
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)  # closing the descriptor drops the flock
