"""The history as chunks (SQLite schema 7, PostgreSQL migration 7; goflow.store._chunks): one row per
instance per commit, records keyed by the chunk's seq plus their index. Paging and counting from any
key in both orders, what a record reads back as, and older stores migrated with their keys kept."""
from __future__ import annotations

import random
import sqlite3

import pytest
from click.testing import CliRunner

from goflow.history import Record
from goflow.store import SQLiteStore

from store_support import PG_SCHEMA_6_HISTORY, SCHEMA_6_HISTORY, make_change


@pytest.fixture
def store(either):
    return either[0]


def _rec(n: int, iid: str) -> Record:
    return Record(time=1000.0 + n, state=f"s{n}", event="go", action="continue", next=f"s{n + 1}", step=n,
                  outcome="applied", detail={"n": n, "of": iid} if n % 3 else None)


def _fill(store, seed: int = 7) -> dict[str, list[Record]]:
    """Batches of several instances, each with 0 to 4 records per change, an instance sometimes twice
    in a batch: every instance's records, oldest first."""
    rnd, made, n = random.Random(seed), {}, 0
    for _ in range(12):
        batch = []
        for _ in range(rnd.randint(1, 5)):
            iid = rnd.choice(["a", "b", "c"])
            recs = []
            for _ in range(rnd.randint(0, 4)):
                recs.append(_rec(n, iid))
                n += 1
            made.setdefault(iid, []).extend(recs)
            batch.append(make_change(iid, records=recs))
        store.commit(batch)
    return made


def _walk(store, iid: str, order: str, size: int) -> list[tuple[list[Record], int | None]]:
    pages, after = [], None
    while True:
        records, after = store.history_page(iid, size, order=order, after=after)
        pages.append((records, after))
        if after is None:
            return pages


@pytest.mark.parametrize("size", [1, 2, 3, 5, 1000])
def test_pages_from_every_key_in_both_orders_cover_the_history_once(store, size):
    made = _fill(store)
    for iid, records in made.items():
        assert store.history(iid) == records
        assert store.history_count(iid) == len(records)
        for order, expected in (("oldest", records), ("latest", records[::-1])):
            pages = _walk(store, iid, order, size)
            assert [r for page, _ in pages for r in page] == expected
            assert all(len(page) == size for page, nxt in pages if nxt is not None)
            seen = 0
            for page, nxt in pages:
                seen += len(page)
                if nxt is None:
                    continue
                # the key names the last record of the page: the records older than it are counted
                older = seen - 1 if order == "oldest" else len(records) - seen
                assert store.history_count(iid, before=nxt) == older
                assert store.history_count(iid, before=nxt + 1) == older + 1


def test_a_key_from_one_page_continues_in_the_other_order(store):
    records = _fill(store)["a"]
    first, key = store.history_page("a", 4, order="oldest")          # key: the fourth record's
    back, _ = store.history_page("a", 10, order="latest", after=key)
    assert back == records[:3][::-1]
    on, _ = store.history_page("a", 2, order="oldest", after=key)
    assert on == records[4:6]


def test_one_chunk_per_instance_per_commit(store_path):
    with SQLiteStore(store_path) as store:
        store.commit([make_change("x", records=[_rec(0, "x"), _rec(1, "x")]), make_change("y"),
                      make_change("x", records=[_rec(2, "x")]), make_change("z", records=[])])
        store.quarantine("y", "bad")
        assert [r.step for r in store.history("x")] == [0, 1, 2]
        assert [r.outcome for r in store.history("y")] == ["applied", "quarantined"]
    raw = sqlite3.connect(store_path)
    try:
        rows = raw.execute("SELECT instance_id, seq, count FROM history_chunks ORDER BY seq").fetchall()
    finally:
        raw.close()
    assert rows == [("x", 1, 3), ("y", 4, 1), ("y", 5, 1)]


def test_a_record_reads_back_as_the_row_columns_gave_it(store):
    store.commit([make_change("i", records=[
        Record(time=5, latency=2, detail={1: "one", "t": (1, 2)}),            # JSON: keys as strings, lists
        Record(time=6.25, state="s", event="e", action="a", next="n", step=3, attempt=2, endpoint="http://w/x",
               outcome="500", latency=0.125, detail="text é"),
    ])])
    first, second = store.history("i")
    assert first == Record(time=5.0, latency=2.0, detail={"1": "one", "t": [1, 2]})
    assert type(first.time) is float and type(first.latency) is float
    assert second == Record(6.25, "s", "e", "a", "n", 3, 2, "http://w/x", "500", 0.125, "text é")


def _schema_6_rows(insert) -> dict[str, list[tuple]]:
    """Schema-6 history rows as a host wrote them: batches appended in seq order, an instance's
    records of a batch consecutive, instances interleaved between batches. ``insert(seq, iid, row)``."""
    made: dict[str, list[tuple]] = {}
    seq = 1
    for batch in range(6):
        for iid in (["p", "q"] if batch % 2 else ["q", "r", "p"]):
            for k in range(batch % 3 + 1):
                row = (float(batch), f"s{k}", "go", None, None, k, None, None, "applied", None,
                       '{"b":%d}' % batch if k else None)
                insert(seq, iid, row)
                made.setdefault(iid, []).append((seq, row))
                seq += 1
    return made


def _as_record(row: tuple) -> Record:
    import json
    return Record(*row[:10], None if row[10] is None else json.loads(row[10]))


def test_a_version_6_sqlite_store_keeps_its_history_and_its_keys(tmp_path):
    path = tmp_path / "0.sqlite"
    with SQLiteStore(path) as s:
        s.commit([make_change("p", records=[])])
    raw = sqlite3.connect(path)
    for statement in SCHEMA_6_HISTORY:
        raw.execute(statement)
    made = _schema_6_rows(lambda seq, iid, row: raw.execute(
        "INSERT INTO history VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", (seq, iid, *row)))
    raw.execute("PRAGMA user_version=6")
    raw.commit()
    raw.close()
    with SQLiteStore(path) as s:
        _check_migrated(s, made)
        # one chunk per run of consecutive keys of an instance, and the one committed since
        runs = sum(1 for rows in made.values() for k, (seq, _) in enumerate(rows)
                   if k == 0 or rows[k - 1][0] != seq - 1)
        assert s._conn.execute("SELECT count(*) FROM history_chunks").fetchone()[0] == runs + 1
        assert not s._conn.execute(
            "SELECT 1 FROM sqlite_master WHERE name = 'history'").fetchall()


def _check_migrated(s, made: dict[str, list[tuple]]) -> None:
    for iid, rows in made.items():
        assert s.history(iid) == [_as_record(r) for _, r in rows]
        for k, (seq, _) in enumerate(rows):      # an old cursor (a schema-6 seq) names the same place
            assert s.history_count(iid, before=seq) == k
            following = [_as_record(r) for _, r in rows[k + 1:k + 2]]
            preceding = [_as_record(r) for _, r in rows[max(k - 1, 0):k]]
            assert s.history_page(iid, 1, order="oldest", after=seq)[0] == following
            assert s.history_page(iid, 1, order="latest", after=seq)[0] == preceding
    s.commit([make_change("p", records=[Record(time=99.0, outcome="later")])])
    assert s.history("p")[-1] == Record(time=99.0, outcome="later")
    assert s.history("p")[:-1] == [_as_record(r) for _, r in made["p"]]


def test_a_postgres_schema_6_is_migrated_to_7_with_its_history_and_keys(pg_url):
    import psycopg

    from goflow.cli import main
    from goflow.store import PostgresStore
    with PostgresStore(pg_url, 0) as s:
        s.commit([make_change("p", records=[])])
    with psycopg.connect(pg_url, autocommit=True) as conn:
        for statement in PG_SCHEMA_6_HISTORY:
            conn.execute(statement)
        made = _schema_6_rows(lambda seq, iid, row: conn.execute(
            "INSERT INTO goflow_history (seq, shard, instance_id, time, state, event, action, next, step, attempt,"
            " endpoint, outcome, latency, detail) OVERRIDING SYSTEM VALUE"
            " VALUES (%s, 0, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", (seq, iid, *row)))
        # another shard's rows, interleaved in the global seq, stay its own
        conn.execute("INSERT INTO goflow_history (seq, shard, instance_id, time, outcome) OVERRIDING SYSTEM VALUE"
                     " VALUES (1000, 1, 'p', 1.0, 'other')")
    result = CliRunner().invoke(main, ["store", "migrate", "--store-url", pg_url])
    assert result.exit_code == 0 and "6 -> 7" in result.output, result.output
    with PostgresStore(pg_url, 0) as s:
        _check_migrated(s, made)
    with PostgresStore(pg_url, 1) as other:
        assert other.history("p") == [Record(time=1.0, outcome="other")]
        other.commit([make_change("p", records=[Record(time=2.0, outcome="next")])])
        assert [r.outcome for r in other.history("p")] == ["other", "next"]
