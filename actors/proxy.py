"""The worker proxy: carries out worker calls for its host, many at once.

Thespian actors are synchronous, so the calls run on an asyncio loop (bounded concurrency,
retries/backoff/fallback per SPEC §4), in one of two ways:

* multiprocTCPBase (the daemon; ``settings.in_daemon``): a :class:`goflow.steps.LoopPump`
  whose loop runs in this actor's own thread. The actor returns ``ThespianWatch`` on the loop's
  selector fd and pumps the loop (without blocking) whenever it runs — on a ``WatchMessage``, on
  ``Jobs``, on a ``WakeupMessage`` asked for the loop's next timer (timeouts, retry backoff) or the
  next result flush. One thread: no GIL hand-off between an actor thread and a loop thread.
* simpleSystemBase (embedded), which cannot watch file descriptors: a
  :class:`goflow.steps.CallPool` (the loop in a thread of its own), polled with
  ``wakeupAfter`` while calls are in flight. This actor runs a thread there, so it never creates
  child actors (fork).

Settings (the :class:`goflow.config.Config` in :class:`ProxyInit`): ``engine.concurrency`` (steps in
flight at once), ``workers.http_transport``, ``limits.body_bytes`` and ``workers.python_modules`` (see
:func:`goflow.transports.registry_from_config`), and ``retry.*``: the backoff of every worker whose
blueprint leaves it unset.
"""
from __future__ import annotations

import logging
import os
import time

from thespian.actors import Actor, ActorExitRequest, ThespianWatch, WakeupMessage

from goflow.config import RetrySection
from goflow.history import Record
from goflow.steps import CallPool, LoopPump
from goflow.transports import check_config, registry_from_config

from ._logging import apply_levels
from .messages import Blueprints, Jobs, ProxyInit, Query, QueryReply, Results

__all__ = ["WorkerProxy"]

log = logging.getLogger("goflow.proxy")
POLL = 0.002
# Results go back to hosts at most once per FLUSH seconds per proxy (unless nothing is left in
# flight): every message between processes costs far more than a result, so under load results
# gather into large batches (one host commit each), and when idle they leave at once.
FLUSH = 0.002


class WorkerProxy(Actor):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.pool: CallPool | None = None
        self.blueprints: dict = {}
        self.index = -1
        self.polling = False
        self.inflight: dict = {}        # (instance, step, mode) -> host address
        self.outbox: list = []          # results drained, not yet sent
        self.last_flush = 0.0
        self.pump: LoopPump | None = None   # multiprocTCPBase: the calls' loop runs in this thread
        self.wakeups: list = []             # monotonic due times of the wakeups asked for (pump mode)
        self.retry = RetrySection()         # settings.retry, from ProxyInit
        self.workers: dict = {}             # (blueprint key, action) -> workers, retry.* applied

    def receiveMessage(self, msg, sender):
        if isinstance(msg, WakeupMessage):
            if self.pump is not None:
                if self.wakeups:          # Thespian fires wakeups earliest first
                    self.wakeups.remove(min(self.wakeups))
            else:
                self.polling = False
        elif isinstance(msg, Jobs):
            self._submit(msg.jobs, sender)
        elif isinstance(msg, Blueprints):
            self._learn(msg.blueprints)
        elif isinstance(msg, ProxyInit):
            self._init(msg)
        elif isinstance(msg, Query) and msg.kind == "pids":
            self.send(msg.reply_to or sender, QueryReply(msg.rid, True, {f"proxy-{self.index}": os.getpid()}))
        elif isinstance(msg, ActorExitRequest):
            for engine in (self.pump, self.pool):
                if engine is not None:
                    engine.close()
            self.pump = self.pool = None
            return None
        return self._pumped() if self.pump is not None else self._polled()

    def _learn(self, blueprints) -> None:
        for bp in blueprints:
            self.blueprints[bp.key] = bp
        self.workers = {}

    def _workers(self, bp, action: str) -> tuple:
        """``bp``'s workers for ``action``, their unset backoff fields filled from ``retry.*``."""
        key = (bp.key, action)
        found = self.workers.get(key)
        if found is None:
            found = self.workers[key] = tuple(self.retry.apply(w) for w in bp.workers_for(action))
        return found

    def _init(self, msg: ProxyInit) -> None:
        settings = msg.config
        apply_levels(settings)
        self.index = msg.index
        self.retry = settings.retry
        self._learn(msg.blueprints)
        if self.pump is None and self.pool is None:
            engine = LoopPump if settings.in_daemon else CallPool
            made = engine(check_config(settings), registry=registry_from_config(settings),
                          name=f"goflow-proxy-{self.index}")
            if settings.in_daemon:
                self.pump = made
            else:
                self.pool = made

    def _submit(self, jobs, host) -> None:
        batch, failed = [], []
        for job in jobs:
            key = (job.instance, job.step, job.mode)
            if key in self.inflight:      # already being called (a host re-dispatch): answer once
                self.inflight[key] = host
                continue
            bp = self.blueprints.get(tuple(job.blueprint))
            workers = self._workers(bp, job.action) if bp is not None else ()
            self.inflight[key] = host
            if not workers:
                failed.append((key, "error", None, (Record(0.0, job.request.get("state"), None, job.action, None,
                                                           job.step, outcome="no-worker"),)))
                continue
            batch.append((key, job.request, workers))
        if batch:
            (self.pump or self.pool).submit(batch)
        if failed:
            for key, event, output, attempts in failed:
                self._hold(key, event, output, attempts)
            self._flush()

    def _polled(self):
        """Pool mode (simpleSystemBase): take what finished, send it when a flush is due, and look
        again shortly while anything is in flight or held back."""
        if self.pool is None:
            return None
        for key, res in self.pool.drain():
            self._hold(key, res.event, res.output, res.attempts)
        now = time.monotonic()
        if self.outbox and (not self.inflight or now - self.last_flush >= FLUSH):
            self._flush()
        if (self.outbox or self.inflight) and not self.polling:
            self.polling = True
            self.wakeupAfter(max(0.0, self.last_flush + FLUSH - now) if self.outbox else POLL)
        return None

    def _hold(self, key, event, output, attempts) -> None:
        host = self.inflight.pop(key, None)
        if host is not None:
            self.outbox.append((host, key, event, output, tuple(attempts)))

    def _flush(self) -> None:
        """Send the outbox: one Results message per host."""
        by_host: dict = {}
        for host, (instance, step, mode), event, output, attempts in self.outbox:
            entry = by_host.setdefault(str(host), (host, []))
            entry[1].append((instance, step, mode, event, output, attempts))
        self.outbox = []
        self.last_flush = time.monotonic()
        for host, results in by_host.values():
            self.send(host, Results(results))

    # ------------------------------------------------------------------ pump mode (multiprocTCPBase)
    def _pumped(self):
        """Run the calls' loop for what is ready, send what finished, watch the loop's selector."""
        pump = self.pump
        for key, res in pump.pump():
            self._hold(key, res.event, res.output, res.attempts)
        now = time.monotonic()
        due = None
        if self.outbox:
            if not self.inflight or now - self.last_flush >= FLUSH:
                self._flush()
            else:
                due = self.last_flush + FLUSH
        delay = pump.next_timer()
        if delay is not None and (due is None or now + delay < due):
            due = now + delay
        if due is not None and not any(t <= due + 0.0005 for t in self.wakeups):
            self.wakeups.append(due)
            self.wakeupAfter(max(0.0, due - now))
        return ThespianWatch([pump.fileno()])
