"""SplitPool: the embedded worker proxy's calls, network ones in a call process, the rest in this one.

A job whose workers are all endpoints a call process can serve (``http``, ``https``, ``grpc``,
``grpcs`` with the transports the settings make: :meth:`goflow.transports.Registry.portable`) goes
to a :class:`~goflow.steps.process.CallProcess`; any other (``python://`` calls the program's own
functions, plugged-in transports) to a :class:`~goflow.steps.pool.CallPool` in this process. The
owner watches both descriptors::

    pool = SplitPool(settings, concurrency=100, registry=registry)
    for fd in pool.filenos(): ...                      # a WatchMessage when either is readable
    pool.submit([job, ...])
    for job, result in pool.drain(): ...               # non-blocking
    pool.close()                                       # joins the thread, reaps the child

Each side runs at most ``concurrency`` steps at once. If the call process dies or cannot start, the
jobs it had not answered and every later one go to the ``CallPool`` (logged once): slower, never lost.
:func:`embedded_pool` chooses by the ``workers.call_process`` setting.
"""
from __future__ import annotations

import logging
from typing import Iterable

from ..jobs import Job, StepResult
from ..transports.base import Registry
from .pool import CallPool
from .process import CallProcess, supported

__all__ = ["SplitPool", "embedded_pool"]

log = logging.getLogger("goflow.steps")


class SplitPool:
    """A :class:`CallPool` and a :class:`CallProcess` behind one ``submit``/``drain`` (see the module)."""

    def __init__(self, settings, concurrency: int = 100, *, registry: Registry, name: str = "goflow-calls"):
        self.registry = registry
        self.local = CallPool(concurrency, registry=registry, name=name)
        self.remote = CallProcess(settings, concurrency, name=name + "-process")

    def filenos(self) -> tuple[int, int]:
        return (self.local.fileno(), self.remote.fileno())

    @property
    def pending(self) -> int:
        return self.local.pending + self.remote.pending

    @property
    def process_pid(self) -> int | None:
        """The call process's pid once it was started, else None."""
        return self.remote.pid

    def remote_ok(self, job: Job) -> bool:
        """Whether ``job`` may go to the call process: every worker on a portable transport."""
        portable = self.registry.portable
        return bool(job.workers) and all(portable(w.endpoint) for w in job.workers)

    def submit(self, jobs: Iterable[Job]) -> int:
        here, there = [], []
        use_remote = self.remote.failed is None
        for job in jobs:
            (there if use_remote and self.remote_ok(job) else here).append(job)
        if there:
            self.remote.submit(there)
        if here:
            self.local.submit(here)
        return len(here) + len(there)

    def drain(self) -> list[tuple[Job, StepResult]]:
        results, orphans = self.remote.drain()
        if orphans:
            self.local.submit(orphans)
        results.extend(self.local.drain())
        return results

    def close(self) -> None:
        try:
            self.remote.close()
        finally:
            self.local.close()

    def __enter__(self) -> "SplitPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def embedded_pool(settings, concurrency: int, *, registry: Registry, name: str = "goflow-calls"):
    """The embedded worker proxy's calls: a :class:`SplitPool` when ``workers.call_process`` is on
    and the platform can (POSIX), else a :class:`CallPool`. Either has ``filenos()``."""
    if settings.workers.call_process and supported():
        return SplitPool(settings, concurrency, registry=registry, name=name)
    return CallPool(concurrency, registry=registry, name=name)
