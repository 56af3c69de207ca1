"""Helpers of the store tests (a module of its own name: ``conftest`` is ambiguous across test
directories)."""
from __future__ import annotations

from goflow.history import Record
from goflow.store import Change


def make_change(iid: str, *, status: str = "running", state: str = "s1", project: str = "p",
                activity: str = "a", version: int = 1, snapshot=b"snap", records=None,
                created: float = 1.0, updated: float = 1.0, reason=None, parent=None, live=None, due=None,
                inflight=None) -> Change:
    if records is None:
        records = [Record(time=updated, state="init", event="start", action="call", next=state, step=1,
                          outcome="applied", detail={"id": iid})]
    return Change(iid, project, activity, version, status, state, snapshot, records, created, updated, reason,
                  live, parent=parent, due=due, inflight=inflight)
