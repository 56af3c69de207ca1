"""A shard's waiters: the :class:`goflow.requests.Wait` and :class:`goflow.requests.Watch` requests
it holds until an instance commits, and its answer to a Watch: the history records committed after
a watcher's position, read from the store, or nothing yet (the shard then holds the watch in its
``waiters`` and looks again when that instance commits; no timer).

The position is ``(after, skip)``: the records after the record keyed ``after`` (None: from the
first), less the first ``skip`` (already sent). The history is append-only, so the records after a key
are always the same ones, in the same order; keys come from the store's keyset pages
(:meth:`goflow.store.base.InstanceStore.history_page`), so every look costs one page of at most
``limit + skip`` rows, wherever the position is.

Private to :mod:`goflow.shard`. Pure: no Thespian, no actors.
"""
from __future__ import annotations

from typing import Callable

from ._shard_cells import _live
from .errors import GoflowError, InstanceNotFound
from .fsm import Instance
from .requests import Item, Reply, Watch

__all__ = ["page", "answer", "hold", "watch", "wake"]


def page(store, iid: str, watch: Watch) -> tuple[list, int | None, int, bool]:
    """``(records, after, skip, more)``: the records after the watch's position (at most
    ``watch.limit``), the position that follows them, and whether more records follow already."""
    after, skip = watch.after, max(watch.skip, 0)
    limit = max(watch.limit, 1)
    while True:
        records, nxt = store.history_page(iid, limit, order="oldest", after=after)
        if nxt is not None and skip >= len(records):
            after, skip = nxt, skip - len(records)       # a late watcher's position: page on to it
            continue
        new = records[skip:]
        if nxt is not None:
            return new, nxt, 0, True
        return new, after, len(records), False


def answer(store, iid: str, watch: Watch, live: bool, status: str | None, state: str | None) -> dict | None:
    """The reply to ``watch`` now: the new records (as dicts) and the next position, when there are
    new records or the instance is not ``live`` (nothing more can come); None: nothing yet."""
    records, after, skip, more = page(store, iid, watch)
    if not records and live:
        return None
    return {"id": iid, "records": [r.to_dict() for r in records], "after": after, "skip": skip,
            "more": more, "live": live, "status": status, "state": state}


def hold(waiters: dict, iid: str, token, request) -> None:
    """Keep ``request`` (a Wait or a Watch) in ``waiters`` until ``iid`` commits; a Watch replaces a
    Watch of the same key held for that instance."""
    held = waiters.setdefault(iid, [])
    key = getattr(request, "key", None)
    if key is not None:
        held[:] = [(t, w) for t, w in held if not (isinstance(w, Watch) and w.key == key)]
    held.append((token, request))


def watch(store, cells: dict, waiters: dict, item: Item, req: Watch, staged: dict) -> list[Reply]:
    """A Watch item: its reply from the committed history (``[]``: held until the instance commits;
    held at once when the instance changed earlier in this batch, whose records are not committed yet)."""
    iid = item.instance
    value = None
    if iid not in staged:
        cell = cells.get(iid)
        if cell is not None:
            value = answer(store, iid, req, _live(cell.inst), cell.inst.status, cell.inst.state)
        else:                               # not live here: ended, quarantined or unknown
            row = store.get(iid)
            if row is None:
                raise InstanceNotFound(iid)
            value = answer(store, iid, req, False, row.status, row.state)
    if value is None:
        hold(waiters, iid, item.token, req)
        return []
    return [Reply(item.token, True, value)]


def wake(store, waiters: dict, staged: dict, view: Callable[[Instance], dict]) -> list[Reply]:
    """After a commit: the replies to the waits held for the instances it changed whose condition now
    holds (a Wait: ``view`` of the instance; a Watch: the records the commit added); the others stay."""
    replies = []
    for iid in staged.keys() & waiters.keys():
        inst = staged[iid].inst
        waiting = []
        for token, wait in waiters.pop(iid):
            try:
                if isinstance(wait, Watch):
                    value = answer(store, iid, wait, _live(inst), inst.status, inst.state)
                else:
                    value = view(inst) if wait.holds(inst) else None
            except Exception as exc:  # noqa: BLE001 - the waiter hears why; the batch is committed
                replies.append(Reply(token, False, exc if isinstance(exc, GoflowError) else GoflowError(
                    f"answering a wait on instance {iid!r} failed: {exc}")))
                continue
            if value is None:
                waiting.append((token, wait))
            else:
                replies.append(Reply(token, True, value))
        if waiting:
            waiters[iid] = waiting
    return replies
