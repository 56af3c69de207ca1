"""SQLiteStore on real files: reopening, read-only readers, schema versions, files and errors (the
contract both stores share is in test_store_contract.py)."""
from __future__ import annotations

import sqlite3
import threading

import pytest

from goflow.errors import StoreError
from goflow.store import Change, SQLiteStore, open_shard, shard_path
from goflow.store.sqlite import SCHEMA_VERSION


def test_reopen_keeps_everything(store_path, change):
    with SQLiteStore(store_path) as s:
        s.commit([change(f"i{n}", updated=float(n)) for n in range(10)])
        s.quarantine("i3", "corrupt", now=1.0)
        before = ([s.get(f"i{n}") for n in range(10)], [s.history(f"i{n}") for n in range(10)])
    assert s.closed
    s.close()  # twice is harmless
    with pytest.raises(StoreError, match="closed"):
        s.get("i1")
    with SQLiteStore(store_path, synchronous="full") as again:
        after = ([again.get(f"i{n}") for n in range(10)], [again.history(f"i{n}") for n in range(10)])
        assert after == before
        assert len(list(again.unfinished())) == 9


def test_file_is_wal_with_schema_version(store, store_path):
    raw = sqlite3.connect(store_path)
    try:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        indexes = {r[0] for r in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}
        assert {"instances_by_status", "instances_by_blueprint", "instances_live",
                "history_by_instance"} <= indexes
    finally:
        raw.close()


def test_newer_schema_version_is_refused(store_path, change):
    SQLiteStore(store_path).close()
    raw = sqlite3.connect(store_path)
    raw.execute(f"PRAGMA user_version={SCHEMA_VERSION + 1}")
    raw.close()
    for readonly in (False, True):
        with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer") as info:
            SQLiteStore(store_path, readonly=readonly)
        assert str(store_path) in str(info.value) and info.value.path == str(store_path)


def test_other_sqlite_files_are_refused(tmp_path):
    other = tmp_path / "other.sqlite"
    raw = sqlite3.connect(other)
    raw.execute("CREATE TABLE t (x)")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="not a GoFlow shard store"):
        SQLiteStore(other)


def test_corrupt_file_is_a_store_error(tmp_path):
    bad = tmp_path / "bad.sqlite"
    bad.write_bytes(b"this is not a database, just some text. " * 200)
    with pytest.raises(StoreError, match="not a database") as info:
        SQLiteStore(bad)
    assert info.value.path == str(bad)
    with pytest.raises(StoreError):
        SQLiteStore(bad, readonly=True)


def test_unusable_directory_is_a_store_error(tmp_path):
    blocker = tmp_path / "data"
    blocker.write_text("a file where a directory should be")
    with pytest.raises(StoreError) as info:
        SQLiteStore(blocker / "shards" / "0.sqlite")
    assert "data" in str(info.value)
    with pytest.raises(StoreError):
        open_shard(blocker, 0)
    with pytest.raises(StoreError, match="no such store file"):
        SQLiteStore(tmp_path / "missing.sqlite", readonly=True)


def test_one_writer_per_file(store, store_path):
    with pytest.raises(StoreError, match="already open for writing"):
        SQLiteStore(store_path)
    reader = SQLiteStore(store_path, readonly=True)  # readers are welcome
    reader.close()


def test_locked_database_is_a_store_error(store_path, change):
    with SQLiteStore(store_path, timeout=0.05) as store:
        other = sqlite3.connect(store_path, isolation_level=None)
        try:
            other.execute("BEGIN EXCLUSIVE")  # someone else holds the write lock
            with pytest.raises(StoreError, match="locked") as info:
                store.commit([change("i1")])
            assert info.value.path == str(store_path)
            other.execute("ROLLBACK")
        finally:
            other.close()
        store.commit([change("i1")])
        assert store.exists("i1")


def test_readonly_refuses_writes(store, store_path, change):
    store.commit([change("i1")])
    with SQLiteStore(store_path, readonly=True) as ro:
        assert ro.get("i1").id == "i1"
        with pytest.raises(StoreError, match="read-only"):
            ro.commit([change("i2")])
        with pytest.raises(StoreError, match="read-only"):
            ro.quarantine("i1", "x")


def test_readonly_reader_while_a_writer_commits(store, store_path, change):
    batch, batches = 20, 150
    store.commit([change("seed")])
    reader = SQLiteStore(store_path, readonly=True)
    failures: list[BaseException] = []

    def write():
        try:
            for b in range(batches):
                store.commit([change(f"b{b}-{k}", status="waiting") for k in range(batch)])
        except BaseException as exc:  # pragma: no cover - reported below
            failures.append(exc)

    writer = threading.Thread(target=write)
    writer.start()
    seen = []
    try:
        while True:
            alive = writer.is_alive()
            n = reader.counts().get(("p", "a", 1, "waiting"), 0)
            assert n % batch == 0, "a reader saw part of a batch"
            assert not seen or n >= seen[-1]
            seen.append(n)
            if not alive:
                break
    finally:
        writer.join()
        reader.close()
    assert not failures
    assert seen[-1] == batch * batches


def test_open_shard_layout(tmp_path, change):
    with open_shard(tmp_path / "data", 3) as s:
        s.commit([change("x")])
    assert shard_path(tmp_path / "data", 3) == tmp_path / "data" / "shards" / "3.sqlite"
    assert (tmp_path / "data" / "shards" / "3.sqlite").is_file()
    with open_shard(tmp_path / "data", 3, readonly=True) as ro:
        assert ro.exists("x")
    with pytest.raises(ValueError):
        shard_path(tmp_path, -1)


def test_bad_synchronous_value(store_path):
    with pytest.raises(ValueError, match="synchronous"):
        SQLiteStore(store_path, synchronous="off")
    SQLiteStore(store_path).close()  # the refused open left no lock behind


def test_change_is_frozen(change):
    c = change("x")
    with pytest.raises(AttributeError):
        c.status = "failed"  # type: ignore[misc]
    assert isinstance(c, Change)
