"""PostgresStore and PostgresCatalog against a real server: schema versions and migrations, shards as
rows, one writer per shard, clear errors at open, and faults -- a backend killed mid-commit, a commit
whose acknowledgement was lost, the server restarted under load."""
from __future__ import annotations

import threading
import time

import psycopg
import pytest
from click.testing import CliRunner

from goflow.errors import StoreError
from goflow.history import Record
from goflow.store import PostgresCatalog, PostgresStore, open_catalog, open_shard, status
from goflow.store._pg import SCHEMA_VERSION, Retry, Unavailable

from store_support import make_change

DEADLINE = 60.0


def _wait(predicate, what: str, deadline: float = DEADLINE):
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        value = predicate()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def _sql(url: str, sql: str, args=()):
    with psycopg.connect(url, autocommit=True) as conn:
        cur = conn.execute(sql, args)
        return cur.fetchall() if cur.description else None


def _backend_waiting(url: str, pid: int, event: str) -> bool:
    rows = _sql(url, "SELECT wait_event FROM pg_stat_activity WHERE pid = %s", (pid,))
    return bool(rows) and rows[0][0] == event


# ------------------------------------------------------------------------------- schema
def test_schema_is_created_with_its_version_and_shards_are_rows(pg_url):
    with PostgresStore(pg_url, 0) as s0, PostgresStore(pg_url, 1) as s1:
        s0.commit([make_change("a"), make_change("b")])
        s1.commit([make_change("a", state="other")])
        assert s0.get("a").state == "s1" and s1.get("a").state == "other"   # same id, two shards
        assert s0.counts() == {("p", "a", 1, "running"): 2}
        assert s1.counts() == {("p", "a", 1, "running"): 1}
        assert [r.id for r in s1.list()] == ["a"] and len(s1.history("a")) == 1
    assert _sql(pg_url, "SELECT version FROM goflow_schema ORDER BY version") == \
        [(v,) for v in range(1, SCHEMA_VERSION + 1)]
    assert _sql(pg_url, "SELECT shard, commits FROM goflow_shards ORDER BY shard") == [(0, 1), (1, 1)]
    with PostgresCatalog(pg_url) as cat:
        assert cat.shards() == 2


def test_newer_schema_is_refused_and_older_needs_migrate(pg_url):
    PostgresStore(pg_url, 0).close()
    _sql(pg_url, "INSERT INTO goflow_schema (version, description) VALUES (%s, 'from the future')",
         (SCHEMA_VERSION + 1,))
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        PostgresStore(pg_url, 0)
    with pytest.raises(StoreError, match="is newer"):
        PostgresCatalog(pg_url)
    result = CliRunner().invoke(_cli(), ["store", "migrate", "--store-url", pg_url])
    assert result.exit_code == 1 and "is newer" in result.output
    assert "password" not in result.output and _password(pg_url) not in result.output


def test_goflow_store_migrate_creates_then_reports_current(pg_url, monkeypatch):
    result = CliRunner().invoke(_cli(), ["store", "migrate", "--store-url", pg_url])
    assert result.exit_code == 0, result.output
    assert f"schema version 0 -> {SCHEMA_VERSION}" in result.output
    assert _password(pg_url) not in result.output
    monkeypatch.setenv("GOFLOW_STORE_URL", pg_url)
    again = CliRunner().invoke(_cli(), ["store", "migrate"])
    assert again.exit_code == 0 and f"schema version {SCHEMA_VERSION} is current" in again.output


def test_an_older_schema_is_refused_at_open_until_migrated(pg_url, monkeypatch):
    import goflow.store._pg as pg
    with PostgresStore(pg_url, 0) as s:
        s.commit([make_change("kept")])
    later = pg.MIGRATIONS + [(SCHEMA_VERSION + 1, "a column added later",
                              ["ALTER TABLE goflow_instances ADD COLUMN later text"])]
    monkeypatch.setattr(pg, "MIGRATIONS", later)
    monkeypatch.setattr(pg, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    with pytest.raises(StoreError, match="older than this GoFlow's .* run `goflow store migrate`"):
        PostgresStore(pg_url, 0)
    result = CliRunner().invoke(_cli(), ["store", "migrate", "--store-url", pg_url])
    assert result.exit_code == 0 and f"{SCHEMA_VERSION} -> {SCHEMA_VERSION + 1}" in result.output
    with PostgresStore(pg_url, 0) as s:
        assert s.exists("kept")
    assert _sql(pg_url, "SELECT version, description FROM goflow_schema ORDER BY version")[-1] == \
        (SCHEMA_VERSION + 1, "a column added later")


# --------------------------------------------------------------------------- writers, errors
def test_one_writer_per_shard_readers_welcome(pg_url):
    with PostgresStore(pg_url, 0) as writer:
        writer.commit([make_change("a")])
        with pytest.raises(StoreError, match="already open for writing"):
            PostgresStore(pg_url, 0, lock_timeout=0.2)
        with PostgresStore(pg_url, 0, readonly=True) as reader:
            assert reader.get("a").id == "a"
            with pytest.raises(StoreError, match="read-only"):
                reader.commit([make_change("b")])
        with PostgresStore(pg_url, 1) as other:   # another shard: another writer
            other.commit([make_change("b")])
    with PostgresStore(pg_url, 0) as again:       # closed: the lock went with the session
        assert again.exists("a")


def test_wrong_password_or_url_is_one_clear_error(pg_server, pg_url):
    bad = pg_server.url(pg_url.rsplit("/", 1)[1], password="not-the-password")
    with pytest.raises(StoreError, match="password authentication failed") as info:
        open_shard("unused", 0, url=bad)
    assert "not-the-password" not in str(info.value)
    with pytest.raises(StoreError, match="Connection refused|connect"):
        open_catalog("unused", url="postgresql://goflow:secret@127.0.0.1:1/none")
    with pytest.raises(StoreError, match="invalid store URL"):
        open_shard("unused", 0, url="postgresql://goflow@127.0.0.1/db?no_such_option=1")
    with pytest.raises(StoreError, match="unsupported store URL"):
        open_shard("unused", 0, url="mysql://u:pw@h/db")


def test_catalog(pg_url):
    with PostgresCatalog(pg_url) as cat:
        assert cat.save("p", "a", 1, {"v": 1}) is True
        assert cat.save("p", "a", 1, {"v": 1}) is False
        assert cat.save("p", "a", 2, {"v": 2}) is True
        with pytest.raises(StoreError, match="different document"):
            cat.save("p", "a", 1, {"v": "changed"})
        assert cat.get("p", "a") == {"v": 2} and cat.get("p", "a", 1) == {"v": 1}
        assert cat.get("p", "zz") is None
        assert cat.latest_versions() == {("p", "a"): 2}
        assert [v for _, _, v, _ in cat.all()] == [1, 2]
    with PostgresCatalog(pg_url, readonly=True) as ro:
        assert ro.get("p", "a", 2) == {"v": 2}
        with pytest.raises(StoreError, match="read-only"):
            ro.save("p", "b", 1, {})


# -------------------------------------------------------------------------------------- faults
def _no_sleep(_delay: float) -> None:
    return None


def test_backend_killed_mid_commit_the_retry_commits_once(pg_url):
    events = []
    store = PostgresStore(pg_url, 0, retry=Retry(sleep=_no_sleep, on_change=lambda ok, e: events.append(ok)))
    store.commit([make_change("before")])
    pid = store._conn.info.backend_pid
    records = [Record(time=float(k), event=f"e{k}") for k in range(3)]
    blocker = psycopg.connect(pg_url, autocommit=True)
    done = threading.Event()
    try:
        with blocker.transaction():      # hold the shard's row: the batch's first statement waits
            blocker.execute("SELECT 1 FROM goflow_shards WHERE shard = 0 FOR UPDATE")
            worker = threading.Thread(target=lambda: (store.commit([make_change("b", records=records),
                                                                    make_change("c")]), done.set()))
            worker.start()
            _wait(lambda: _backend_waiting(pg_url, pid, "transactionid"), "the commit to wait on the row")
            blocker.execute("SELECT pg_terminate_backend(%s)", (pid,))
            _wait(lambda: not _sql(pg_url, "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)),
                  "the backend to go")
            assert not done.is_set()
        worker.join(DEADLINE)
        assert done.is_set()
    finally:
        blocker.close()
    assert [r.event for r in store.history("b")] == ["e0", "e1", "e2"]   # once, not twice
    assert store.exists("c") and events == [False, True]
    store.close()


def test_backend_killed_mid_commit_without_retry_leaves_nothing(pg_url):
    store = PostgresStore(pg_url, 0, retry=Retry(give_up_after=0))
    store.commit([make_change("before")])
    pid = store._conn.info.backend_pid
    blocker = psycopg.connect(pg_url, autocommit=True)
    failure = []
    try:
        with blocker.transaction():
            blocker.execute("SELECT 1 FROM goflow_shards WHERE shard = 0 FOR UPDATE")

            def commit():
                try:
                    store.commit([make_change("before", state="moved"), make_change("new")])
                except StoreError as exc:
                    failure.append(exc)
            worker = threading.Thread(target=commit)
            worker.start()
            _wait(lambda: _backend_waiting(pg_url, pid, "transactionid"), "the commit to wait on the row")
            blocker.execute("SELECT pg_terminate_backend(%s)", (pid,))
            worker.join(DEADLINE)
    finally:
        blocker.close()
    assert failure and isinstance(failure[0], Unavailable)
    assert "nothing of it was committed" in str(failure[0])
    assert store.get("before").state == "s1" and not store.exists("new")
    assert len(store.history("before")) == 1
    store.commit([make_change("new")])     # and the store connects again
    assert store.exists("new")
    store.close()


def test_a_commit_whose_acknowledgement_was_lost_is_not_applied_twice(pg_server, pg_url):
    """The server committed, the connection died before saying so: the retry finds the batch id in
    the shard's row and does not write the batch again. (A synchronous standby that never comes makes
    COMMIT wait after the local commit; killing the backend then is exactly that case.)"""
    store = PostgresStore(pg_url, 0, retry=Retry(sleep=_no_sleep))
    store.commit([make_change("before")])
    pid = store._conn.info.backend_pid
    admin = pg_server.url()
    _sql(admin, "ALTER SYSTEM SET synchronous_standby_names = 'nobody'")
    _sql(admin, "SELECT pg_reload_conf()")
    done = threading.Event()
    try:
        _wait(lambda: _sql(pg_url, "SHOW synchronous_standby_names") == [("nobody",)], "the reload")
        worker = threading.Thread(target=lambda: (store.commit([make_change("x", records=[Record(time=1.0)])]),
                                                  done.set()))
        worker.start()
        _wait(lambda: _backend_waiting(pg_url, pid, "SyncRep"), "the commit to wait for the standby")
        _sql(admin, "SELECT pg_terminate_backend(%s)", (pid,))
    finally:
        _sql(admin, "ALTER SYSTEM RESET synchronous_standby_names")
        _sql(admin, "SELECT pg_reload_conf()")
    worker.join(DEADLINE)
    assert done.is_set()
    assert len(store.history("x")) == 1
    assert _sql(pg_url, "SELECT commits FROM goflow_shards WHERE shard = 0") == [(2,)]
    store.close()


def test_server_restarted_under_load_every_batch_once(pg_server, pg_url, tmp_path):
    """A writer commits 300 batches in a loop; the server stops (fast) after the 30th and starts
    again once the writer reports the store unavailable. Every batch is acknowledged, stored once."""
    marks = []

    def on_change(ok, error):
        marks.append(ok)
        status.mark(tmp_path, 0, ok, error)

    store = PostgresStore(pg_url, 0, retry=Retry(on_change=on_change, first=0.01, longest=0.2))
    acked = []

    def writer():
        for k in range(300):
            store.commit([make_change(f"i{k}", records=[Record(time=float(k), event="go")])])
            acked.append(k)
    worker = threading.Thread(target=writer)
    worker.start()
    try:
        _wait(lambda: len(acked) >= 30, "30 acknowledged batches")
        pg_server.stop_server("fast")
        down = _wait(lambda: status.unavailable(tmp_path), "the store to be reported unavailable")
        assert 0 in down
        pg_server.start_server()
    finally:
        if not pg_server_running(pg_server):
            pg_server.start_server()
    worker.join(DEADLINE)
    assert acked == list(range(300))
    assert store.counts() == {("p", "a", 1, "running"): 300}
    assert _sql(pg_url, "SELECT sum(count), count(DISTINCT instance_id) FROM goflow_history_chunks") == [(300, 300)]
    assert marks == [False, True] and status.unavailable(tmp_path) == {}
    store.close()


def pg_server_running(server) -> bool:
    try:
        psycopg.connect(server.url(), connect_timeout=2).close()
        return True
    except psycopg.Error:
        return False


def _cli():
    from goflow.cli import main
    return main


def _password(url: str) -> str:
    return url.split("://", 1)[1].split("@", 1)[0].split(":", 1)[1]
