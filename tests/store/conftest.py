"""Fixtures of the store tests: real SQLite files under tmp_path."""
from __future__ import annotations

import pytest

from goflow.history import Record
from goflow.store import Change, SQLiteStore


def make_change(iid: str, *, status: str = "running", state: str = "s1", project: str = "p",
                activity: str = "a", version: int = 1, snapshot=b"snap", records=None,
                created: float = 1.0, updated: float = 1.0, reason=None) -> Change:
    if records is None:
        records = [Record(time=updated, state="init", event="start", action="call", next=state, step=1,
                          outcome="applied", detail={"id": iid})]
    return Change(iid, project, activity, version, status, state, snapshot, records, created, updated, reason)


@pytest.fixture
def change():
    """Factory of a Change with one record (keywords override fields)."""
    return make_change


@pytest.fixture
def store_path(tmp_path):
    return tmp_path / "shards" / "0.sqlite"


@pytest.fixture
def store(store_path):
    s = SQLiteStore(store_path)
    yield s
    s.close()
