"""Supervision of a shard's instances (SPEC §6): each instance's cell and its restart.

An unexpected exception while applying an item to an instance (a crash of its
handler — e.g. a worker output that cannot be encoded) restarts that instance from its last committed
snapshot and retries the item; past ``intensity`` restarts within ``period`` seconds (OTP's defaults
here: 3 in 10 s) the instance is marked failed with the crash reason. Other instances are untouched.

Private to :mod:`goflow.shard`. Pure: no Thespian, no actors.
"""
from __future__ import annotations

import logging
from dataclasses import replace
from typing import Callable

from . import metrics
from .fsm import FAILED, FINAL_STATUSES, Instance
from .model import Blueprint
from .queues import NOTHING, Committed

log = logging.getLogger("goflow.shard")   # the shard's own log: a restart is the shard's event


class _Cell:
    """An instance's lightweight actor: its state, its supervision record and its queue rows as
    committed (:class:`goflow.queues.Committed`: what the next commit's queue rows are relative to)."""

    __slots__ = ("inst", "bp", "crashes", "snap", "queued")

    def __init__(self, inst: Instance, bp: Blueprint, snap: bytes | None = None,
                 queued: Committed = NOTHING):
        self.inst, self.bp, self.snap, self.queued = inst, bp, snap, queued
        self.crashes: list[float] = []


def _live(inst: Instance) -> bool:
    """Recovery reloads an instance that is not finished, or whose completion hook is in flight, or
    (a child) whose end its parent has not acknowledged yet."""
    return inst.status not in FINAL_STATUSES or inst.hook_step is not None or inst.notify


def restart(cell: _Cell, exc: Exception, now: float, staged: _Cell | None,
            stored: Callable[[str], _Cell | None], *, period: float, intensity: int) -> _Cell:
    """Restart a crashed instance from its last snapshot: the one staged by an earlier item of
    this batch (applied and acknowledged; committed with the batch), else the stored one (``stored``:
    the instance loaded from the store, snapshot and queue rows, as a cell; ``Shard._stored_cell``). Past
    ``intensity`` crashes within ``period`` seconds it is failed instead."""
    iid = cell.inst.id
    crashes = [t for t in cell.crashes if now - t < period] + [now]
    if staged is not None:
        base, queued = staged.inst, staged.queued
    else:
        loaded = stored(iid)
        base, queued = (loaded.inst, loaded.queued) if loaded is not None else (cell.inst, cell.queued)
    fresh = _Cell(base, cell.bp, queued=queued)
    fresh.crashes = crashes
    if len(crashes) > intensity:
        reason = (f"handler crashed {len(crashes)} times within {period:g}s "
                  f"(restart intensity {intensity}); last: {type(exc).__name__}: {exc}")
        log.error("instance.failed id=%s state=%s reason=%s", iid, base.state, reason)
        fresh.inst = replace(base, status=FAILED, reason=reason, pending=None, inbox=(), updated=now,
                             postponed=(), failed_action=base.pending.action if base.pending else None)
    else:
        metrics.restart("instance")
        log.warning("instance.restarted id=%s state=%s restart=%s error=%r", iid, base.state,
                    len(crashes), exc)
    return fresh
