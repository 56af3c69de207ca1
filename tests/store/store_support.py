"""Helpers of the store tests (a module of its own name: ``conftest`` is ambiguous across test
directories)."""
from __future__ import annotations

from goflow.history import Record
from goflow.store import Change


def make_change(iid: str, *, status: str = "running", state: str = "s1", project: str = "p",
                activity: str = "a", version: int = 1, snapshot=b"snap", records=None,
                created: float = 1.0, updated: float = 1.0, reason=None, parent=None, live=None, due=None,
                inflight=None) -> Change:
    if records is None:
        records = [Record(time=updated, state="init", event="start", action="call", next=state, step=1,
                          outcome="applied", detail={"id": iid})]
    return Change(iid, project, activity, version, status, state, snapshot, records, created, updated, reason,
                  live, parent=parent, due=due, inflight=inflight)


# What a store of schema 1 to 6 has in place of schema 7's history_chunks: one row per record
# (goflow.store._chunks). Run on a new store's file to make it look older (its history is lost).
SCHEMA_6_HISTORY = [
    "DROP TABLE history_chunks",
    """CREATE TABLE history (seq INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, time REAL NOT NULL, state TEXT,
        event TEXT, action TEXT, next TEXT, step INTEGER, attempt INTEGER, endpoint TEXT, outcome TEXT,
        latency REAL, detail TEXT)""",
    "CREATE INDEX history_by_instance ON history (instance_id, seq)",
]
# the same for a PostgreSQL database (migration 7)
PG_SCHEMA_6_HISTORY = [
    "DROP TABLE goflow_history_chunks",
    "ALTER TABLE goflow_shards DROP COLUMN history_next",
    """CREATE TABLE goflow_history (seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, shard integer NOT NULL,
        instance_id text NOT NULL, time double precision NOT NULL, state text, event text, action text, next text,
        step bigint, attempt bigint, endpoint text, outcome text, latency double precision, detail text)""",
    "CREATE INDEX goflow_history_by_instance ON goflow_history (shard, instance_id, seq)",
    "DELETE FROM goflow_schema WHERE version = 7",
]
