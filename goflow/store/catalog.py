"""The catalog: every deployed blueprint version, as the JSON document it was deployed with.

One file (``data_dir/catalog.sqlite``, WAL mode) written by the root/dispatcher; hosts and query
tools may read it at the same time. A deployed version is immutable: saving the same document again
is a no-op, saving a different one under an existing version is refused.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time

from ..errors import StoreError
from ._catalog_reads import CatalogReads
from ._db import ensure_schema, errors_as_store_error, open_connection

__all__ = ["CATALOG_SCHEMA_VERSION", "CATALOG_APPLICATION_ID", "Catalog"]

log = logging.getLogger("goflow.store")

CATALOG_SCHEMA_VERSION = 1
CATALOG_APPLICATION_ID = 0x47464301  # "GFC\x01": a GoFlow catalog

_DDL = [
    """CREATE TABLE blueprints (
        project   TEXT    NOT NULL,
        activity  TEXT    NOT NULL,
        version   INTEGER NOT NULL CHECK (typeof(version) = 'integer'),
        document  TEXT    NOT NULL,
        saved     REAL    NOT NULL,
        PRIMARY KEY (project, activity, version)
    )""",
]


def _canonical(document: dict) -> str:
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class Catalog(CatalogReads):
    """Deployed blueprints keyed by ``(project, activity, version)``."""

    _TABLE, _P = "blueprints", "?"   # the read queries: CatalogReads

    def __init__(self, path: str | os.PathLike, *, synchronous: str = "full", readonly: bool = False,
                 timeout: float = 5.0):
        # Deployments are rare and must not be lost: the catalog syncs every commit by default.
        self.path = os.fspath(path)
        self.readonly = readonly
        self._lock = threading.RLock()
        self._conn = open_connection(self.path, readonly=readonly, synchronous=synchronous, timeout=timeout)
        try:
            ensure_schema(self._conn, self.path, kind="catalog", application_id=CATALOG_APPLICATION_ID,
                          version=CATALOG_SCHEMA_VERSION, ddl=_DDL, readonly=readonly)
        except BaseException:
            self._conn.close()
            raise
        self._closed = False

    def __repr__(self) -> str:
        return f"Catalog({self.path!r}, readonly={self.readonly})"

    def __enter__(self) -> "Catalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def save(self, project: str, activity: str, version: int, document: dict) -> bool:
        """Store a blueprint version. Returns True when it was new, False when the very same document
        was already saved; raises :class:`StoreError` when another document holds that version."""
        if self.readonly:
            raise StoreError("the catalog was opened read-only", self.path)
        if not isinstance(version, int) or isinstance(version, bool):
            raise StoreError(f"blueprint {project}/{activity}: version must be an integer, not {version!r}",
                             self.path)
        try:
            text = _canonical(document)
        except (TypeError, ValueError) as exc:
            raise StoreError(f"blueprint {project}/{activity} version {version} is not JSON: {exc}",
                             self.path) from exc
        which = f"blueprint {project}/{activity} version {version}"
        with self._lock, errors_as_store_error(self.path, f"saving {which}"):
            conn = self._live()
            conn.execute("BEGIN IMMEDIATE")
            try:
                row = conn.execute("SELECT document FROM blueprints WHERE project = ? AND activity = ?"
                                   " AND version = ?", (project, activity, version)).fetchone()
                if row is not None:
                    conn.execute("ROLLBACK")
                    if row[0] == text:
                        return False
                    raise StoreError(f"{which} is already deployed with a different document; "
                                     "deploy the change as a new version", self.path)
                conn.execute("INSERT INTO blueprints (project, activity, version, document, saved)"
                             " VALUES (?, ?, ?, ?, ?)", (project, activity, version, text, time.time()))
                conn.execute("COMMIT")
            except BaseException:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise
        log.info("catalog %s: saved %s", self.path, which)
        return True

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                with errors_as_store_error(self.path, "closing the catalog"):
                    self._conn.close()

    def _live(self):
        if self._closed:
            raise StoreError("the catalog is closed", self.path)
        return self._conn

    def _one(self, sql: str, args: tuple):
        with self._lock, errors_as_store_error(self.path, "reading the catalog"):
            return self._live().execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple) -> list:
        with self._lock, errors_as_store_error(self.path, "reading the catalog"):
            return self._live().execute(sql, args).fetchall()
