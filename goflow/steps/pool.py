"""CallPool: worker steps run concurrently on one asyncio loop in a background thread.

The embedded worker proxy wraps it (the daemon's uses :class:`~goflow.steps.pump.LoopPump`, the same steps
without a thread); it stays Thespian-free::

    pool = CallPool(concurrency=100)
    pool.submit([job, ...])                            # goflow.jobs.Job; from any thread, returns at once
    ...                                                # watch pool.fileno() (ThespianWatch)
    for job, result in pool.drain():                   # non-blocking
        ...                                            # result is a goflow.jobs.StepResult
    pool.close()

At most ``concurrency`` steps run at once (that many consumer tasks share one queue); the rest wait
in submission order. Results go to a thread-safe queue, and one byte is written to a socketpair when
results are waiting and none was written since the last :meth:`drain` — so the read end
(:meth:`fileno`) is readable exactly while there may be results to drain. A step whose code fails
unexpectedly yields ``StepResult("error", None, (Record(outcome="internal-error"),))``, never a lost job.

:meth:`close` stops the loop and joins the thread; steps still in flight or queued are dropped
without results (worker steps are at-least-once: the runtime re-dispatches them on recovery). Sync
``python://`` callables run in the pool's own thread pool (at most ``min(concurrency, 64)`` threads).
"""
from __future__ import annotations

import asyncio
import logging
import queue
import random
import select
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Iterable

from .. import calls
from ..history import Record
from ..jobs import Job, StepResult
from ..model import ERROR
from ..transports.base import Registry, default_registry

__all__ = ["CallPool", "run_job", "step_kwargs"]

log = logging.getLogger("goflow.steps")


def step_kwargs(registry: Registry, sleep: Callable[[float], Any] | None, clock: Callable[[], float],
                rng: Callable[[], float]) -> dict[str, Any]:
    """The keyword arguments :func:`run_job` passes to :func:`goflow.calls.perform_step`."""
    kwargs: dict[str, Any] = {"registry": registry, "clock": clock, "rng": rng}
    if sleep is not None:
        kwargs["sleep"] = sleep
    return kwargs


async def run_job(job: Job, kwargs: dict[str, Any]) -> StepResult:
    """Perform ``job``; an unexpected failure gives ``error`` with an ``internal-error`` record."""
    try:
        return await calls.perform_step(job.request, job.workers, **kwargs)
    except asyncio.CancelledError:
        raise
    except BaseException as exc:  # noqa: BLE001 - every job gets a result; SystemExit never stops the runner
        log.exception("step %r failed inside the call pool", job.key)
        req = job.request if isinstance(job.request, dict) else {}
        return StepResult(ERROR, None, (Record(
            kwargs["clock"](), req.get("state"), None, req.get("action"), None, req.get("step"),
            None, None, "internal-error", 0.0, {"error": f"{type(exc).__name__}: {exc}"}),))


class CallPool:
    """A background event loop performing :func:`goflow.calls.perform_step` for submitted jobs."""

    def __init__(self, concurrency: int = 100, *, registry: Registry | None = None,
                 sleep: Callable[[float], Any] | None = None, clock: Callable[[], float] = time.time,
                 rng: Callable[[], float] = random.random, name: str = "goflow-calls"):
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.concurrency = concurrency
        self._registry = default_registry if registry is None else registry
        self._sleep, self._clock, self._rng = sleep, clock, rng
        self._results: "queue.SimpleQueue[tuple[Job, StepResult]]" = queue.SimpleQueue()
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._lock = threading.Lock()
        self._signalled = False
        self._pending = 0
        self._closed = False
        self._loop = asyncio.new_event_loop()
        self._sync_prefix = f"{name}-{id(self):x}-sync"
        self._executor = ThreadPoolExecutor(max_workers=min(concurrency, 64), thread_name_prefix=self._sync_prefix)
        self._loop.set_default_executor(self._executor)
        self._jobs: asyncio.Queue | None = None
        started = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(started,), name=name, daemon=True)
        self._thread.start()
        started.wait()

    # ------------------------------------------------------------------------------ caller's side
    def submit(self, jobs: Iterable[Job]) -> int:
        """Queue ``jobs`` (:class:`goflow.jobs.Job`); returns how many."""
        batch = list(jobs)
        if not batch:
            return 0
        with self._lock:
            if self._closed:
                raise RuntimeError("CallPool is closed")
            self._pending += len(batch)
        self._loop.call_soon_threadsafe(self._enqueue, batch)
        return len(batch)

    def fileno(self) -> int:
        """The read end of the readiness socket: readable while results may be waiting."""
        return self._rsock.fileno()

    @property
    def pending(self) -> int:
        """Jobs submitted whose result has not been queued yet."""
        return self._pending

    def filenos(self) -> tuple[int]:
        """:meth:`fileno` as :class:`~goflow.steps.split.SplitPool` gives its descriptors."""
        return (self.fileno(),)

    process_pid = None            # no process of its own (a SplitPool's is its call process)

    def drain(self) -> list[tuple[Job, StepResult]]:
        """Every result waiting, as ``(job, StepResult)``; never blocks."""
        with self._lock:
            self._signalled = False
            if self._rsock.fileno() >= 0:
                try:
                    while self._rsock.recv(4096):
                        pass
                except (BlockingIOError, InterruptedError):
                    pass
        out = []
        while True:
            try:
                out.append(self._results.get_nowait())
            except queue.Empty:
                return out

    def wait(self, timeout: float | None = None) -> list[tuple[Job, StepResult]]:
        """Block until results are waiting (or ``timeout`` seconds pass), then :meth:`drain`."""
        if self._rsock.fileno() >= 0:
            select.select([self._rsock], [], [], timeout)
        return self.drain()

    def close(self, timeout: float = 10.0) -> None:
        """Stop the loop (dropping steps in flight), close the transports' pools, join the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        try:
            self._loop.call_soon_threadsafe(self._loop.stop)
        except RuntimeError:       # the loop is already closed
            pass
        deadline = time.monotonic() + timeout
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("CallPool thread %s did not stop within %s s", self._thread.name, timeout)
        self._executor.shutdown(wait=False, cancel_futures=True)
        # join the sync callables' threads too (idle ones exit at once; a callable still running is
        # waited for until the deadline, then left behind with a warning rather than hanging close)
        for thread in threading.enumerate():
            if thread.name.startswith(self._sync_prefix) and thread is not threading.current_thread():
                thread.join(max(0.0, deadline - time.monotonic()))
                if thread.is_alive():
                    log.warning("CallPool sync thread %s still runs a callable after close", thread.name)
        with self._lock:
            self._rsock.close()
            self._wsock.close()

    def __enter__(self) -> "CallPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -------------------------------------------------------------------------------- loop's side
    def _run(self, started: threading.Event) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        self._jobs = asyncio.Queue()
        consumers = [loop.create_task(self._consume()) for _ in range(self.concurrency)]
        started.set()
        try:
            loop.run_forever()
        finally:
            for task in consumers:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*consumers, return_exceptions=True))
            loop.run_until_complete(self._registry.aclose())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()
            log.debug("CallPool %s stopped", threading.current_thread().name)

    def _enqueue(self, batch: list[Job]) -> None:
        for job in batch:
            self._jobs.put_nowait(job)

    async def _consume(self) -> None:
        kwargs = step_kwargs(self._registry, self._sleep, self._clock, self._rng)
        while True:
            job = await self._jobs.get()
            self._deliver(job, await run_job(job, kwargs))

    def _deliver(self, job: Job, result: StepResult) -> None:
        with self._lock:          # pending drops before the result can be drained (no window where both count it)
            self._pending -= 1
            self._results.put((job, result))
            if not self._signalled and not self._closed:
                self._signalled = True
                try:
                    self._wsock.send(b"\x01")
                except (BlockingIOError, InterruptedError):
                    pass   # the buffer is full: the read end is readable anyway
