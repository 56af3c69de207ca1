"""The instance host: one process (in a daemon) hosting a shard of lightweight instance actors.

A thin shell over :class:`goflow.shard.Shard`: batches of :class:`goflow.requests.Item` in (from the
dispatcher, from daemon clients on the direct path -- actors/direct.py -- and worker results from its
proxy), one durable commit, effects out (worker jobs to its worker proxy, replies straight to each
caller, one timer wake-up for the whole shard).
"""
from __future__ import annotations

import logging
import os
import time

from thespian.actors import Actor, ActorExitRequest, ThespianWatch, WakeupMessage, WatchMessage

from goflow import metrics
from goflow._shard_children import chunks, unacknowledged as _unacknowledged
from goflow.paging import MAX_LIMIT
from goflow.requests import Item, Reply
from goflow.shard import Shard
from goflow.store import open_shard, status

from ._logging import apply_levels
from .direct import Conn, Listener, socket_path
from .dispatcher import shard_of
from .messages import (Blueprints, HostBatch, HostInit, Jobs, ProxyChanged, Query, QueryReply, Replies, Routes,
                       Token)

__all__ = ["Host"]

log = logging.getLogger("goflow.host")

SEND_BATCH = 500    # items per message to another host (a forEach's creates: one commit each, there)
RESEND_EVERY = 10.0  # seconds: an ended child's notice not acknowledged by then is sent again
RESEND = "children-resend"      # the payload of that wake-up


class Host(Actor):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.shard: Shard | None = None
        self.store = None
        self.proxy = None
        self.index = -1
        self.wakeups: set[float] = set()
        self.routes: list | None = None  # every host's address, by shard index (the root's Routes)
        self.held: list = []             # items to other instances, held until the routes are known
        self.resending = False           # a RESEND wake-up is pending
        self.clock = time.time          # settings' ``clock`` (a goflow.testing.ManualClock in tests)
        self.listener: Listener | None = None   # the direct path's socket (a daemon's host)
        self.acking = 0                  # the proxy's result batch being handled: Jobs.done says so

    def receiveMessage(self, msg, sender):
        try:
            self._dispatch(msg, sender)
        except Exception:
            # Thespian drops the watch of a receive that raised twice: a wake-up sets it again
            if self.listener is not None:
                self.wakeupAfter(0.0)
            raise
        if self.listener is not None:   # every receive says what to watch until the next one
            return ThespianWatch(self.listener.filenos())
        return None

    def _dispatch(self, msg, sender):
        if isinstance(msg, HostBatch):
            items = msg.items
            if msg.reply_to is not None:      # a client's: each token is the item's index in its batch
                items = [Item(i.instance, i.request, Token(msg.reply_to, msg.rid, i.token)) for i in items]
                self._handle(items)
            else:                             # results (rid: the proxy's batch number) or a peer's items
                self.acking = msg.rid if msg.rid and sender == self.proxy else 0
                self._handle(items)
                if self.acking:               # no Jobs carried the acknowledgement: it goes alone
                    self.send(sender, Jobs([], self.acking))
                    self.acking = 0
        elif isinstance(msg, WatchMessage):
            self._direct(msg.ready)
        elif isinstance(msg, WakeupMessage) and msg.payload == RESEND:
            self.resending = False
            self._resend()
        elif isinstance(msg, WakeupMessage):
            self.wakeups.discard(msg.payload)
            self._handle([])
        elif isinstance(msg, Query):
            self._query(msg, sender)
        elif isinstance(msg, Blueprints):
            for bp in msg.blueprints:
                self.shard.deploy(bp)
            if msg.qid:
                self.send(sender, QueryReply(msg.qid, True, None))
        elif isinstance(msg, ProxyChanged):
            self.proxy = msg.proxy
            jobs = self.shard.inflight()
            log.info("host.proxy_changed index=%s redispatched=%s", self.index, len(jobs))
            if jobs:
                self.send(self.proxy, Jobs(jobs))
        elif isinstance(msg, Routes):
            self._routes(msg.hosts)
        elif isinstance(msg, HostInit):
            self._init(msg, sender)
        elif isinstance(msg, ActorExitRequest):
            if self.listener is not None:
                self.listener.close()
                self.listener = None
            if self.store is not None:
                self.store.close()
                self.store = None

    def _init(self, msg: HostInit, sender) -> None:
        settings = msg.config
        apply_levels(settings)
        metrics.setup(settings)
        self.index, self.proxy = msg.index, msg.proxy
        engine = settings.engine
        self.clock = settings.clock or time.time
        self.store = _open_store(settings, msg.index)
        self.shard = Shard(self.store, msg.blueprints, intensity=engine.intensity, period=engine.period,
                           event_bytes=settings.limits.event_bytes, retry=settings.retry,
                           postponed=settings.limits.postponed, paused_events=settings.limits.paused_events,
                           children=settings.limits.children, child_depth=settings.limits.child_depth,
                           passivate_after=settings.runtime.passivate_after,
                           cache_size=settings.runtime.cache_size,
                           name=f"host-{msg.index}", clock=self.clock)
        fx = self.shard.recover()
        self._effects(fx)
        if settings.in_daemon:            # after recovery: a client that connects finds the shard ready
            self._listen(engine.data_dir)
        self.send(sender, QueryReply(-1, True, {"host": msg.index, "recovered": self.shard.loaded,
                                                "pid": os.getpid()}))

    def _listen(self, data_dir: str) -> None:
        path = socket_path(data_dir, self.index)
        if path is None:
            log.warning("host.direct_off index=%s reason=socket path too long data_dir=%s", self.index, data_dir)
            return
        try:
            self.listener = Listener(path)
        except OSError as exc:            # the clients go through the dispatcher
            log.warning("host.direct_off index=%s path=%s error=%s", self.index, path, exc)

    def _direct(self, ready: list) -> None:
        """Daemon clients' requests on the direct path: the batches that arrived together in one
        commit; a status or history query answered in its turn (after the items before it)."""
        items: list = []
        for conn, msg in self.listener.ready(ready):
            if isinstance(msg, HostBatch):
                items.extend(Item(i.instance, i.request, Token(conn, msg.rid, i.token)) for i in msg.items)
            elif isinstance(msg, Query) and msg.kind in ("status", "history"):
                if items:
                    self._handle(items)
                    items = []
                try:
                    conn.send(QueryReply(msg.rid, True, self._answer(msg)))
                except Exception as exc:  # a query never kills the host; the caller hears why
                    conn.send(QueryReply(msg.rid, False, exc))
            else:
                log.warning("host.direct_refused index=%s message=%s", self.index, type(msg).__name__)
        if items:
            self._handle(items)

    def _handle(self, items: list) -> int:
        """Apply ``items`` and the timers now due; returns how many timers fired."""
        shard = self.shard
        if shard is None:
            return 0
        now = self.clock()
        due = shard.due_items(now)
        if due:
            items = list(items) + due
        if items:
            self._effects(shard.handle(items, now))
        else:
            metrics.resident(len(shard.cells))
            self._arm(now)
        return len(due)

    def _routes(self, hosts: list) -> None:
        """New routes: a host whose address changed was restarted and may have lost what was sent to
        it, so the child-workflow messages not yet acknowledged that it owns are sent again."""
        old, self.routes = self.routes, list(hosts)
        if self.shard is None:
            return
        if old is not None and len(old) == len(hosts):
            changed = {i for i, (a, b) in enumerate(zip(old, hosts)) if str(a) != str(b) and i != self.index}
            if changed:
                n = len(hosts)
                again = self.shard.outstanding(lambda iid: shard_of(iid, n) in changed)
                log.info("host.peer_restarted index=%s peers=%s resent=%s", self.index, sorted(changed), len(again))
                self.held.extend(again)
        held, self.held = self.held, []
        self._send_items(held)

    def _send_items(self, items: list) -> None:
        """Route items to other instances by id (``shard_of``, the dispatcher's rule), in messages of
        at most SEND_BATCH items; held until the routes are known."""
        if not items:
            return
        if self.routes is None:
            self.held.extend(items)
            return
        n = len(self.routes)
        per: dict[int, list] = {}
        for item in items:
            per.setdefault(shard_of(item.instance, n), []).append(item)
        for i, group in per.items():
            for part in chunks(group, SEND_BATCH):
                self.send(self.routes[i], HostBatch(part))

    def _resend(self) -> None:
        """Send again the notices of ended children that their parents have not acknowledged within
        RESEND_EVERY (an acknowledgement lost to a host restarted meanwhile); come back while any
        is unacknowledged (a wake-up only then: an idle host sleeps)."""
        if self.shard is None:
            return
        again, waiting = _unacknowledged(self.shard.cells.values(), time.time() - RESEND_EVERY)
        if again:
            log.info("host.notices_resent index=%s count=%s", self.index, len(again))
            self._send_items(again)
        if waiting and not self.resending:
            self.resending = True
            self.wakeupAfter(RESEND_EVERY, payload=RESEND)

    def _effects(self, fx) -> None:
        metrics.resident(len(self.shard.cells))
        if fx.jobs and self.proxy is not None:
            self.send(self.proxy, Jobs(fx.jobs, self.acking))
            self.acking = 0
        if fx.sends:
            self._send_items(fx.sends)
            if not self.resending and self.clock is time.time:   # notices among them: check back later
                self.resending = True
                self.wakeupAfter(RESEND_EVERY, payload=RESEND)
        if fx.replies:
            groups: dict = {}
            for r in fx.replies:
                tok = r.token
                if tok is None:
                    continue
                # the items of one batch share one unpickled address object: grouping by its id is
                # cheap (str() of an address is not), and a caller gathers its replies by rid anyway
                key = (id(tok.reply_to), tok.rid)
                if key not in groups:
                    groups[key] = (tok.reply_to, [])
                groups[key][1].append(Reply(tok.index, r.ok, r.value))
            for (_, rid), (addr, replies) in groups.items():
                if isinstance(addr, Conn):    # a client on the direct path
                    addr.send(Replies(rid, replies))
                else:
                    self.send(addr, Replies(rid, replies))
        self._arm(self.clock())

    def _arm(self, now: float) -> None:
        if self.clock is not time.time:   # a manual clock: timers fire when the test ticks (Engine.advance)
            return
        due = self.shard.next_due()
        if due is None:
            return
        if any(w <= due + 0.001 for w in self.wakeups):
            return
        self.wakeups.add(due)
        self.wakeupAfter(max(0.0, due - now), payload=due)

    def _query(self, q: Query, sender) -> None:
        reply_to = q.reply_to or sender
        try:
            value = self._answer(q)
            self.send(reply_to, QueryReply(q.rid, True, value))
        except Exception as exc:  # a query never kills the host; the caller hears why
            self.send(reply_to, QueryReply(q.rid, False, exc))

    def _answer(self, q: Query):
        a = q.args
        if q.kind == "tick":              # Engine.advance: fire the timers due on the (manual) clock
            return {"fired": self._handle([])}
        if q.kind == "status":
            return self.shard.status(a["id"])
        if q.kind == "history":
            self.shard.status(a["id"])    # raises InstanceNotFound for an unknown id
            # one keyset page, never more than MAX_LIMIT records: (records, key to go on from | None)
            records, nxt = self.store.history_page(a["id"], min(int(a["limit"]), MAX_LIMIT), order=a["order"],
                                                   after=a.get("after"))
            if not a.get("older"):
                return records, nxt
            # and how many records are older than the page (goflow.paging.record_positions), counted
            # after the read on the history index, from keys the page fixed (the history only grows)
            key = nxt if a["order"] == "latest" else (None if a.get("after") is None else a["after"] + 1)
            return records, nxt, 0 if key is None else self.store.history_count(a["id"], before=key)
        if q.kind == "list":
            # one keyset page; the caller asks one row more than it shows, to know whether more follow
            return self.store.list(a.get("project"), a.get("activity"), a.get("status"),
                                   limit=min(int(a["limit"]), MAX_LIMIT + 1), order=a["order"],
                                   after=a.get("after"), state=a.get("end_state"), parent=a.get("parent"))
        if q.kind == "counts":
            return self.store.counts(a.get("project"), a.get("activity"))
        if q.kind == "pids":
            return {f"host-{self.index}": os.getpid()}
        if q.kind == "blueprints":        # (project, activity, version, document) of every deployed one
            from goflow.loading import blueprint_to_document
            return [(*key, blueprint_to_document(bp)) for key, bp in sorted(self.shard.blueprints.items())]
        raise ValueError(f"unknown query {q.kind!r}")


def _open_store(settings, index: int):
    engine, url = settings.engine, settings.store.url
    if not url:
        return open_shard(engine.data_dir, index, synchronous=engine.synchronous)
    from goflow.store._pg import Retry
    status.mark(engine.data_dir, index, True)
    retry = Retry(on_change=lambda ok, err: status.mark(engine.data_dir, index, ok, err))
    return open_shard(engine.data_dir, index, url=url, retry=retry, wait_at_open=True,
                      synchronous_commit=settings.store.synchronous_commit)
