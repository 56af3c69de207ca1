"""The call process's own side: worker steps on an asyncio loop, fed and drained over one socket.

Started by :class:`goflow.steps.process.CallProcess` as ``python -c ... <fd>`` with the child's end
of a socketpair as ``<fd>`` (see :mod:`goflow.steps.frames` for the messages). It reads ``INIT``
(the engine's settings: the same registry as the parent's, :func:`goflow.transports.registry_from_config`;
the concurrency), answers ``READY``, then performs each ``JOBS`` job with :func:`goflow.steps.run_job`
(at most ``concurrency`` at once, in submission order) and sends the results that finished in one
loop turn as one ``RESULTS`` frame.

It lives exactly as long as its parent's end of the socket: end of file (the parent closed it, exited
or was killed) cancels the steps in flight (the parent re-dispatches or drops them, as for a
``CallPool`` closed with steps in flight), closes the transports and exits. It ignores SIGINT: a
Ctrl-C in a terminal reaches the whole process group, and the parent decides when it stops.
"""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import random
import signal
import socket
import sys
import time

from .frames import INIT, JOBS, READY, RESULTS, FrameError, FrameReader, encode

__all__ = ["main", "serve"]

log = logging.getLogger("goflow.steps.process")
# Cyclic garbage collected less often, as in the daemon's processes (actors/daemon.py; docs/benchmarks.md
# A/B pairs 7 and 9): a step makes many short-lived objects and few cycles. This process runs only GoFlow.
GC_THRESHOLDS = (50_000, 20, 100)


async def serve(sock: socket.socket) -> None:
    """Serve the parent on ``sock`` until it closes its end."""
    from ..transports import registry_from_config
    from .pool import run_job, step_kwargs

    loop = asyncio.get_running_loop()
    reader, writer = await asyncio.open_connection(sock=sock)
    frames = FrameReader()
    pending: list = []

    async def next_messages() -> list | None:
        while True:
            data = await reader.read(1 << 18)
            if not data:
                return None
            got = frames.feed(data)
            if got:
                return got

    first = await next_messages()
    if not first or first[0][0] != INIT:
        raise FrameError(f"expected {INIT} first, got {first and first[0][0]!r}")
    settings, concurrency = first[0][1]
    registry = registry_from_config(settings)
    kwargs = step_kwargs(registry, None, time.time, random.random)
    jobs: asyncio.Queue = asyncio.Queue()
    out: list = []

    def flush() -> None:
        if out:
            writer.write(encode(RESULTS, out[:]))
            out.clear()

    async def consume() -> None:
        while True:
            job = await jobs.get()
            result = await run_job(job, kwargs)
            if not out:
                loop.call_soon(flush)            # everything that finishes in this loop turn: one frame
            out.append((job.key, result))

    consumers = [loop.create_task(consume()) for _ in range(concurrency)]
    writer.write(encode(READY, os.getpid()))
    pending.extend(first[1:])
    try:
        while True:
            for kind, payload in pending:
                if kind != JOBS:
                    raise FrameError(f"unexpected {kind!r} message from the parent")
                for job in payload:
                    jobs.put_nowait(job)
            pending = await next_messages()
            if pending is None:
                return                           # the parent's end closed: stop
    finally:
        for task in consumers:
            task.cancel()
        await asyncio.gather(*consumers, return_exceptions=True)
        await registry.aclose()
        writer.close()


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.set_threshold(*GC_THRESHOLDS)
    logging.basicConfig(level=logging.WARNING, format="goflow call process %(process)d: %(levelname)s %(message)s")
    sock = socket.socket(fileno=int(argv[0]))
    try:
        asyncio.run(serve(sock))
    except (ConnectionError, FrameError) as exc:
        log.error("stopped: %s", exc)
        return 1
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
