"""The catalog of deployed blueprints, on a real file."""
from __future__ import annotations

import sqlite3

import pytest

from goflow.errors import StoreError
from goflow.store import Catalog, SQLiteStore, catalog_path, open_catalog
from goflow.store.catalog import CATALOG_SCHEMA_VERSION

FLOW = {"project": "p", "activity": "a", "states": ["s1"],
        "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "s1"}]}


def test_save_get_latest_all(tmp_path):
    with open_catalog(tmp_path) as cat:
        assert cat.save("p", "a", 1, FLOW) is True
        assert cat.save("p", "a", 2, {**FLOW, "version": 2}) is True
        assert cat.save("p", "b", 1, {"x": "é"}) is True
        assert cat.get("p", "a") == {**FLOW, "version": 2}
        assert cat.get("p", "a", 1) == FLOW
        assert cat.get("p", "a", 3) is None and cat.get("q", "a") is None
        assert [(p, a, v) for p, a, v, _ in cat.all()] == [("p", "a", 1), ("p", "a", 2), ("p", "b", 1)]
        assert cat.all()[2][3] == {"x": "é"}
        assert cat.latest_versions() == {("p", "a"): 2, ("p", "b"): 1}
    assert catalog_path(tmp_path).is_file()


def test_versions_are_immutable(tmp_path):
    with Catalog(tmp_path / "catalog.sqlite") as cat:
        cat.save("p", "a", 1, FLOW)
        # the same document again (keys in another order) is a no-op
        assert cat.save("p", "a", 1, dict(reversed(list(FLOW.items())))) is False
        with pytest.raises(StoreError, match="p/a version 1 is already deployed with a different document"):
            cat.save("p", "a", 1, {**FLOW, "states": ["s1", "s2"]})
        assert cat.get("p", "a", 1) == FLOW
        with pytest.raises(StoreError, match="version must be an integer"):
            cat.save("p", "a", "2", FLOW)  # type: ignore[arg-type]
        with pytest.raises(StoreError, match="not JSON"):
            cat.save("p", "a", 3, {"bad": object()})
        assert cat.latest_versions() == {("p", "a"): 1}


def test_reopen_and_readonly(tmp_path):
    path = tmp_path / "catalog.sqlite"
    with Catalog(path) as cat:
        cat.save("p", "a", 1, FLOW)
        with Catalog(path, readonly=True) as reader:  # a reader while the writer has it open
            assert reader.get("p", "a") == FLOW
            with pytest.raises(StoreError, match="read-only"):
                reader.save("p", "a", 2, FLOW)
    with Catalog(path) as again:
        assert again.all() == [("p", "a", 1, FLOW)]
    with pytest.raises(StoreError, match="closed"):
        again.get("p", "a")


def test_newer_schema_and_wrong_kind_refused(tmp_path):
    path = tmp_path / "catalog.sqlite"
    Catalog(path).close()
    raw = sqlite3.connect(path)
    raw.execute(f"PRAGMA user_version={CATALOG_SCHEMA_VERSION + 5}")
    raw.close()
    with pytest.raises(StoreError, match="newer") as info:
        Catalog(path)
    assert info.value.path == str(path)
    # a shard store is not a catalog, and the other way round
    shard = tmp_path / "0.sqlite"
    SQLiteStore(shard).close()
    with pytest.raises(StoreError, match="not a GoFlow catalog"):
        Catalog(shard)
    Catalog(tmp_path / "c2.sqlite").close()
    with pytest.raises(StoreError, match="not a GoFlow shard store"):
        SQLiteStore(tmp_path / "c2.sqlite")


def test_missing_catalog_readonly(tmp_path):
    with pytest.raises(StoreError, match="no such store file"):
        open_catalog(tmp_path / "nowhere", readonly=True)
