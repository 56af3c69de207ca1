"""Fixtures of the store tests: real SQLite files under tmp_path."""
from __future__ import annotations

import pytest

from goflow.store import SQLiteStore

from store_support import make_change


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


@pytest.fixture(params=["sqlite", "postgres"])
def either(request, tmp_path):
    """(store, reopen): an open store of each kind, and how to open it again (a new handle on the same
    data; ``readonly=`` passed on)."""
    if request.param == "sqlite":
        path = tmp_path / "shards" / "0.sqlite"
        reopen = lambda **kw: SQLiteStore(path, **kw)  # noqa: E731
    else:
        from goflow.store import PostgresStore
        url = request.getfixturevalue("pg_url")
        reopen = lambda **kw: PostgresStore(url, 0, **kw)  # noqa: E731
    s = reopen()
    yield s, reopen
    s.close()
