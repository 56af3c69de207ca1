"""What an :class:`actors.api.Engine` reads: an instance's status and history, the instances listed
and counted, the deployed blueprints, the processes and the engine itself. Each is one ``Query`` to
the dispatcher; history and list answer one page each, with the cursors of :mod:`goflow.paging`
(whose ``every`` reads all the pages). A mixin of the Engine (its ``_query``).
"""
from __future__ import annotations

from goflow.fsm import FINAL_STATUSES
from goflow.ids import check_blueprint, check_id
from goflow.paging import (DEFAULT_LIMIT, HISTORY, LIST, Page, check_limit, check_order,
                           decode_cursor, decode_positioned, encode_cursor, encode_positioned,
                           record_positions)

__all__ = ["Reading"]


class Reading:
    def status(self, instance_id: str) -> dict:
        return self._query("status", id=check_id(instance_id))

    def history(self, instance_id: str, limit: int = DEFAULT_LIMIT, *, order: str = "oldest",
                cursor: str | None = None, positions: bool = False) -> Page:
        """One page of the instance's records as dicts, in ``order``: ``"oldest"`` first (the default
        here) or ``"latest"`` first; ``limit`` records at most (1 to 1,000, default 50: SPEC §12, as
        the HTTP and gRPC APIs). A :class:`goflow.paging.Page` (a list) whose ``next`` is the cursor of
        the following page, or ``None`` at the end; pass it back as ``cursor`` with the same
        ``order``. Every record: ``goflow.paging.every(engine.history, instance_id)``.
        ``positions``: each record also has its ``position`` (its index in the history, oldest first,
        from 0) and the cursors carry it (``h<seq>~<position>``, a plain ``h<seq>`` accepted:
        goflow.paging), as the gRPC API's."""
        check_id(instance_id)
        check_order(order)
        size = check_limit(limit)
        after, position = (None, None) if cursor is None else \
            decode_positioned(cursor) if positions else (decode_cursor(HISTORY, cursor), None)
        # with positions, the store counts the older records only where no cursor says the position
        count = positions and position is None and (after is not None or order == "latest")
        records, after, *older = self._query("history", id=instance_id, limit=size, order=order, after=after,
                                             **({"older": True} if count else {}))
        page = Page(r.to_dict() for r in records)
        if positions:
            for rec, n in zip(page, record_positions(order, len(page), position, (older or [None])[0])):
                rec["position"] = position = n
        if after is not None:
            page.next = encode_positioned(after, position) if positions else encode_cursor(HISTORY, after)
        return page

    def list(self, blueprint: str | None = None, status: str | None = None, *,
             limit: int = DEFAULT_LIMIT, order: str = "latest", cursor: str | None = None,
             end_state: str | None = None, parent: str | None = None) -> Page:
        """One page of instances (dicts without context) of a blueprint, status and ``end_state``
        (ended in that end state, ``done`` included), ordered by creation: ``"latest"`` first (the
        default) or ``"oldest"`` first. ``limit`` (1 to 1,000, default 50) and the ``next`` cursor as
        :meth:`history`; every instance: ``goflow.paging.every(engine.list, ...)``. (With
        ``end_state``, a page may hold fewer than ``limit``: the instances in that state that have
        not ended are left out.) ``parent``: the child instances of that instance (SPEC §8)."""
        project, activity = check_blueprint(blueprint) if blueprint else (None, None)
        check_order(order)
        size = check_limit(limit)
        after = None if cursor is None else decode_cursor(LIST, cursor)
        extra = {"end_state": end_state} if end_state else {}
        if parent is not None:
            extra["parent"] = check_id(parent, "parent id")
        rows = self._query("list", project=project, activity=activity, status=status, limit=size + 1,
                           order=order, after=after, **extra)
        more = len(rows) > size
        rows = rows[:size]
        page = Page({f: getattr(r, f) for f in r.__slots__} for r in rows
                    if not end_state or r.status in FINAL_STATUSES)
        if more:
            page.next = encode_cursor(LIST, (rows[-1].created, rows[-1].id))
        return page

    def counts(self, blueprint: str | None = None) -> dict:
        """``{(project, activity, version, status): n}``."""
        project, activity = check_blueprint(blueprint) if blueprint else (None, None)
        return self._query("counts", project=project, activity=activity)

    def blueprints(self) -> list[tuple]:
        """``(project, activity, version, document)`` of every deployed blueprint, as the hosts run
        them (the documents carry worker endpoints and headers: secrets; redact before showing)."""
        return [tuple(b) for b in self._query("blueprints")]

    def pids(self) -> dict:
        """Process ids of the actor system's processes (admin, root, dispatcher, hosts, proxies)."""
        return self._query("pids")

    def info(self) -> dict:
        """Which engine this is: ``{"data_dir": <its absolute data directory>, "shards": <hosts>}``."""
        return self._query("info")
