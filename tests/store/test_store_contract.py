"""The store contract, run against both stores: SQLite files and a real PostgreSQL server.

commit/get/history/list/counts, upserts, the recovery set, quarantine and atomicity."""
from __future__ import annotations

import sqlite3

import pytest

from goflow.errors import InstanceNotFound, StoreError
from goflow.history import Record
from goflow.store import QUARANTINED, InstanceStore, PostgresStore, StoredInstance, Summary


@pytest.fixture
def store(either):
    """A store of each kind (conftest's ``either``)."""
    return either[0]


def test_is_an_instance_store(store):
    assert isinstance(store, InstanceStore)


def test_commit_get_exists(store, change):
    store.commit([change("i1", snapshot=b"\x00\xffbytes", created=10.0, updated=11.5)])
    got = store.get("i1")
    assert got == StoredInstance("i1", "p", "a", 1, "running", "s1", b"\x00\xffbytes", 10.0, 11.5, None)
    assert type(got.snapshot) is bytes
    assert store.exists("i1") and not store.exists("nope")
    assert store.get("nope") is None


def test_empty_batch_is_a_no_op(store):
    store.commit([])
    assert store.counts() == {}


def test_upsert_latest_wins_and_history_appends_in_order(store, change):
    rec = lambda t, ev: Record(time=t, state="s", event=ev, step=int(t), outcome="applied")  # noqa: E731
    store.commit([change("i1", state="s1", snapshot=b"v1", records=[rec(1, "start")], created=1, updated=1)])
    # the same instance twice in one batch, then once more in another batch
    store.commit([change("i1", state="s2", snapshot=b"v2", records=[rec(2, "e2")], created=1, updated=2),
                  change("i1", state="s3", snapshot=b"v3", records=[rec(3, "e3"), rec(4, "e4")],
                         created=1, updated=3)])
    store.commit([change("i1", status="completed", state="done", snapshot=b"v4", records=[rec(5, "e5")],
                         created=1, updated=5, reason=None)])
    got = store.get("i1")
    assert (got.state, got.status, got.snapshot) == ("done", "completed", b"v4")
    assert (got.created, got.updated) == (1, 5)
    assert [r.event for r in store.history("i1")] == ["start", "e2", "e3", "e4", "e5"]
    assert [r.event for r in store.history_page("i1", 2, order="oldest")[0]] == ["start", "e2"]
    assert [r.event for r in store.history_page("i1", 2)[0]] == ["e5", "e4"]
    assert store.history_page("i1", 0)[0] == []
    assert store.history("nobody") == []
    assert store.counts() == {("p", "a", 1, "completed"): 1}


def test_records_keep_every_field(store, change):
    full = Record(time=12.25, state="s", event="success", action="call", next="t", step=7, attempt=2,
                  endpoint="http://w/x", outcome="503", latency=0.125,
                  detail={"nested": [1, 2.5, None, "é"], "ok": True})
    bare = Record(time=13.0)
    text = Record(time=14.0, detail="just text")
    store.commit([change("i1", records=[full, bare, text])])
    assert store.history("i1") == [full, bare, text]


def test_detail_that_is_not_json_refuses_the_batch(store, change):
    bad = change("i2", records=[Record(time=1.0, detail=object())])
    with pytest.raises(StoreError, match="i2") as info:
        store.commit([change("i1"), bad])
    assert info.value.path == store.path
    assert not store.exists("i1") and store.history("i1") == []


@pytest.mark.parametrize("field, value", [("snapshot", None), ("snapshot", "text, not bytes"),
                                          ("status", None), ("version", "one")])
def test_a_batch_failing_midway_leaves_nothing(store, change, field, value):
    store.commit([change("before", state="s0")])
    good = [change(f"g{k}", state="x") for k in range(50)]
    bad = change("bad", **{field: value})
    with pytest.raises(StoreError, match="nothing of it was committed"):
        store.commit(good + [change("before", state="changed")] + [bad] + good)
    assert store.counts() == {("p", "a", 1, "running"): 1}
    assert store.get("before").state == "s0"
    assert len(store.history("before")) == 1
    assert not any(store.exists(f"g{k}") for k in range(50))
    # and the store is still usable
    store.commit(good)
    assert store.counts() == {("p", "a", 1, "running"): 51}


def test_a_record_that_cannot_be_stored_refuses_the_batch(store, change):
    bad = change("i2", records=[Record(time=None)])  # a record's time is required
    with pytest.raises(StoreError):
        store.commit([change("i1"), bad])
    assert not store.exists("i1") and not store.exists("i2")


def _refuse_history_of(store, instance_id: str) -> None:
    """A trigger in the database itself that aborts the insert of ``instance_id``'s history chunk: a
    failure inside the transaction, after the batch's instance rows went in."""
    if isinstance(store, PostgresStore):
        import psycopg
        with psycopg.connect(store.url, autocommit=True) as conn:
            conn.execute(f"""CREATE OR REPLACE FUNCTION goflow_test_refuse() RETURNS trigger AS $$
                BEGIN IF NEW.instance_id = '{instance_id}' THEN RAISE EXCEPTION 'refused by the test';
                END IF; RETURN NEW; END $$ LANGUAGE plpgsql""")
            conn.execute("CREATE TRIGGER goflow_test_refuse BEFORE INSERT ON goflow_history_chunks "
                         "FOR EACH ROW EXECUTE FUNCTION goflow_test_refuse()")
    else:
        with sqlite3.connect(store.path) as conn:
            conn.execute(f"CREATE TRIGGER goflow_test_refuse BEFORE INSERT ON history_chunks "
                         f"WHEN NEW.instance_id = '{instance_id}' BEGIN SELECT RAISE(ABORT, 'refused'); END")
        conn.close()


def test_a_failing_history_insert_undoes_the_rows(store, change):
    store.commit([change("before", state="s0")])
    _refuse_history_of(store, "i2")
    with pytest.raises(StoreError, match="nothing of it was committed"):
        store.commit([change("i1"), change("before", state="changed"), change("i2")])
    assert not store.exists("i1") and not store.exists("i2")
    assert store.get("before").state == "s0" and len(store.history("before")) == 1
    store.commit([change("i1")])                  # the store is still usable
    assert store.exists("i1")


def test_list_filters_order_and_paging(store, change):
    changes = []
    for n in range(30):
        status = ("running", "waiting", "completed")[n % 3]
        activity = "a" if n < 20 else "b"
        changes.append(change(f"i{n:02d}", status=status, activity=activity, created=float(n),
                              updated=n + .5))
    store.commit(changes)
    everything = store.list(limit=1000)
    assert [s.id for s in everything] == [f"i{n:02d}" for n in reversed(range(30))]  # newest first
    assert all(isinstance(s, Summary) for s in everything)
    assert [s.id for s in store.list(limit=5, after=(25.0, "i25"))] == [f"i{n:02d}" for n in range(24, 19, -1)]
    running_a = store.list(project="p", activity="a", status="running")
    assert [s.id for s in running_a] == [f"i{n:02d}" for n in range(18, -1, -3)]
    assert {s.status for s in store.list(status="completed")} == {"completed"}
    assert len(store.list(status="completed")) == 10
    assert store.list(project="other") == []
    assert store.counts() == {("p", "a", 1, "running"): 7, ("p", "a", 1, "waiting"): 7,
                              ("p", "a", 1, "completed"): 6, ("p", "b", 1, "running"): 3,
                              ("p", "b", 1, "waiting"): 3, ("p", "b", 1, "completed"): 4}
    assert store.counts(activity="b") == {("p", "b", 1, "running"): 3, ("p", "b", 1, "waiting"): 3,
                                          ("p", "b", 1, "completed"): 4}
    assert store.counts(project="nope") == {}


def test_counts_split_by_version(store, change):
    store.commit([change("v1", version=1), change("v2a", version=2), change("v2b", version=2)])
    assert store.counts(project="p", activity="a") == {("p", "a", 1, "running"): 1,
                                                       ("p", "a", 2, "running"): 2}


def test_unfinished_excludes_finished_and_quarantined(store, change):
    statuses = ["running", "waiting", "delayed", "paused", "completed", "failed", "terminated",
                "some-future-status"]
    store.commit([change(s, status=s) for s in statuses])
    store.commit([change("corrupt", status="running")])
    store.quarantine("corrupt", "snapshot format version 99 is unknown", now=5.0)
    assert sorted(i.id for i in store.unfinished()) == ["delayed", "paused", "running",
                                                       "some-future-status", "waiting"]
    got = store.get("corrupt")
    assert got.status == QUARANTINED and got.snapshot == b"snap"
    assert got.reason == "snapshot format version 99 is unknown"
    assert got.quarantined and not got.finished
    [summary] = store.list(status=QUARANTINED)
    assert (summary.id, summary.reason) == ("corrupt", "snapshot format version 99 is unknown")
    last = store.history("corrupt")[-1]
    assert (last.time, last.outcome, last.state) == (5.0, QUARANTINED, "s1")
    assert last.detail == {"reason": "snapshot format version 99 is unknown", "status": "running"}
    # an instance becoming finished leaves the recovery set
    store.commit([change("running", status="completed", state="done")])
    assert "running" not in {i.id for i in store.unfinished()}


def test_unfinished_pages_through_many_rows_while_committing(store, change):
    store.commit([change(f"i{n:05d}", status="running" if n % 4 else "completed") for n in range(5000)])
    seen = []
    for inst in store.unfinished():
        seen.append(inst.id)
        if len(seen) % 1000 == 0:  # the caller may commit while it iterates
            store.commit([change(inst.id, status="waiting")])
    assert seen == [f"i{n:05d}" for n in range(5000) if n % 4]


def test_quarantine_unknown_instance(store):
    with pytest.raises(InstanceNotFound):
        store.quarantine("ghost", "why")


def test_existing_answers_for_many_ids_at_once(store, change):
    store.commit([change("a"), change("b", status="completed")])
    assert store.existing(["a", "x", "b", "a"]) == {"a", "b"}
    assert store.existing([]) == set() and store.existing(["nobody"]) == set()


def test_existing_answers_past_one_query_chunk(store, change):
    ids = [f"i{n:04d}" for n in range(1200)]      # more than SQLite's 500 ids per IN (...) query
    store.commit([change(i) for i in ids[::3]])
    assert store.existing(ids + ["ghost"] + ids[:10]) == set(ids[::3])


def test_history_count_counts_the_records_before_a_key(store, change):
    """What numbers the gRPC API's history pages: the records of one instance with a key below
    ``before`` (all of them without), whatever other instances hold."""
    records = [Record(time=float(n), event="e", step=n, outcome="applied") for n in range(9)]
    store.commit([change("i1", records=records[:4]), change("other", records=records[:5])])
    store.commit([change("i1", records=records[4:])])
    assert store.history_count("i1") == 9 and store.history_count("other") == 5
    assert store.history_count("nobody") == 0
    first, key = store.history_page("i1", 3, order="oldest")     # key: the third record's
    assert store.history_count("i1", before=key) == 2 and store.history_count("i1", before=key + 1) == 3
    latest, key = store.history_page("i1", 4, order="latest")    # key: the sixth record's
    assert store.history_count("i1", before=key) == 5
    assert store.history_count("i1", before=0) == 0


def test_list_by_state(store, change):
    store.commit([change("a", status="completed", state="done"), change("b", state="s1"),
                  change("c", status="completed", state="rejected")])
    assert [s.id for s in store.list(state="done")] == ["a"]
    assert [s.id for s in store.list(status="completed", state="rejected")] == ["c"]


def test_list_by_parent(store, change):
    """A child's parent (SPEC §8) is a column: ``list(parent=)`` is served by the store, and the
    link never changes (a later change without it keeps it)."""
    store.commit([change("p"), change("p~1~0", parent="p"), change("p~1~1", parent="p", created=2.0),
                  change("q~1", parent="q")])
    assert sorted(s.id for s in store.list(parent="p")) == ["p~1~0", "p~1~1"]
    assert [s.id for s in store.list(parent="p", order="oldest", limit=1)] == ["p~1~0"]
    store.commit([change("p~1~0", status="completed", state="done")])
    assert sorted(s.id for s in store.list(parent="p", status="completed")) == ["p~1~0"]
    assert store.list(parent="p~1~0") == []
