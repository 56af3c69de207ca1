"""LoopPump: worker steps on an asyncio loop that its owner runs in its own thread, a bit at a time.

:class:`~goflow.steps.pool.CallPool` runs its loop in a thread of its own; handing jobs to
that thread and results back costs GIL hand-offs between two busy threads. A ``LoopPump`` has no
thread: the owner (an actor that can watch file descriptors) watches :meth:`fileno` — the loop's
selector, readable while a socket the loop waits on is ready or another thread woke the loop — and
calls :meth:`pump` whenever it runs::

    pump = LoopPump(concurrency=100)
    pump.submit([job, ...])                            # goflow.jobs.Job; the owner's thread only
    for job, result in pump.pump():                    # runs what is ready, never blocks
        ...
    delay = pump.next_timer()                          # seconds until a timer is due (None: no timer)
    ...                                                # wait until fileno() is readable or delay passes
    pump.close()

:meth:`pump` runs loop iterations without blocking while callbacks are ready (at most
``max_rounds``; if some are still ready then, it wakes the loop's self-pipe so :meth:`fileno` stays
readable). The owner must call it again when :meth:`fileno` is readable and once :meth:`next_timer`
seconds have passed (timeouts, retry backoff). Sync ``python://`` callables run in the loop's thread
pool; their completion wakes the loop's self-pipe, so :meth:`fileno` becomes readable. Semantics are
CallPool's: at most ``concurrency`` steps at once, submission order, every job gets a result, steps
in flight at :meth:`close` are dropped.

It reads two attributes of CPython's ``asyncio.BaseEventLoop`` (``_ready``, ``_scheduled``) that
have been stable since Python 3.4; nothing here imports Thespian.
"""
from __future__ import annotations

import asyncio
import random
import selectors
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from ..jobs import Job, StepResult
from ..transports.base import Registry, default_registry
from .pool import run_job, step_kwargs

__all__ = ["LoopPump"]


class LoopPump:
    """An event loop performing :func:`goflow.calls.perform_step` for submitted jobs, run by :meth:`pump`."""

    def __init__(self, concurrency: int = 100, *, registry: Registry | None = None,
                 sleep: Callable[[float], Any] | None = None, clock: Callable[[], float] = time.time,
                 rng: Callable[[], float] = random.random, name: str = "goflow-calls", max_rounds: int = 64):
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.concurrency, self.max_rounds = concurrency, max_rounds
        self._registry = default_registry if registry is None else registry
        self._kwargs = step_kwargs(self._registry, sleep, clock, rng)
        self._selector = selectors.DefaultSelector()
        self._loop = asyncio.SelectorEventLoop(self._selector)
        self._executor = ThreadPoolExecutor(max_workers=min(concurrency, 64), thread_name_prefix=name + "-sync")
        self._loop.set_default_executor(self._executor)
        self._jobs: asyncio.Queue = asyncio.Queue()
        self._results: list = []
        self._pending = 0
        self._consumers = [self._loop.create_task(self._consume()) for _ in range(concurrency)]
        self._closed = False

    @property
    def pending(self) -> int:
        """Jobs submitted whose result has not been returned by :meth:`pump` yet."""
        return self._pending

    def fileno(self) -> int:
        """The loop's selector (an epoll/kqueue fd): readable while the loop has something to do."""
        return self._selector.fileno()

    def submit(self, jobs: Iterable[Job]) -> int:
        """Queue ``jobs`` (:class:`goflow.jobs.Job`); they start at the next :meth:`pump`."""
        if self._closed:
            raise RuntimeError("LoopPump is closed")
        n = 0
        for job in jobs:
            self._jobs.put_nowait(job)
            n += 1
        self._pending += n
        return n

    def pump(self) -> list[tuple[Job, StepResult]]:
        """Run the loop while callbacks are ready (never blocking); every result finished so far."""
        loop = self._loop
        if not self._closed:
            for _ in range(self.max_rounds):
                loop.call_soon(loop.stop)
                loop.run_forever()        # one iteration: select(0), due timers, the ready callbacks
                if not loop._ready:
                    break
            else:
                loop._write_to_self()     # still busy: keep fileno() readable so the owner comes back
        out, self._results = self._results, []
        self._pending -= len(out)
        return out

    def next_timer(self) -> float | None:
        """Seconds until the loop's next timer is due (0 if callbacks are ready), None without timers."""
        loop = self._loop
        if loop._ready:
            return 0.0
        scheduled = loop._scheduled
        if not scheduled:
            return None
        return max(0.0, scheduled[0].when() - loop.time())

    def close(self) -> None:
        """Cancel the steps (dropped without results), close the transports' pools and the loop."""
        if self._closed:
            return
        self._closed = True
        loop = self._loop
        try:
            for task in self._consumers:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*self._consumers, return_exceptions=True))
            loop.run_until_complete(self._registry.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            self._executor.shutdown(wait=False, cancel_futures=True)
            loop.close()

    def __enter__(self) -> "LoopPump":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    async def _consume(self) -> None:
        while True:
            job = await self._jobs.get()
            result = await run_job(job, self._kwargs)
            self._results.append((job, result))        # after the await: pump() swaps the list
