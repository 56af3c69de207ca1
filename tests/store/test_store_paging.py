"""Keyset pagination of the store (SPEC §12): history and list pages in both orders, walked to the
end with no repeat and no gap (ties on ``created`` included), every page answered from an index (no
sort, no scan of what came before), and the upgrade of a version-1 store to the new indexes."""
from __future__ import annotations

import sqlite3

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from goflow.history import Record
from goflow.store import SQLiteStore
from goflow.store.sqlite import SCHEMA_VERSION


def _walk_history(store, iid, size, order):
    out, after, pages = [], None, 0
    while True:
        records, after = store.history_page(iid, size, order=order, after=after)
        out.extend(r.step for r in records)
        pages += 1
        assert len(records) <= size
        if after is None:
            return out, pages


def _walk_list(store, size, order, **filters):
    out, after = [], None
    while True:
        rows = store.list(limit=size + 1, order=order, after=after, **filters)
        page = rows[:size]
        out.extend(r.id for r in page)
        if len(rows) <= size:
            return out
        after = (page[-1].created, page[-1].id)


def test_history_pages_in_both_orders(store, change):
    records = [Record(time=float(n), event="e", step=n, outcome="applied") for n in range(23)]
    store.commit([change("i1", records=records[:10]), change("other", records=records[:3])])
    store.commit([change("i1", records=records[10:])])
    latest, pages = _walk_history(store, "i1", 5, "latest")
    assert latest == list(reversed(range(23))) and pages == 5
    oldest, _ = _walk_history(store, "i1", 7, "oldest")
    assert oldest == list(range(23))
    first, after = store.history_page("i1", 23, order="latest")
    assert len(first) == 23 and after is None            # exactly full: no empty page after it
    assert store.history_page("nobody", 5) == ([], None)
    assert store.history("i1") == store.history_page("i1", 1000, order="oldest")[0]


def test_list_pages_with_ties_and_filters(store, change):
    # many instances share a created time: the id breaks the tie, so no page repeats or skips one
    store.commit([change(f"i{n:02d}", created=float(n // 4), status=("running", "waiting")[n % 2],
                         activity="a" if n < 30 else "b") for n in range(40)])
    everything = sorted((float(n // 4), f"i{n:02d}") for n in range(40))
    newest_first = [iid for _c, iid in reversed(everything)]
    assert _walk_list(store, 3, "latest") == newest_first
    assert _walk_list(store, 7, "oldest") == list(reversed(newest_first))
    waiting_a = [iid for iid in newest_first if int(iid[1:]) % 2 == 1 and int(iid[1:]) < 30]
    assert _walk_list(store, 4, "latest", project="p", activity="a", status="waiting") == waiting_a
    assert _walk_list(store, 4, "oldest", status="running") == sorted(
        (iid for iid in newest_first if int(iid[1:]) % 2 == 0), key=lambda i: (int(i[1:]) // 4, i))
    assert _walk_list(store, 5, "latest", project="p", activity="b") == [i for i in newest_first if int(i[1:]) >= 30]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(created=st.lists(st.integers(0, 5), min_size=0, max_size=30), size=st.integers(1, 8),
       order=st.sampled_from(["latest", "oldest"]))
def test_list_walk_is_the_sorted_table(tmp_path_factory, change, created, size, order):
    with SQLiteStore(tmp_path_factory.mktemp("walk") / "s.sqlite") as store:
        store.commit([change(f"id-{n}", created=float(c)) for n, c in enumerate(created)])
        want = sorted(((float(c), f"id-{n}") for n, c in enumerate(created)), reverse=order == "latest")
        assert _walk_list(store, size, order) == [iid for _c, iid in want]


@pytest.mark.parametrize("filters", [{}, {"status": "running"}, {"project": "p", "activity": "a"},
                                     {"project": "p", "activity": "a", "status": "running"}])
@pytest.mark.parametrize("order", ["latest", "oldest"])
def test_every_page_query_uses_an_index_and_no_sort(store, change, filters, order, monkeypatch):
    plans: list[str] = []
    conn = store._conn
    real_all = store._all

    def spy(sql, args, what):
        if sql.lstrip().startswith("SELECT") and ("FROM instances" in sql or "FROM history" in sql):
            plans.append(" | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args)))
        return real_all(sql, args, what)

    monkeypatch.setattr(store, "_all", spy)
    store.commit([change("x", created=1.0)])
    store.list(limit=10, order=order, after=(5.0, "k"), **filters)
    store.history_page("x", 10, order=order, after=3)
    assert len(plans) == 2
    for plan in plans:
        assert "USING INDEX" in plan or "USING COVERING INDEX" in plan, plan
        assert "TEMP B-TREE" not in plan, plan          # the index gives the order: no sort


def test_the_history_count_reads_the_history_index_only(store, change, monkeypatch):
    plans: list[str] = []
    conn, real_all = store._conn, store._all

    def spy(sql, args, what):
        plans.append(" | ".join(r[3] for r in conn.execute("EXPLAIN QUERY PLAN " + sql, args)))
        return real_all(sql, args, what)

    monkeypatch.setattr(store, "_all", spy)
    store.history_count("x")
    store.history_count("x", before=3)
    assert len(plans) == 2 and all("USING COVERING INDEX history_by_instance" in p for p in plans), plans


_V1_DDL = [
    """CREATE TABLE instances (id TEXT NOT NULL PRIMARY KEY, project TEXT NOT NULL, activity TEXT NOT NULL,
        version INTEGER NOT NULL CHECK (typeof(version) = 'integer'), status TEXT NOT NULL, state TEXT NOT NULL,
        snapshot BLOB NOT NULL CHECK (typeof(snapshot) = 'blob'), created REAL NOT NULL, updated REAL NOT NULL,
        reason TEXT, live INTEGER NOT NULL DEFAULT 0)""",
    "CREATE INDEX instances_by_status ON instances (status, created)",
    "CREATE INDEX instances_by_created ON instances (created)",
    "CREATE INDEX instances_by_blueprint ON instances (project, activity, status, created)",
    "CREATE INDEX instances_live ON instances (id) WHERE live = 1",
    """CREATE TABLE history (seq INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, time REAL NOT NULL, state TEXT,
        event TEXT, action TEXT, next TEXT, step INTEGER, attempt INTEGER, endpoint TEXT, outcome TEXT,
        latency REAL, detail TEXT)""",
    "CREATE INDEX history_by_instance ON history (instance_id, seq)",
]


def test_a_version_1_store_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.sqlite"
    raw = sqlite3.connect(path)
    for statement in _V1_DDL:
        raw.execute(statement)
    raw.execute("INSERT INTO instances VALUES ('kept', 'p', 'a', 1, 'waiting', 's', x'00', 3.0, 3.0, NULL, 1)")
    raw.execute(f"PRAGMA application_id={0x47465301}")
    raw.execute("PRAGMA user_version=1")
    raw.commit()
    raw.close()
    with SQLiteStore(path) as store:
        assert [s.id for s in store.list()] == ["kept"]
        assert [s.id for s in store.unfinished()] == ["kept"]
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        cols = {name: [r[2] for r in raw.execute(f"PRAGMA index_info({name})")]
                for (name,) in raw.execute("SELECT name FROM sqlite_master WHERE type = 'index'")
                if not name.startswith("sqlite_")}
    finally:
        raw.close()
    assert cols["instances_by_created"] == ["created", "id"]
    assert cols["instances_by_status"] == ["status", "created", "id"]
    assert cols["instances_by_blueprint"] == ["project", "activity", "created", "id"]
    assert cols["instances_by_blueprint_status"] == ["project", "activity", "status", "created", "id"]
    assert cols["instances_by_parent"] == ["parent", "created", "id"]        # version 4 (SPEC §8)


@given(st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=64))
def test_a_list_cursor_names_its_position(created, iid):
    from goflow.paging import LIST, decode_cursor, encode_cursor
    try:
        iid.encode("utf-8")
    except UnicodeEncodeError:
        return                                   # not an id a store can hold
    assert decode_cursor(LIST, encode_cursor(LIST, (created, iid))) == (created, iid)


@given(st.from_regex(r"\Ah[0-9]{1,18}\Z") | st.from_regex(r"\Al(-?[0-9]{1,20}(?:\.[0-9]{1,20})?(?:e[-+]?[0-9]{1,3})?)~((?:[0-9a-f]{2}){0,256})\Z"))
def test_every_string_of_the_cursor_form_is_a_position(cursor):
    # what the OpenAPI document calls a cursor is one: never an error, at most another place to start
    from goflow.paging import HISTORY, LIST, decode_cursor
    decode_cursor(HISTORY if cursor[0] == "h" else LIST, cursor)
