"""How many result batches a worker proxy lets each host have unacknowledged (pure; no Thespian).

Thespian's TCP transport carries one message at a time to a given actor and waits for the
receiver's acknowledgement before it starts the next; the receiver acknowledges only when its
actor thread runs the transport loop again. A proxy that sent a ``HostBatch`` at every flush (every
2 ms under load) queued them in that transport faster than host and proxy took turns to move them:
under load the batches and the host's ``Jobs`` answers spent seconds queued, most instances sat
there instead of in the proxy's call slots, and each queued batch still cost its own host commit.

So a proxy keeps at most :data:`WINDOW` batches per host that the host has not yet acknowledged
(the host says which batch it handled in the ``Jobs`` it sends back, ``Jobs.done``); results for a
host whose window is full wait in the proxy's outbox and leave together, as one batch, once an
acknowledgement comes. A batch unacknowledged for :data:`STALL` seconds (a restarted host, a lost
message) no longer counts, so nothing waits for ever.
"""
from __future__ import annotations

__all__ = ["SendWindow", "WINDOW", "STALL"]

WINDOW = 1      # batches per host in transit or being handled; the next ones gather in the outbox
STALL = 2.0     # seconds after which an unacknowledged batch stops counting


class SendWindow:
    """Batches sent and not yet acknowledged, per host key (``str`` of its address)."""

    def __init__(self, size: int = WINDOW, stall: float = STALL):
        if size < 1:
            raise ValueError(f"window size must be at least 1, not {size}")
        self.size, self.stall = size, stall
        self._open: dict[str, list[tuple[int, float]]] = {}    # host -> [(sequence number, sent at)]
        self._seq = 0

    def may_send(self, host: str, now: float) -> bool:
        """Whether a batch may go to ``host`` now (batches older than ``stall`` are forgotten)."""
        sent = self._open.get(host)
        if not sent:
            return True
        if now - sent[0][1] >= self.stall:
            sent[:] = [(n, t) for n, t in sent if now - t < self.stall]
        return len(sent) < self.size

    def sent(self, host: str, now: float) -> int:
        """Record a batch sent to ``host`` at ``now``; its sequence number (never 0)."""
        self._seq += 1
        self._open.setdefault(host, []).append((self._seq, now))
        return self._seq

    def acked(self, host: str, seq: int) -> None:
        """``host`` has handled batch ``seq`` (unknown numbers are ignored)."""
        sent = self._open.get(host)
        if sent:
            sent[:] = [(n, t) for n, t in sent if n != seq]
            if not sent:
                del self._open[host]

    def unacked(self, host: str) -> int:
        return len(self._open.get(host, ()))

    def next_expiry(self) -> float | None:
        """When the oldest unacknowledged batch stops counting (None: nothing unacknowledged)."""
        oldest = [sent[0][1] for sent in self._open.values() if sent]
        return min(oldest) + self.stall if oldest else None
