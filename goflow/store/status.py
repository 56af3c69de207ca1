"""Whether each shard's store is reachable, as files in the data directory that any process can read.

A host whose store becomes unavailable (a PostgreSQL server restarting, a dropped connection) is
blocked retrying its commit; it cannot answer messages meanwhile. So it leaves a file,
``<data_dir>/store-unavailable.<shard>`` (the error inside), which ``/health`` reads, and removes it
once the store answers again.
"""
from __future__ import annotations

import os
from pathlib import Path

from ..files import write_atomic

__all__ = ["mark", "unavailable"]

PREFIX = "store-unavailable."


def mark(data_dir: str | os.PathLike, shard: int, available: bool, error: str | None = None) -> None:
    path = Path(data_dir) / f"{PREFIX}{shard}"
    if available:
        try:
            path.unlink()
        except FileNotFoundError:
            pass
    else:
        write_atomic(path, (error or "unavailable") + "\n")


def unavailable(data_dir: str | os.PathLike) -> dict[int, str]:
    """``{shard: error}`` of the shards whose store is unavailable now."""
    out: dict[int, str] = {}
    try:
        names = os.listdir(data_dir)
    except OSError:
        return out
    for name in names:
        if name.startswith(PREFIX) and name[len(PREFIX):].isdigit():
            try:
                out[int(name[len(PREFIX):])] = (Path(data_dir) / name).read_text().strip()
            except OSError:
                continue
    return out
