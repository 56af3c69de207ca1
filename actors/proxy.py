"""The worker proxy: carries out worker calls for its host, many at once.

Thespian actors are synchronous, so the calls run on an asyncio loop (bounded concurrency,
retries/backoff/fallback per SPEC §4), in one of two ways:

* multiprocTCPBase (the daemon; ``settings.in_daemon``): a :class:`goflow.steps.LoopPump`
  whose loop runs in this actor's own thread. The actor returns ``ThespianWatch`` on the loop's
  selector fd and pumps the loop (without blocking) whenever it runs — on a ``WatchMessage``, on
  ``Jobs``, on a ``WakeupMessage`` asked for the loop's next timer (timeouts, retry backoff) or the
  next result flush. One thread: no GIL hand-off between an actor thread and a loop thread.
* simpleSystemBase (embedded), which cannot watch file descriptors: a
  :class:`goflow.steps.CallPool` (the loop in a thread of its own) whose readiness socket the
  embedded engine's thread watches for this actor (:func:`actors.embedded.watch`): a
  ``WatchMessage`` arrives when results are waiting, never a poll. This actor runs a thread there,
  so it never creates child actors (fork). With ``workers.call_process`` (the default) it is a
  :class:`goflow.steps.SplitPool`: ``http``/``grpc`` calls in a child process the pool owns, watched
  the same way.

Settings (the :class:`goflow.config.Config` in :class:`ProxyInit`): ``engine.concurrency`` (steps in
flight at once), ``workers.http_transport``, ``limits.body_bytes`` and ``workers.python_modules`` (see
:func:`goflow.transports.registry_from_config`).
"""
from __future__ import annotations

import logging
import os
import time

from thespian.actors import Actor, ActorExitRequest, ThespianWatch, WakeupMessage

from goflow import metrics
from goflow.history import Record
from goflow.jobs import Job, StepResult
from goflow.model import ERROR
from goflow.requests import Item
from goflow.steps import CallPool, LoopPump, SplitPool, embedded_pool
from goflow.transports import check_config, registry_from_config

from ._logging import apply_levels
from ._send_window import SendWindow
from . import embedded
from .messages import HostBatch, Jobs, ProxyInit, Query, QueryReply

__all__ = ["WorkerProxy"]

log = logging.getLogger("goflow.proxy")
# Results go back to hosts at most once per FLUSH seconds per proxy (unless nothing is left in
# flight): every message between processes costs far more than a result, so under load results
# gather into large batches (one host commit each), and when idle they leave at once. And at most
# _send_window.WINDOW batches per host that the host has not acknowledged (Jobs.done): Thespian
# moves one message at a time to an actor, so more would only queue there, one commit each.
FLUSH = 0.002


class WorkerProxy(Actor):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.pool: CallPool | SplitPool | None = None   # embedded_pool(): workers.call_process
        self.index = -1
        self.inflight: dict = {}        # Job.key -> the address of the host that asked for it
        self.outbox: list = []          # (host, Item of a StepDone): results drained, not yet sent
        self.last_flush = 0.0
        self.pump: LoopPump | None = None   # multiprocTCPBase: the calls' loop runs in this thread
        self.wakeups: list = []             # monotonic due times of the wakeups asked for
        self.window = SendWindow()          # result batches each host has not acknowledged yet
        self.early: list = []               # (jobs, host) that came before ProxyInit (a revived proxy)

    def receiveMessage(self, msg, sender):
        if isinstance(msg, WakeupMessage):
            if self.wakeups:              # Thespian fires wakeups earliest first
                self.wakeups.remove(min(self.wakeups))
        elif isinstance(msg, Jobs):
            if msg.done:
                self.window.acked(str(sender), msg.done)
            if msg.jobs:
                self._submit(msg.jobs, sender)
        elif isinstance(msg, ProxyInit):
            self._init(msg)
        elif isinstance(msg, Query) and msg.kind == "pids":
            pids = {f"proxy-{self.index}": os.getpid()}
            if self.pool is not None and self.pool.process_pid is not None:
                pids[f"calls-{self.index}"] = self.pool.process_pid    # its call process (embedded)
            self.send(msg.reply_to or sender, QueryReply(msg.rid, True, pids))
        elif isinstance(msg, ActorExitRequest):
            if self.pool is not None:
                for fd in self.pool.filenos():
                    embedded.unwatch(fd)
            for engine in (self.pump, self.pool):
                if engine is not None:
                    engine.close()
            self.pump = self.pool = None
            return None
        return self._pumped() if self.pump is not None else self._polled()

    def _init(self, msg: ProxyInit) -> None:
        settings = msg.config
        apply_levels(settings)
        metrics.setup(settings)
        self.index = msg.index
        if self.pump is None and self.pool is None:
            concurrency, registry = check_config(settings), registry_from_config(settings)
            name = f"goflow-proxy-{self.index}"
            if settings.in_daemon:
                self.pump = LoopPump(concurrency, registry=registry, name=name)
            else:
                self.pool = embedded_pool(settings, concurrency, registry=registry, name=name)
                for fd in self.pool.filenos():
                    embedded.watch(fd, self.myAddress)          # a WatchMessage when results wait
        early, self.early = self.early, []
        for jobs, host in early:
            self._submit(jobs, host)

    def _submit(self, jobs: list[Job], host) -> None:
        if self.pump is None and self.pool is None:
            # A revived proxy: its host's re-dispatch and the root's ProxyInit come from two
            # processes, in either order. Keep the jobs until the init says how to call them.
            self.early.append((jobs, host))
            return
        batch, failed = [], []
        for job in jobs:
            key = job.key
            if key in self.inflight:      # already being called (a host re-dispatch): answer once
                self.inflight[key] = host
                continue
            self.inflight[key] = host
            if job.workers:
                batch.append(job)
            else:
                failed.append(job)
        if batch:
            (self.pump or self.pool).submit(batch)
        if failed:
            for job in failed:
                self._hold(job, StepResult(ERROR, None, (Record(
                    time.time(), job.request.get("state"), None, job.action, None, job.step, outcome="no-worker"),)))
            self._flush(time.monotonic())

    def _polled(self):
        """Pool mode (simpleSystemBase): take what finished (the engine thread sends a
        ``WatchMessage`` when the pool's socket is readable), send it when a flush is due, else ask
        one wake-up for the flush. No wake-up while calls are merely in flight."""
        if self.pool is None:
            return None
        for job, result in self.pool.drain():
            self._hold(job, result)
        now = time.monotonic()
        due = self._send(now)
        if due is not None:
            self._wake_at(due, now)
        return None

    def _send(self, now: float) -> float | None:
        """Flush the outbox if due; when results are left waiting, the time to come back."""
        if not self.outbox:
            return None
        if self.inflight and now - self.last_flush < FLUSH:
            return self.last_flush + FLUSH
        self._flush(now)
        return self.window.next_expiry() if self.outbox else None   # held: an ack, or the stall

    def _wake_at(self, due: float, now: float) -> None:
        if not any(t <= due + 0.0005 for t in self.wakeups):
            self.wakeups.append(due)
            self.wakeupAfter(max(0.0, due - now))

    def _hold(self, job: Job, result: StepResult) -> None:
        host = self.inflight.pop(job.key, None)
        metrics.attempts(job.action, result.attempts)
        if host is not None:
            self.outbox.append((host, Item(job.instance, job.done(result))))

    def _flush(self, now: float) -> None:
        """Send the outbox: one HostBatch of results per host whose window is open; the results
        for the others stay in the outbox."""
        by_obj: dict = {}                 # the jobs of one Jobs message share one address object
        for host, item in self.outbox:
            entry = by_obj.get(id(host))
            if entry is None:
                entry = by_obj[id(host)] = (host, [])
            entry[1].append(item)
        self.outbox = []
        self.last_flush = now
        by_host: dict = {}                # ActorAddress is unhashable: group the objects by str()
        for host, items in by_obj.values():
            by_host.setdefault(str(host), (host, []))[1].extend(items)
        window = self.window
        for key, (host, items) in by_host.items():
            if window.may_send(key, now):
                self.send(host, HostBatch(items, None, window.sent(key, now)))
            else:
                self.outbox.extend((host, item) for item in items)

    # ------------------------------------------------------------------ pump mode (multiprocTCPBase)
    def _pumped(self):
        """Run the calls' loop for what is ready, send what finished, watch the loop's selector."""
        pump = self.pump
        for job, result in pump.pump():
            self._hold(job, result)
        now = time.monotonic()
        due = self._send(now)
        delay = pump.next_timer()
        if delay is not None and (due is None or now + delay < due):
            due = now + delay
        if due is not None:
            self._wake_at(due, now)
        return ThespianWatch([pump.fileno()])
