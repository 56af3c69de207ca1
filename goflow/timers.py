"""A timer wheel: many durable timers served by one wake-up.

Thespian's ``wakeupAfter`` has no cancel, so each host keeps one :class:`TimerWheel` for all its
instances and asks for a single wake-up at :meth:`TimerWheel.next_due`. Timers are *durable* because
their due time lives in the instance snapshot (``Pending.due``): after a restart the host re-arms them
from the snapshots, and an overdue one fires at once. Cancelling is lazy: a cancelled entry is dropped
when it comes due (and the FSM ignores a timer whose step is no longer pending anyway).
"""
from __future__ import annotations

import heapq

__all__ = ["TimerWheel"]


class TimerWheel:
    __slots__ = ("_heap", "_live")

    def __init__(self) -> None:
        self._heap: list[tuple[float, str, int]] = []
        self._live: dict[tuple[str, int], float] = {}

    def __len__(self) -> int:
        return len(self._live)

    def arm(self, instance_id: str, step: int, due: float) -> None:
        key = (instance_id, step)
        if self._live.get(key) == due:
            return
        self._live[key] = due
        heapq.heappush(self._heap, (due, instance_id, step))

    def cancel(self, instance_id: str, step: int) -> None:
        if self._live.pop((instance_id, step), None) is not None and len(self._heap) > 2 * len(self._live) + 1024:
            # mostly cancelled entries (instances passivated with their timer, SPEC §11): rebuilt, so
            # the heap follows the live timers, not every timer ever armed before its due time
            self._heap = [(due, iid, st) for (iid, st), due in self._live.items()]
            heapq.heapify(self._heap)

    def next_due(self) -> float | None:
        heap = self._heap
        while heap:
            due, iid, step = heap[0]
            if self._live.get((iid, step)) == due:
                return due
            heapq.heappop(heap)
        return None

    def pop_due(self, now: float) -> list[tuple[str, int]]:
        """Remove and return every live timer due at or before ``now``, earliest first."""
        fired = []
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, iid, step = heapq.heappop(heap)
            if self._live.get((iid, step)) == due:
                del self._live[(iid, step)]
                fired.append((iid, step))
        return fired
