"""The root supervisor: boots the engine, owns the blueprint catalog, restarts what dies.

It creates every other actor itself — the dispatcher, one worker proxy and one instance host per
shard — so that Thespian tells it (``ChildActorExited``) when one of their processes dies; it then
creates a new one in its place: a new host reloads its shard from the store and resumes its
instances; a new worker proxy gets its host's in-flight steps again (same ``Idempotency-Key``).
"""
from __future__ import annotations

import logging
import os

from thespian.actors import Actor, ActorExitRequest, ChildActorExited

from goflow import metrics
from goflow.config import Config
from goflow.errors import BlueprintError, GoflowError
from goflow.loading import blueprint_from_document, bounded_document
from goflow.model import Blueprint
from goflow.store import existing_shards, open_catalog
from goflow.transports import check_config, policy_from_config
from goflow.validation.children import child_problems

from .dispatcher import Dispatcher
from .host import Host
from ._logging import apply_levels
from .messages import (Blueprints, Boot, Booted, Deploy, DispatcherIs, HostInit, ProxyChanged, ProxyInit,
                       Query, QueryReply, Routes, WhereIsDispatcher)
from .proxy import WorkerProxy

__all__ = ["Root"]

log = logging.getLogger("goflow.root")


def _children_of(ppid: int, exclude: int) -> list[int]:
    """Processes whose parent is ``ppid`` (Linux /proc): the admin's children besides the root are
    Thespian's logger process, which ``kill -9`` of a whole daemon must not forget (a short-lived
    ``actors.daemon`` command the admin started -- stop, revive -- is not one of them)."""
    found = []
    try:
        entries = os.listdir("/proc")
    except OSError:
        return found
    for name in entries:
        if not name.isdigit() or int(name) == exclude:
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1 and fields[1] == str(ppid) and not _is_command(int(name)):
            found.append(int(name))
    return sorted(found)


def _is_command(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return b"actors.daemon" in f.read()
    except OSError:
        return False


class Root(Actor):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.config: Config | None = None
        self.catalog = None
        self.blueprints: dict = {}
        self.dispatcher = None
        self.hosts: list = []
        self.proxies: list = []
        self.boot_waiters: list = []
        self.hosts_ready = 0
        self.recovered = 0
        self.pid_gathers: dict = {}
        self.deploys: dict = {}          # qid -> [reply_to, rid, keys, hosts yet to acknowledge]
        self.next_qid = -1
        self.stopping = False

    def receiveMessage(self, msg, sender):
        try:
            self._dispatch(msg, sender)
        except GoflowError as exc:
            log.error("root.error message=%s error=%s", type(msg).__name__, exc)
            if isinstance(msg, Boot):
                self.send(sender, Booted(msg.rid, None, error=exc))

    def _dispatch(self, msg, sender):
        if isinstance(msg, ChildActorExited):
            self._child_exited(msg.childAddress)
        elif isinstance(msg, QueryReply):
            self._reply(msg, sender)
        elif isinstance(msg, Deploy):
            self._deploy(msg, sender)
        elif isinstance(msg, Query) and msg.kind == "pids":
            self._pids(msg, sender)
        elif isinstance(msg, Query) and msg.kind == "info":   # which daemon is this: its data directory
            # and how many hosts it has (a daemon client's direct path to them: actors/direct.py)
            self.send(msg.reply_to or sender, QueryReply(msg.rid, True, {
                "data_dir": os.path.abspath(self.config.engine.data_dir) if self.config else None,
                "shards": len(self.hosts)}))
        elif isinstance(msg, Boot):
            self._boot(msg, sender)
        elif isinstance(msg, WhereIsDispatcher):
            self.send(sender, DispatcherIs(msg.rid, self.dispatcher))
        elif isinstance(msg, ActorExitRequest):
            self.stopping = True
            if self.catalog is not None:
                self.catalog.close()
                self.catalog = None

    # ------------------------------------------------------------------------------------- boot
    def _boot(self, msg: Boot, sender) -> None:
        if self.config is not None:
            if self.hosts_ready >= len(self.hosts):
                self.send(sender, Booted(msg.rid, self.dispatcher, self.recovered))
            else:
                self.boot_waiters.append((sender, msg.rid))
            return
        check_config(msg.config)          # worker-call settings: a bad one refuses the boot (ConfigError)
        settings = self.config = msg.config
        apply_levels(settings)
        metrics.setup(settings)
        data_dir = settings.engine.data_dir
        self.catalog = open_catalog(data_dir, url=settings.store.url or None)
        for project, activity, version, doc in self.catalog.all():
            bp = blueprint_from_document(doc, file=f"catalog:{project}/{activity}@{version}")
            self.blueprints[bp.key] = bp
        self._check(msg.blueprints)
        for bp in msg.blueprints:
            self._store(bp)
        self.boot_waiters.append((sender, msg.rid))
        n = settings.shards
        have = self.catalog.shards() if settings.store.url else existing_shards(data_dir)
        if have and have != n:            # routing is by hash modulo the count: it cannot change
            log.warning("root.shards_fixed data_dir=%s requested=%s using=%s", data_dir, n, have)
            n = have
        self.dispatcher = self.createActor(Dispatcher)
        self.proxies = [self._new_proxy(i) for i in range(n)]
        self.hosts = [self._new_host(i) for i in range(n)]
        self._routes()

    def _new_proxy(self, i: int):
        addr = self.createActor(WorkerProxy)
        self.send(addr, ProxyInit(i, self.config))
        return addr

    def _new_host(self, i: int):
        addr = self.createActor(Host)
        self.send(addr, HostInit(i, self.config, list(self.blueprints.values()), self.proxies[i]))
        return addr

    def _routes(self) -> None:
        routes = Routes(self.hosts, self.myAddress)
        self.send(self.dispatcher, routes)
        for addr in self.hosts:             # hosts route child-workflow messages to each other
            self.send(addr, routes)

    def _reply(self, msg: QueryReply, sender) -> None:
        if msg.rid == -1:                 # a host finished its start-up (recovery)
            self.hosts_ready += 1
            self.recovered += msg.value.get("recovered", 0)
            if self.hosts_ready >= len(self.hosts):
                for addr, rid in self.boot_waiters:
                    self.send(addr, Booted(rid, self.dispatcher, self.recovered))
                self.boot_waiters = []
            return
        if msg.rid in self.deploys:
            self._deployed(msg.rid, sender)
            return
        g = self.pid_gathers.get(msg.rid)
        if g is not None:
            if msg.ok:
                g[2].update(msg.value)
            waiting = g[3]
            at = next((k for k, addr in enumerate(waiting) if addr == sender), 0)
            if waiting:
                del waiting[at]
            self._gathered(msg.rid)

    def _gathered(self, qid: int) -> None:
        reply_to, rid, pids, waiting = self.pid_gathers[qid]
        if not waiting:
            del self.pid_gathers[qid]
            self.send(reply_to, QueryReply(rid, True, pids))

    # ------------------------------------------------------------------------------ supervision
    def _child_exited(self, addr) -> None:
        if self.config is None or self.stopping:
            return
        for qid, g in list(self.pid_gathers.items()):   # a dead child answers no pids query
            g[3][:] = [a for a in g[3] if a != addr]
            self._gathered(qid)
        for qid in list(self.deploys):    # a dead host gets every blueprint in its successor's HostInit
            self._deployed(qid, addr)
        if addr == self.dispatcher:
            log.warning("root.restart child=dispatcher")
            metrics.restart("dispatcher")
            self.dispatcher = self.createActor(Dispatcher)
            self._routes()
            return
        for i, host in enumerate(self.hosts):
            if addr == host:
                log.warning("root.restart child=host-%s", i)
                metrics.restart("host")
                self.hosts_ready -= 1
                self.hosts[i] = self._new_host(i)
                self._routes()
                return
        for i, proxy in enumerate(self.proxies):
            if addr == proxy:
                log.warning("root.restart child=proxy-%s", i)
                metrics.restart("proxy")
                self.proxies[i] = self._new_proxy(i)
                self.send(self.hosts[i], ProxyChanged(self.proxies[i]))
                return

    # ---------------------------------------------------------------------------------- deploy
    def _check(self, bps) -> None:
        """The engine's own check of the endpoints (SPEC §12) and of the child blueprints that
        workflow actions name (SPEC §8), before any of ``bps`` is kept."""
        policy = policy_from_config(self.config, resolve=True)
        refused = [p for bp in bps for p in policy.blueprint_problems(bp)]
        refused += child_problems(bps, self.blueprints, self.config.limits.child_depth)
        if refused:
            raise BlueprintError(refused)

    def _store(self, bp: Blueprint) -> None:
        """Keep ``bp`` (validated by the client that loaded it): its document in the catalog, the
        object itself to serve."""
        doc = bounded_document(bp, self.config.limits.blueprint_bytes)
        self.catalog.save(bp.project, bp.activity, bp.version, doc)
        self.blueprints[bp.key] = bp

    def _deploy(self, msg: Deploy, sender) -> None:
        reply_to = msg.reply_to or sender
        bps = msg.blueprints
        try:
            self._check(bps)
            for bp in bps:
                self._store(bp)
        except GoflowError as exc:
            self.send(reply_to, QueryReply(msg.rid, False, exc))
            return
        # acknowledged once every host has them: a client's next request may go to a host directly
        self.next_qid -= 1
        self.deploys[self.next_qid] = [reply_to, msg.rid, [list(bp.key) for bp in bps], list(self.hosts)]
        for addr in self.hosts:
            self.send(addr, Blueprints(bps, self.next_qid))
        log.info("root.deployed blueprints=%s", [bp.key for bp in bps])

    def _deployed(self, qid: int, host) -> None:
        reply_to, rid, keys, waiting = self.deploys[qid]
        waiting[:] = [a for a in waiting if a != host]
        if not waiting:
            del self.deploys[qid]
            self.send(reply_to, QueryReply(rid, True, keys))

    def _pids(self, q: Query, sender) -> None:
        reply_to = q.reply_to or sender
        pids = {"root": os.getpid()}
        if self.config and self.config.in_daemon:     # a daemon: its admin, and the admin's other children
            pids["admin"] = os.getppid()
            for i, pid in enumerate(_children_of(os.getppid(), exclude=os.getpid())):
                pids[f"logger-{i}" if i else "logger"] = pid
        if "dispatcher" in q.args:
            pids["dispatcher"] = q.args["dispatcher"]
        children = [*self.hosts, *self.proxies]
        self.next_qid -= 1                # negative ids: never a host's start-up reply (-1)
        self.pid_gathers[self.next_qid] = [reply_to, q.rid, pids, list(children)]
        for addr in children:
            self.send(addr, Query(self.next_qid, "pids", {}, self.myAddress))
