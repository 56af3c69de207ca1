"""The catalog in PostgreSQL (table ``goflow_blueprints`` of the store's database): the same API and
rules as :class:`goflow.store.Catalog` -- a deployed version is immutable."""
from __future__ import annotations

import logging
import threading
import time

from ..errors import StoreError
from ._catalog_reads import CatalogReads
from ._pg import check_schema, connect, errors_as_store_error, redact
from .catalog import _canonical

__all__ = ["PostgresCatalog"]

log = logging.getLogger("goflow.store")


class PostgresCatalog(CatalogReads):
    """Deployed blueprints keyed by ``(project, activity, version)``, in PostgreSQL."""

    _TABLE, _P = "goflow_blueprints", "%s"   # the read queries: CatalogReads

    def __init__(self, url: str, *, readonly: bool = False, connect_timeout: float = 10.0):
        self.url, self.readonly = url, readonly
        self.path = f"{redact(url)}#catalog"
        self._lock = threading.RLock()
        # Deployments are rare and must not be lost: always synchronous_commit=on.
        self._conn = connect(url, what="connecting the catalog", connect_timeout=connect_timeout,
                             synchronous_commit="on", application_name="goflow-catalog")
        try:
            check_schema(self._conn, self.path)
        except BaseException:
            self._conn.close()
            raise
        self._closed = False

    def __repr__(self) -> str:
        return f"PostgresCatalog({self.path!r}, readonly={self.readonly})"

    def __enter__(self) -> "PostgresCatalog":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def save(self, project: str, activity: str, version: int, document: dict) -> bool:
        """True when it was new, False when the very same document was saved already; StoreError
        when another document holds that version."""
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
            with conn.transaction():
                inserted = conn.execute(
                    "INSERT INTO goflow_blueprints (project, activity, version, document, saved)"
                    " VALUES (%s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
                    (project, activity, version, text, time.time())).rowcount
                if not inserted:
                    row = conn.execute("SELECT document FROM goflow_blueprints WHERE project = %s AND"
                                       " activity = %s AND version = %s", (project, activity, version)).fetchone()
                    if row[0] == text:
                        return False
                    raise StoreError(f"{which} is already deployed with a different document; "
                                     "deploy the change as a new version", self.path)
        log.info("catalog %s: saved %s", self.path, which)
        return True

    def shards(self) -> int:
        """How many shards the database holds rows for (0 for a new database): the shard count is
        fixed once instances are routed to them."""
        row = self._one("SELECT coalesce(max(shard) + 1, 0) FROM goflow_shards", ())
        return int(row[0])

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._conn.close()

    def _live(self):
        if self._closed:
            raise StoreError("the catalog is closed", self.path)
        if self._conn.closed or self._conn.broken:   # the server restarted since: connect again
            self._conn = connect(self.url, what="reconnecting the catalog", synchronous_commit="on",
                                 application_name="goflow-catalog")
        return self._conn

    def _one(self, sql: str, args: tuple):
        with self._lock, errors_as_store_error(self.path, "reading the catalog"):
            return self._live().execute(sql, args).fetchone()

    def _all(self, sql: str, args: tuple) -> list:
        with self._lock, errors_as_store_error(self.path, "reading the catalog"):
            return self._live().execute(sql, args).fetchall()
