"""Requests an :class:`actors.api.Engine` sends without waiting for their answers: for a client that
keeps many requests held by the hosts at once (``actors.watch_hub``: one ``Watch`` per stream), which
the Engine's request/reply exchange (:mod:`actors._exchange`) would wait on one at a time, and drop
the answers of the others. A mixin of the Engine (its ``_asys``, ``_dispatcher``, ``_lock``, ``_rids``,
``client``).
"""
from __future__ import annotations

from typing import Any, Sequence

from thespian.actors import PoisonMessage

from goflow.errors import RequestFailed, RuntimeUnavailable
from goflow.requests import Item

from .messages import Batch, Replies

__all__ = ["Posting"]


class Posting:
    def post(self, items: Sequence[Item]) -> int:
        """Send one batch (at most ``client.batch_items`` items) without waiting; returns its request id,
        which :meth:`collect` gives back with the batch's results."""
        rid = next(self._rids)
        with self._lock:
            if self._asys is None:
                raise RuntimeUnavailable("the engine is closed")
            self._asys.tell(self._dispatcher, Batch(rid, list(items)[:self.client.batch_items]))
        return rid

    def collect(self, timeout: float) -> tuple[int, list[tuple[int, bool, Any]]] | None:
        """The next results of :meth:`post` ed batches as ``(rid, [(item index, ok, value), ...])``
        (a batch's results may come in several parts), or None when nothing came within ``timeout``."""
        with self._lock:
            if self._asys is None:
                raise RuntimeUnavailable("the engine is closed")
            reply = self._asys.listen(timeout)
        if isinstance(reply, Replies):
            return reply.rid, [(r.token, r.ok, r.value) for r in reply.replies]
        if isinstance(reply, PoisonMessage) and isinstance(reply.poisonMessage, Batch):
            batch = reply.poisonMessage
            failed = RequestFailed("Batch", reply.details)
            return batch.rid, [(i, False, failed) for i in range(len(batch.items))]
        return None
