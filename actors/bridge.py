"""The engine bridge and the event batcher: how an asyncio front-end (the HTTP API today, the gRPC
server next) reaches the daemon. Front-end neutral: no aiohttp or gRPC types here.

An :class:`actors.api.Engine` call blocks (a Thespian ``listen``) and the Engine is not thread-safe,
so :class:`EngineBridge` runs every call on ONE worker thread, off the event loop, and reattaches
after the daemon was unreachable. :class:`EventBatcher` gathers the event posts that arrive within
``window`` seconds of the first (or while the engine thread is busy with the previous batch) into one
``engine.send_many`` call: one round trip for many events (figures in docs/http_api.md).
"""
from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from typing import Any, Callable

from goflow.config import ApiSection
from goflow.errors import RequestTimeout, RuntimeUnavailable

__all__ = ["DEFAULT_WINDOW", "MAX_BATCH", "REQUEST_TIMEOUT", "EngineBridge", "EventBatcher"]

log = logging.getLogger("goflow.bridge")

DEFAULT_WINDOW = ApiSection.batch_window_ms / 1000   # seconds an event batch stays open (api.batch_window_ms)
MAX_BATCH = 1000               # events per send_many call (the Engine's own chunk)
REQUEST_TIMEOUT = 30.0         # seconds an engine call may take


class EngineBridge:
    """The one Engine client, used from one worker thread only. Connects lazily (and again after the
    daemon was unreachable: a later request attaches afresh, so the front-end outlives a daemon restart)."""

    def __init__(self, daemon_port: int, timeout: float = REQUEST_TIMEOUT,
                 connect: Callable[[int, float], Any] | None = None):
        self.daemon_port, self.timeout = daemon_port, timeout
        self._connect = connect or _connect
        self._engine = None
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1,
                                                           thread_name_prefix="goflow-api-engine")
        self.calls = 0

    def _on_thread(self, fn: Callable, *args, **kwargs):
        if self._engine is None:
            self._engine = self._connect(self.daemon_port, self.timeout)
        self.calls += 1
        try:
            return fn(self._engine, *args, **kwargs)
        except (RuntimeUnavailable, RequestTimeout):
            self._drop()
            raise

    def _drop(self) -> None:
        eng, self._engine = self._engine, None
        if eng is not None:
            try:
                eng.close()
            except Exception:  # noqa: BLE001 - a dead connection is let go whatever happens
                log.debug("bridge.close_failed", exc_info=True)

    async def call(self, fn: Callable, *args, **kwargs):
        """Run ``fn(engine, *args, **kwargs)`` on the engine thread; await its result."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, lambda: self._on_thread(fn, *args, **kwargs))

    def connect_now(self) -> None:
        """Attach at once (on the engine thread); raises when no daemon answers."""
        self._pool.submit(self._on_thread, lambda eng: None).result()

    def close(self) -> None:
        try:
            self._pool.submit(self._drop).result(timeout=5)
        except Exception:  # noqa: BLE001
            pass
        self._pool.shutdown(wait=False, cancel_futures=True)


def _connect(port: int, timeout: float):
    from .api import Engine
    try:
        return Engine.connect(port, timeout=timeout)
    except RuntimeUnavailable as exc:
        raise RuntimeUnavailable(f"the GoFlow daemon is unavailable: {exc}") from None


class EventBatcher:
    """Gathers concurrent event posts into ``engine.send_many`` calls.

    The first event opens a batch; the events that arrive in the next ``window`` seconds (and those
    that queue while the engine thread is busy with the previous batch) join it, up to ``max_batch``.
    ``max_batch=1`` sends one event per round trip (no batching; for comparison). :meth:`start` and
    :meth:`stop` run on the front-end's event loop."""

    def __init__(self, bridge: EngineBridge, window: float = DEFAULT_WINDOW, max_batch: int = MAX_BATCH):
        self.bridge, self.window, self.max_batch = bridge, window, max(1, max_batch)
        self.queue: asyncio.Queue | None = None
        self._task: asyncio.Task | None = None
        self.events = self.batches = self.largest = 0

    def start(self) -> None:
        self.queue = asyncio.Queue()
        self._task = asyncio.get_running_loop().create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
        while self.queue is not None and not self.queue.empty():
            _item, fut = self.queue.get_nowait()
            if not fut.done():
                fut.set_exception(RuntimeUnavailable("the API server is stopping"))

    async def send(self, instance_id: str, event: str, data: Any, event_id: str | None) -> dict:
        """The ack of one event (``engine.send_many``'s result for it), or its error raised."""
        fut = asyncio.get_running_loop().create_future()
        await self.queue.put(((instance_id, event, data, event_id), fut))
        return await fut

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            if self.max_batch > 1 and self.window > 0:
                await asyncio.sleep(self.window)
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            self.events += len(batch)
            self.batches += 1
            self.largest = max(self.largest, len(batch))
            try:
                items = [i for i, _f in batch]
                results = await self.bridge.call(lambda eng: eng.send_many(items))
            except asyncio.CancelledError:
                for _i, fut in batch:
                    if not fut.done():
                        fut.set_exception(RuntimeUnavailable("the API server is stopping"))
                raise
            except Exception as exc:  # noqa: BLE001 - the whole batch failed (daemon gone, timeout)
                results = [exc] * len(batch)
            for (_i, fut), res in zip(batch, results):
                if fut.done():          # the client went away; the event was still sent
                    continue
                if isinstance(res, BaseException):
                    fut.set_exception(res)
                else:
                    fut.set_result(res)

    def stats(self) -> dict:
        return {"window_ms": self.window * 1000, "max_batch": self.max_batch, "events": self.events,
                "batches": self.batches, "largest": self.largest}
