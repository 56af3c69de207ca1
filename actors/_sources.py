"""What the blueprint sources given to an :class:`actors.api.Engine` (``embedded``, ``deploy``,
``start_daemon``) mean: paths of files or directories, documents, or Blueprint objects, each loaded
and validated once, here, in the caller's process.
"""
from __future__ import annotations

from pathlib import Path

from goflow.errors import BlueprintError
from goflow.ids import check_id
from goflow.loading import blueprint_from_document, blueprint_to_document, load_paths
from goflow.model import Blueprint


def _blueprints(sources) -> list[Blueprint]:
    """The blueprints of ``sources``, each loaded and validated once, here: paths (files or
    directories) and documents through :mod:`goflow.loading`; Blueprint objects as they are (they are
    the loader's output; their names are checked here, as the loader checks a document's: SPEC §12).
    Raises :class:`BlueprintError` with every problem found, :class:`InvalidIdentifier` for a
    Blueprint object whose project or activity is not an identifier."""
    bps: list[Blueprint] = []
    paths = []
    for src in sources:
        if isinstance(src, Blueprint):
            check_id(src.project, "blueprint project")
            check_id(src.activity, "blueprint activity")
            bps.append(src)
        elif isinstance(src, dict):
            bps.append(blueprint_from_document(src))
        else:
            paths.append(Path(src))
    if paths:
        result = load_paths(paths)
        if not result.ok:
            raise BlueprintError(result.problems)
        bps.extend(result.blueprints)
    return bps


def _documents(sources) -> list[dict]:
    """The documents of ``sources`` (see :func:`_blueprints`): what a daemon's launcher process is
    given in its configuration file."""
    return [blueprint_to_document(bp) for bp in _blueprints(sources)]
