"""The passivation columns of both stores (SPEC §11): each instance's earliest timer, scanned in due
order (a keyset over the due index), and the in-flight set recovery loads."""
from __future__ import annotations

import sqlite3

import pytest

from goflow.store import SQLiteStore
from store_support import SCHEMA_6_HISTORY


@pytest.fixture
def store(either):
    """A store of each kind (conftest's ``either``)."""
    return either[0]


def test_due_scans_in_due_order_with_a_keyset(store, change):
    store.commit([change(f"t{n}", status="delayed", due=float(10 - n)) for n in range(6)]    # due 10 .. 5
                 + [change("none", status="waiting"), change("later", status="delayed", due=100.0),
                    change("tie", status="delayed", due=7.0)])
    assert store.due(8.0, 10) == [(5.0, "t5"), (6.0, "t4"), (7.0, "t3"), (7.0, "tie"), (8.0, "t2")]
    first = store.due(8.0, 3)
    assert first == [(5.0, "t5"), (6.0, "t4"), (7.0, "t3")]
    assert store.due(8.0, 3, after=first[-1]) == [(7.0, "tie"), (8.0, "t2")]
    assert store.due(4.9, 10) == []
    assert store.next_due() == 5.0
    assert store.next_due(after=8.0) == 9.0
    assert store.next_due(after=100.0) is None
    # a later change moves or clears the timer; a finished instance has none
    store.commit([change("t5", status="waiting", due=None), change("t4", status="completed", state="done"),
                  change("t3", status="delayed", due=50.0)])
    assert store.due(8.0, 10) == [(7.0, "tie"), (8.0, "t2")]
    assert store.next_due() == 7.0


def test_quarantine_clears_the_timer_and_the_in_flight_mark(store, change):
    store.commit([change("q", status="running", due=1.0, inflight=True)])
    store.quarantine("q", "corrupt", now=2.0)
    assert store.due(10.0, 10) == [] and store.next_due() is None
    assert list(store.in_flight()) == []


def test_in_flight_is_the_recovery_set(store, change):
    store.commit([change("step", status="running", inflight=True),
                  change("waiting", status="waiting", inflight=False),
                  change("delayed", status="delayed", inflight=False, due=5.0),
                  change("hook", status="completed", state="done", live=True, inflight=True),
                  change("old-style", status="waiting"),           # inflight unset: as live
                  change("done", status="completed", state="done")])
    assert sorted(i.id for i in store.in_flight()) == ["hook", "old-style", "step"]
    assert sorted(i.id for i in store.unfinished()) == ["delayed", "hook", "old-style", "step", "waiting"]
    store.commit([change("step", status="waiting", inflight=False)])
    assert sorted(i.id for i in store.in_flight()) == ["hook", "old-style"]


def test_a_version_4_store_gains_the_columns_and_recovers_its_live_rows(tmp_path, change):
    path = tmp_path / "v4.sqlite"
    with SQLiteStore(path) as store:
        store.commit([change("w", status="waiting"), change("d", status="completed", state="done")])
    raw = sqlite3.connect(path)
    for statement in ("DROP INDEX instances_due", "DROP INDEX instances_inflight",
                      "ALTER TABLE instances DROP COLUMN due", "ALTER TABLE instances DROP COLUMN inflight",
                      "DROP TABLE queued", *SCHEMA_6_HISTORY):   # (versions 6 and 7)
        raw.execute(statement)
    raw.execute("PRAGMA user_version=4")
    raw.commit()
    raw.close()
    with SQLiteStore(path) as store:       # upgraded in place: every live row is in flight until rewritten
        assert [i.id for i in store.in_flight()] == ["w"]
        assert store.next_due() is None
