"""The worker proxy: carries out worker calls for its host, many at once.

Thespian actors are synchronous, so the calls run on a :class:`goflow.transports.pool.CallPool` (an
asyncio loop in a thread, bounded concurrency, retries/backoff/fallback per SPEC §4). Results come
back through a socketpair the actor watches with ``ThespianWatch`` (multiprocTCPBase); where the base
cannot watch file descriptors (simpleSystemBase, embedded), the proxy polls with ``wakeupAfter`` while
calls are in flight. This actor runs a thread, so it never creates child actors (fork).

Configuration (the engine config dict in :class:`ProxyInit`; checked by
:func:`goflow.transports.check_config`): ``concurrency`` (steps in flight at once, default 256),
``http_transport`` (``"aiohttp"`` default | ``"httpx"`` | ``"httpx-aiohttp"``), ``max_body_bytes``
(response bound, default 1 MiB) and ``python_modules`` (the modules ``python://`` may call; None =
any) — see :func:`goflow.transports.registry_from_config`.
"""
from __future__ import annotations

import logging
import os

from thespian.actors import Actor, ActorExitRequest, ThespianWatch, WakeupMessage, WatchMessage

from goflow.history import Record
from goflow.transports import check_config, registry_from_config
from goflow.transports.pool import CallPool

from .messages import Blueprints, Jobs, ProxyInit, Query, QueryReply, Results

__all__ = ["WorkerProxy"]

log = logging.getLogger("goflow.proxy")
POLL = 0.002


class WorkerProxy(Actor):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.pool: CallPool | None = None
        self.blueprints: dict = {}
        self.watch = False
        self.index = -1
        self.polling = False
        self.inflight: dict = {}        # (instance, step, mode) -> host address

    def receiveMessage(self, msg, sender):
        if isinstance(msg, (WatchMessage, WakeupMessage)):
            if isinstance(msg, WakeupMessage):
                self.polling = False
            self._collect()
        elif isinstance(msg, Jobs):
            self._submit(msg.jobs, sender)
        elif isinstance(msg, Blueprints):
            for bp in msg.blueprints:
                self.blueprints[bp.key] = bp
        elif isinstance(msg, ProxyInit):
            cfg = msg.config
            self.index = msg.index
            self.watch = bool(cfg.get("watch"))
            for bp in msg.blueprints:
                self.blueprints[bp.key] = bp
            if self.pool is None:
                self.pool = CallPool(check_config(cfg), registry=registry_from_config(cfg),
                                     name=f"goflow-proxy-{self.index}")
        elif isinstance(msg, Query) and msg.kind == "pids":
            self.send(msg.reply_to or sender, QueryReply(msg.rid, True, {f"proxy-{self.index}": os.getpid()}))
        elif isinstance(msg, ActorExitRequest):
            if self.pool is not None:
                self.pool.close()
                self.pool = None
            return None
        return self._wait()

    def _wait(self):
        if self.pool is None:
            return None
        if self.watch:
            return ThespianWatch([self.pool.fileno()])
        if self.inflight and not self.polling:
            self.polling = True
            self.wakeupAfter(POLL)
        return None

    def _submit(self, jobs, host) -> None:
        batch, failed = [], []
        for job in jobs:
            key = (job.instance, job.step, job.mode)
            if key in self.inflight:      # already being called (a host re-dispatch): answer once
                self.inflight[key] = host
                continue
            bp = self.blueprints.get(tuple(job.blueprint))
            workers = bp.workers_for(job.action) if bp is not None else ()
            self.inflight[key] = host
            if not workers:
                failed.append((key, "error", None, (Record(0.0, job.request.get("state"), None, job.action, None,
                                                           job.step, outcome="no-worker"),)))
                continue
            batch.append((key, job.request, workers))
        if batch:
            self.pool.submit(batch)
        if failed:
            self._send(failed)

    def _collect(self) -> None:
        if self.pool is None:
            return
        done = [(key, res.event, res.output, res.attempts) for key, res in self.pool.drain()]
        if done:
            self._send(done)

    def _send(self, done) -> None:
        by_host: dict = {}
        for key, event, output, attempts in done:
            host = self.inflight.pop(key, None)
            if host is None:
                continue
            instance, step, mode = key
            entry = by_host.setdefault(str(host), (host, []))
            entry[1].append((instance, step, mode, event, output, tuple(attempts)))
        for host, results in by_host.values():
            self.send(host, Results(results))
