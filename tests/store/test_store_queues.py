"""Queued entries as rows of their own (``Change.queued`` / ``Change.unqueued``, ``StoredInstance.queue``),
against both stores: written and deleted with the transition's batch (all or nothing), read back in
``seq`` order by ``get`` and ``unfinished``, kept across a reopen; and the upgrade of a store of the
previous schema (no queue table) in place."""
from __future__ import annotations

import dataclasses
import sqlite3

import pytest
from click.testing import CliRunner

from goflow.errors import StoreError
from goflow.history import Record
from goflow.store import SQLiteStore

from store_support import PG_SCHEMA_6_HISTORY, SCHEMA_6_HISTORY, make_change


def queued(change, queued=(), unqueued=()):
    return dataclasses.replace(change, queued=tuple(queued), unqueued=tuple(unqueued))


def test_rows_are_written_removed_and_read_back_in_seq_order(either):
    store, _ = either
    store.commit([queued(make_change("a"), [(0, "inbox", b"e0"), (1, "postponed", b"p1")]),
                  queued(make_change("b"), [(0, "postponed", b"b0")])])
    store.commit([queued(make_change("a"), [(2, "inbox", b"e2"), (3, "inbox", b"\x00\xff")])])
    got = store.get("a")
    assert got.queue == ((0, "inbox", b"e0"), (1, "postponed", b"p1"), (2, "inbox", b"e2"),
                         (3, "inbox", b"\x00\xff"))
    assert all(type(e) is bytes for _, _, e in got.queue)
    store.commit([queued(make_change("a"), [(4, "postponed", b"p4")], unqueued=[0, 2, 3])])
    assert store.get("a").queue == ((1, "postponed", b"p1"), (4, "postponed", b"p4"))
    assert store.get("b").queue == ((0, "postponed", b"b0"),)
    store.commit([queued(make_change("b", status="completed", state="done"), unqueued=[0])])
    assert store.get("b").queue == ()


def test_within_a_batch_the_last_change_of_a_row_wins(either):
    store, _ = either
    store.commit([queued(make_change("a"), [(0, "inbox", b"old")])])
    # one batch: 0 removed, 1 appended then removed, 2 appended, 0 written again
    store.commit([queued(make_change("a"), [(1, "inbox", b"one")], unqueued=[0]),
                  queued(make_change("a"), [(2, "inbox", b"two")], unqueued=[1]),
                  queued(make_change("a"), [(0, "postponed", b"again")])])
    assert store.get("a").queue == ((0, "postponed", b"again"), (2, "inbox", b"two"))


def test_a_failed_commit_writes_and_removes_no_row(either):
    store, _ = either
    store.commit([queued(make_change("a"), [(0, "inbox", b"kept")])])
    bad = make_change("b", records=[Record(1.0, detail={"not json": object()})])
    with pytest.raises(StoreError, match="nothing of this batch was committed"):
        store.commit([queued(make_change("a"), [(1, "inbox", b"new")], unqueued=[0]), bad])
    assert store.get("a").queue == ((0, "inbox", b"kept"),)


def test_unfinished_carries_each_instance_s_rows_across_chunks(either, monkeypatch):
    store, _ = either
    import goflow.store.postgres as pg
    import goflow.store.sqlite as sq
    monkeypatch.setattr(sq, "_CHUNK", 2)
    monkeypatch.setattr(pg, "_CHUNK", 2)
    store.commit([queued(make_change(f"i{n}"), [(k, "inbox", f"{n}.{k}".encode()) for k in range(n % 3)])
                  for n in range(5)]
                 + [queued(make_change("i2x", status="completed", state="done"), [(0, "inbox", b"not live")])])
    got = {r.id: r.queue for r in store.unfinished()}
    assert got == {f"i{n}": tuple((k, "inbox", f"{n}.{k}".encode()) for k in range(n % 3)) for n in range(5)}


def test_rows_survive_a_reopen_and_a_read_only_handle_reads_them(either):
    store, reopen = either
    store.commit([queued(make_change("a"), [(0, "postponed", b"p0"), (1, "inbox", b"i1")])])
    store.close()
    with reopen(readonly=True) as ro:
        assert ro.get("a").queue == ((0, "postponed", b"p0"), (1, "inbox", b"i1"))
    with reopen() as s:
        assert [r.queue for r in s.unfinished()] == [((0, "postponed", b"p0"), (1, "inbox", b"i1"))]


def test_a_version_5_sqlite_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "0.sqlite"
    with SQLiteStore(path) as s:
        s.commit([make_change("kept")])
    raw = sqlite3.connect(path)                     # what the previous version's store looked like
    raw.execute("DROP TABLE queued")
    for statement in SCHEMA_6_HISTORY:              # (version 7)
        raw.execute(statement)
    raw.execute("PRAGMA user_version=5")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match="older than 7; open it once for writing"):
        SQLiteStore(path, readonly=True)
    with SQLiteStore(path) as s:
        assert s.get("kept").queue == ()
        s.commit([queued(make_change("kept"), [(0, "inbox", b"x")])])
        assert s.get("kept").queue == ((0, "inbox", b"x"),)
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == 7
    finally:
        raw.close()


def test_a_postgres_schema_5_is_migrated_to_7(pg_url):
    import psycopg

    from goflow.cli import main
    from goflow.store import PostgresStore
    with PostgresStore(pg_url, 0) as s:
        s.commit([make_change("kept")])
    with psycopg.connect(pg_url, autocommit=True) as conn:   # the previous version's schema
        conn.execute("DROP TABLE goflow_queued")
        conn.execute("DELETE FROM goflow_schema WHERE version = 6")
        for statement in PG_SCHEMA_6_HISTORY:                   # (migration 7)
            conn.execute(statement)
    with pytest.raises(StoreError, match="run `goflow store migrate`"):
        PostgresStore(pg_url, 0)
    result = CliRunner().invoke(main, ["store", "migrate", "--store-url", pg_url])
    assert result.exit_code == 0 and "5 -> 7" in result.output, result.output
    with PostgresStore(pg_url, 0) as s:
        assert s.get("kept").queue == ()
        s.commit([queued(make_change("kept"), [(0, "postponed", b"x")])])
        assert s.get("kept").queue == ((0, "postponed", b"x"),)
