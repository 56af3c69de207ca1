"""The durable store behind an interface (SPEC §6).

* :class:`InstanceStore` -- the interface the runtime uses: group commit of :class:`Change` batches,
  recovery (:meth:`~InstanceStore.unfinished`), queries, quarantine.
* :class:`SQLiteStore` -- the embedded implementation: one SQLite file (WAL) per instance host.
* :class:`Catalog` -- the deployed blueprints, one SQLite file per data directory.
* :class:`PostgresStore` / :class:`PostgresCatalog` -- the same in a PostgreSQL database, chosen by
  a ``postgresql://`` URL (``store.url``): every shard's rows and the catalog in one database.

Layout of a data directory::

    data_dir/catalog.sqlite        the catalog (written by the root/dispatcher)
    data_dir/shards/<n>.sqlite     the store of instance host n (written by that host only)
"""
from __future__ import annotations

import os
from pathlib import Path

from ..files import private_dir
from .base import (FINISHED_STATUSES, QUARANTINED, Change, CountKey, InstanceStore, StoredInstance,
                   Summary)
from .catalog import Catalog
from ._pg import is_postgres_url
from .sqlite import SCHEMA_VERSION, SQLiteStore

__all__ = [
    "InstanceStore", "Change", "StoredInstance", "Summary", "CountKey", "QUARANTINED",
    "FINISHED_STATUSES", "SQLiteStore", "SCHEMA_VERSION", "Catalog",
    "shard_path", "catalog_path", "open_shard", "open_catalog", "existing_shards", "is_postgres_url",
]


def __getattr__(name: str):
    # the PostgreSQL classes import psycopg: only when asked for
    if name == "PostgresStore":
        from .postgres import PostgresStore
        return PostgresStore
    if name == "PostgresCatalog":
        from .pg_catalog import PostgresCatalog
        return PostgresCatalog
    raise AttributeError(name)


def shard_path(data_dir: str | os.PathLike, n: int) -> Path:
    """``data_dir/shards/<n>.sqlite``."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"shard number must be an integer >= 0, not {n!r}")
    return Path(data_dir) / "shards" / f"{n}.sqlite"


def existing_shards(data_dir: str | os.PathLike, *, url: str | None = None) -> int:
    """How many shard stores ``data_dir`` (or the database at ``url``) already has (0 when new).

    Instances are routed to shards by a hash of their id modulo the shard count, so the count is
    fixed once a data directory holds shards.
    """
    if url:
        from .pg_catalog import PostgresCatalog
        with PostgresCatalog(url, readonly=True) as cat:
            return cat.shards()
    folder = Path(data_dir) / "shards"
    try:
        names = os.listdir(folder)
    except OSError:
        return 0
    found = [int(n[:-7]) for n in names if n.endswith(".sqlite") and n[:-7].isdigit()]
    return max(found) + 1 if found else 0


def catalog_path(data_dir: str | os.PathLike) -> Path:
    """``data_dir/catalog.sqlite``."""
    return Path(data_dir) / "catalog.sqlite"


def open_shard(data_dir: str | os.PathLike, n: int, *, synchronous: str = "normal",
               readonly: bool = False, timeout: float = 5.0, url: str | None = None,
               **pg_options) -> InstanceStore:
    """Open (creating it, unless ``readonly``) the store of shard ``n`` under ``data_dir`` -- or, with
    a ``postgresql://`` ``url``, shard ``n``'s rows in that database (``pg_options`` go to
    :class:`PostgresStore`)."""
    if url:
        from .postgres import PostgresStore
        return PostgresStore(_checked(url), n, readonly=readonly, **pg_options)
    path = shard_path(data_dir, n)
    if not readonly:
        private_dir(data_dir)
        private_dir(path.parent)
    return SQLiteStore(path, synchronous=synchronous, readonly=readonly, timeout=timeout)


def open_catalog(data_dir: str | os.PathLike, *, readonly: bool = False, url: str | None = None):
    """Open (creating it, unless ``readonly``) the catalog under ``data_dir`` (or in the database at
    ``url``)."""
    if url:
        from .pg_catalog import PostgresCatalog
        return PostgresCatalog(_checked(url), readonly=readonly)
    path = catalog_path(data_dir)
    if not readonly:
        private_dir(path.parent)
    return Catalog(path, readonly=readonly)



def _checked(url: str) -> str:
    from ..errors import StoreError
    if not is_postgres_url(url):
        raise StoreError(f"unsupported store URL {url.split('://', 1)[0]}://...: "
                         "use postgresql://user@host:port/database (or no URL: SQLite files in the data directory)")
    return url
