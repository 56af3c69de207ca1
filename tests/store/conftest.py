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
