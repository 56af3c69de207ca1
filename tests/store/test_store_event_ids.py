"""The store keeps every outside event id an instance took, for its whole life (SPEC §6): stored with
the transition that took it (same transaction), looked up by (instance, event id), kept across a
reopen, added to a version-1 store by the schema upgrade. The contract runs on both stores (SQLite
files and a real PostgreSQL server); the file upgrade is SQLite's."""
from __future__ import annotations

import dataclasses
import sqlite3

import pytest

from goflow.errors import StoreError
from goflow.history import Record
from goflow.store import SQLiteStore
from goflow.store.sqlite import SCHEMA_VERSION
from store_support import SCHEMA_6_HISTORY


def with_ids(change, *ids):
    return dataclasses.replace(change, event_ids=tuple(ids))


def test_ids_committed_with_a_change_are_seen_for_that_instance_only(either, change):
    store, _ = either
    store.commit([with_ids(change("a"), "e1", "e2"), with_ids(change("b"), "e3")])
    asked = [("a", "e1"), ("a", "e2"), ("a", "e3"), ("b", "e1"), ("b", "e3"), ("c", "e1")]
    assert store.seen_event_ids(asked) == {("a", "e1"), ("a", "e2"), ("b", "e3")}
    assert store.seen_event_ids([]) == set()


def test_ids_add_up_over_commits_and_a_repeated_id_is_harmless(either, change):
    store, _ = either
    for n in range(300):
        store.commit([with_ids(change("a", updated=float(n)), f"e{n}")])
    store.commit([with_ids(change("a"), "e0", "e0")])     # already there: kept once, no error
    # the same instance twice in one batch: the ids of both changes are kept
    store.commit([with_ids(change("a"), "e300"), with_ids(change("a"), "e301")])
    assert store.seen_event_ids([("a", "e300"), ("a", "e301")]) == {("a", "e300"), ("a", "e301")}
    assert store.seen_event_ids([("a", f"e{n}") for n in (0, 150, 299, 999)]) == \
        {("a", "e0"), ("a", "e150"), ("a", "e299")}


def test_the_ids_of_a_failed_commit_are_not_stored(either, change):
    store, _ = either
    bad = with_ids(change("a", records=[Record(1.0, "s", "e", None, None, None, outcome="x",
                                               detail={"not json": object()})]), "e1")
    with pytest.raises(StoreError, match="nothing of this batch was committed"):
        store.commit([with_ids(change("b"), "e2"), bad])
    assert store.seen_event_ids([("a", "e1"), ("b", "e2")]) == set()


def test_ids_survive_a_reopen_and_a_read_only_handle_sees_them(either, change):
    store, reopen = either
    store.commit([with_ids(change("a"), "e1")])
    store.close()
    with reopen(readonly=True) as ro:
        assert ro.seen_event_ids([("a", "e1"), ("a", "e2")]) == {("a", "e1")}
    with reopen() as s:
        assert s.seen_event_ids([("a", "e1")]) == {("a", "e1")}


def test_a_version_1_store_is_upgraded_in_place_and_keeps_its_rows(store_path, change):
    with SQLiteStore(store_path) as s:
        s.commit([change("a")])
    raw = sqlite3.connect(store_path)                 # what a version-1 store looked like
    raw.execute("DROP TABLE event_ids")
    raw.execute("DROP INDEX instances_by_parent")       # version 4's
    raw.execute("ALTER TABLE instances DROP COLUMN parent")
    for statement in ("DROP INDEX instances_due", "DROP INDEX instances_inflight",   # version 5's
                      "ALTER TABLE instances DROP COLUMN due", "ALTER TABLE instances DROP COLUMN inflight"):
        raw.execute(statement)
    raw.execute("DROP TABLE queued")                  # (version 6)
    for statement in SCHEMA_6_HISTORY:                # (version 7)
        raw.execute(statement)
    raw.execute("PRAGMA user_version=1")
    raw.commit()
    raw.close()
    with pytest.raises(StoreError, match=f"older than {SCHEMA_VERSION}; open it once for writing"):
        SQLiteStore(store_path, readonly=True)
    with SQLiteStore(store_path) as s:
        assert s.get("a") is not None and s.seen_event_ids([("a", "e1")]) == set()
        s.commit([with_ids(change("a"), "e1")])
        assert s.seen_event_ids([("a", "e1")]) == {("a", "e1")}
    raw = sqlite3.connect(store_path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        raw.close()

