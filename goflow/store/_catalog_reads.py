"""The read queries of a blueprint catalog, the same for SQLite (:class:`~goflow.store.catalog.Catalog`)
and PostgreSQL (:class:`~goflow.store.pg_catalog.PostgresCatalog`): each class names its table and
its parameter marker and runs the statements with its own ``_one``/``_all``."""
from __future__ import annotations

import json
from typing import Any


class CatalogReads:
    """``get``, ``all`` and ``latest_versions`` over the table ``_TABLE`` (``_P``: ``?`` or ``%s``)."""

    _TABLE = "blueprints"
    _P = "?"

    def get(self, project: str, activity: str, version: int | None = None) -> dict[str, Any] | None:
        """The document of that version (the latest version when ``version`` is None), or None."""
        t, p = self._TABLE, self._P
        if version is None:
            row = self._one(f"SELECT document FROM {t} WHERE project = {p} AND activity = {p}"
                            " ORDER BY version DESC LIMIT 1", (project, activity))
        else:
            row = self._one(f"SELECT document FROM {t} WHERE project = {p} AND activity = {p}"
                            f" AND version = {p}", (project, activity, version))
        return None if row is None else json.loads(row[0])

    def all(self) -> list[tuple[str, str, int, dict[str, Any]]]:
        """Every saved version, ordered by project, activity, version."""
        rows = self._all(f"SELECT project, activity, version, document FROM {self._TABLE}"
                         " ORDER BY project, activity, version", ())
        return [(p, a, v, json.loads(d)) for p, a, v, d in rows]

    def latest_versions(self) -> dict[tuple[str, str], int]:
        """The highest saved version of each ``(project, activity)``."""
        rows = self._all(f"SELECT project, activity, max(version) FROM {self._TABLE}"
                         " GROUP BY project, activity ORDER BY project, activity", ())
        return {(p, a): v for p, a, v in rows}
