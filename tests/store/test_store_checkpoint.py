"""WAL checkpoints off the commit path (goflow.store._checkpoint): the writer never checkpoints, the
store's thread does, the WAL stays bounded under a writer that never pauses, and closing the store
stops the thread and leaves no WAL behind."""
from __future__ import annotations

import os
import sqlite3
import struct
import threading

from goflow.store import SQLiteStore

from store_support import make_change


def wal_restarts(path) -> int:
    """The WAL header's checkpoint sequence number: grows each time SQLite restarts the WAL from its
    beginning, which it does only once a checkpoint has copied every frame."""
    with open(f"{path}-wal", "rb") as f:
        return struct.unpack(">I", f.read(32)[12:16])[0]


def checkpoint_threads(path) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == f"goflow-checkpoint {os.fspath(path)}"]


def batch(prefix: str, n: int, size: int = 200):
    return [make_change(f"{prefix}{k}", snapshot=os.urandom(size)) for k in range(n)]


def test_the_writer_never_checkpoints_the_thread_does(store_path):
    with SQLiteStore(store_path) as s:
        assert s._conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        s._checkpointer.delay = 0.0
        s.commit(batch("a", 50))
        before = wal_restarts(store_path)
        assert s._checkpointer.settle(timeout=30)
        assert s._checkpointer.checkpoints >= 1
        s.commit(batch("b", 1))           # the WAL was copied whole: this write starts it over
        assert wal_restarts(store_path) == before + 1
        assert s.get("a7") is not None and s.get("b0") is not None


def test_the_wal_is_bounded_while_the_writer_never_pauses(store_path):
    with SQLiteStore(store_path) as s:
        ck = s._checkpointer
        ck.delay, ck.limit_pages = 0.0, 20
        before = wal_restarts(store_path)
        s.commit(batch("big", 400, size=1000))   # some hundred pages: past the limit at once
        assert ck.settle(timeout=30)
        assert ck.restarts >= 1
        s.commit(batch("next", 1))
        assert wal_restarts(store_path) > before
        assert len(list(s.unfinished())) == 401


def test_a_reader_delays_the_restart_but_never_the_writer(store_path):
    with SQLiteStore(store_path) as s:
        ck = s._checkpointer
        ck.delay, ck.limit_pages, ck.restart_wait = 0.0, 20, 0.0
        reader = sqlite3.connect(store_path, isolation_level=None)
        try:  # a snapshot of the new store, whose schema is still in the WAL (nothing was written yet)
            reader.execute("BEGIN")
            assert reader.execute("SELECT count(*) FROM instances").fetchone()[0] == 0
            before = wal_restarts(store_path)
            s.commit(batch("big", 400, size=1000))
            assert ck.settle(timeout=30)
            assert ck.restarts >= 1           # tried, and gave up at once: the reader needs the WAL
            s.commit(batch("more", 1))        # the writer was not held
            assert wal_restarts(store_path) == before
            assert reader.execute("SELECT count(*) FROM instances").fetchone()[0] == 0
        finally:
            reader.execute("ROLLBACK")
            reader.close()
        s.commit(batch("after", 1))
        assert ck.settle(timeout=30)
        s.commit(batch("again", 1))
        assert wal_restarts(store_path) > before
        assert len(list(s.unfinished())) == 403


def test_close_stops_the_thread_and_leaves_no_wal(store_path):
    s = SQLiteStore(store_path)
    assert len(checkpoint_threads(store_path)) == 1
    s.commit(batch("x", 10))
    s.close()
    assert checkpoint_threads(store_path) == []
    assert not os.path.exists(f"{store_path}-wal")
    never_written = SQLiteStore(store_path)
    never_written.close()
    assert checkpoint_threads(store_path) == []


def test_readers_have_no_checkpoint_thread(store_path):
    with SQLiteStore(store_path) as w:
        w.commit(batch("r", 3))
        with SQLiteStore(store_path, readonly=True) as r:
            assert r._checkpointer is None
            assert len(checkpoint_threads(store_path)) == 1
            assert r.get("r1") is not None
