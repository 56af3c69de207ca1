"""The Python API: how users drive GoFlow from code, the same embedded and against a daemon.

    from actors import Engine

    with Engine.embedded("data") as engine:          # one process, simpleSystemBase on a background thread
        engine.deploy("goflow/examples")
        iid = engine.start("goflow/inquiry", input={"customer": 42})
        print(engine.wait(iid, timeout=10))

    engine = Engine.connect(port=7531)               # a running daemon (multiprocTCPBase)

Every request carries a request id and the engine only accepts the replies that carry it (a late
reply to an earlier request that timed out is dropped: Thespian's ``ask`` would return it). Results
are plain data: dicts and lists. Errors are :class:`goflow.errors.GoflowError` subclasses raised in
the caller's process, whichever process found them.
"""
from __future__ import annotations

import itertools
import logging
import os
import threading
import uuid
from typing import Any, Iterable, Sequence

from thespian.actors import ActorExitRequest

from goflow.config import ClientSection, Config
from goflow.errors import GoflowError, RequestFailed, RequestTimeout, RuntimeUnavailable
from goflow.fsm import Pause, Resume, Retry, Rewind, Signal, Terminate
from goflow.ids import check_blueprint, check_id, check_optional_id
from goflow.model import Blueprint
from goflow.requests import Create, Item, Request, Wait

from ._exchange import exchange, exchange_batches
from .direct import direct_batches, direct_query, links_for
from ._posting import Posting
from ._reading import Reading
from ._sources import _blueprints
from .messages import Batch, Boot, Booted, Deploy, Query, QueryReply, WhereIsDispatcher
from .system import ROOT_NAME, attach, start_embedded

__all__ = ["Engine"]

log = logging.getLogger("goflow.api")
DEFAULT_TIMEOUT = 30.0


class Engine(Reading, Posting):
    """A handle on a running GoFlow engine (embedded or daemon)."""

    def __init__(self, system, root, dispatcher, *, owns_system: bool, timeout: float = DEFAULT_TIMEOUT,
                 recovered: int = 0, clock=None, client: ClientSection | None = None):
        self._asys, self._root, self._dispatcher = system, root, dispatcher
        self.client = client or ClientSection()     # client.batch_items, client.batches_in_flight
        self.clock = clock              # a manual clock the hosts read (embedded, tests); None: real time
        self._owns = owns_system
        self.timeout = timeout
        self.recovered = recovered
        self._lock = threading.RLock()
        self._rids = itertools.count(1)
        self._links = None              # a daemon client's direct path to the hosts (actors/direct.py)

    # ------------------------------------------------------------------------------ life cycle
    @classmethod
    def embedded(cls, data_dir: str | os.PathLike | None = None, *, blueprints: Iterable = (),
                 shards: int | None = None, concurrency: int | None = None, timeout: float = DEFAULT_TIMEOUT,
                 clock=None, settings: Config | None = None, **options) -> "Engine":
        """Run the engine inside this process (Thespian's simpleSystemBase) on ``data_dir``, in the
        background: a thread of its own (``goflow-engine``) runs the actors, so instances, timers and
        worker calls move on while the caller does other work; :meth:`close` (or the end of a ``with``
        block) stops it and joins its threads.

        ``settings`` (default: ``Config()``, every default) with ``data_dir``, ``shards``,
        ``concurrency`` and ``options`` applied: any setting by its key name or ``section_key``
        (``event_bytes=1000``, ``http_transport="httpx"``, ``retry_backoff="fixed"``); None = unchanged.
        An unknown name or a bad value raises :class:`~goflow.errors.ConfigError` naming it.

        ``clock``: a :class:`goflow.testing.ManualClock` for the hosts (instance times, durable timers)
        instead of the wall clock; its timers then fire on :meth:`advance`, never on their own."""
        settings = (settings or Config()).with_options(
            dict(options, engine_data_dir=None if data_dir is None else os.fspath(data_dir),
                 engine_shards=shards, engine_concurrency=concurrency)).for_engine(in_daemon=False, clock=clock)
        asys = start_embedded()
        try:
            return cls._boot(asys, settings, _blueprints(blueprints), owns=True, timeout=timeout)
        except BaseException:
            asys.shutdown()
            raise

    @classmethod
    def connect(cls, port: int, *, timeout: float = DEFAULT_TIMEOUT, settings: Config | None = None) -> "Engine":
        """Attach to a running daemon's actor system on 127.0.0.1:``port``; ``settings``: its
        ``client`` section is how this client sends (default: ``Config()``'s)."""
        asys = attach(port)
        root = asys.createActor("actors.root.Root", globalName=ROOT_NAME)
        eng = cls(asys, root, None, owns_system=False, timeout=timeout, client=(settings or Config()).client)
        rid = next(eng._rids)
        reply = eng._call(root, WhereIsDispatcher(rid), rid, timeout=min(timeout, 10.0))
        if reply.dispatcher is None:
            raise RuntimeUnavailable(f"the daemon on port {port} has not booted")
        eng._dispatcher = reply.dispatcher
        eng._links = links_for(eng._query("info"))
        return eng

    @classmethod
    def _boot(cls, asys, settings: Config, blueprints: list[Blueprint], *, owns: bool,
              timeout: float) -> "Engine":
        root = asys.createActor("actors.root.Root", globalName=ROOT_NAME)
        eng = cls(asys, root, None, owns_system=owns, timeout=timeout, clock=settings.clock,
                  client=settings.client)
        rid = next(eng._rids)
        booted: Booted = eng._call(root, Boot(settings, rid, blueprints), rid, timeout=max(timeout, 60.0))
        if booted.error is not None:
            raise booted.error
        eng._dispatcher, eng.recovered = booted.dispatcher, booted.recovered
        return eng

    def close(self) -> None:
        """Stop an embedded engine (everything it committed stays in its data directory); for a
        daemon client, just let go of the connection (the daemon keeps running)."""
        with self._lock:
            if self._asys is not None and self._owns:
                self._stop_actors()
                self._asys.shutdown()
            self._asys = None
            self._let_go()

    def shutdown(self) -> None:
        """Stop the engine, embedded or daemon, and its actor system."""
        with self._lock:
            if self._asys is not None:
                if self._owns:
                    self._stop_actors()
                self._asys.shutdown()
            self._asys = None
            self._let_go()

    def _let_go(self) -> None:
        links, self._links = self._links, None
        if links is not None:
            links.close()

    def _stop_actors(self) -> None:
        # simpleSystemBase's shutdown() sends no ActorExitRequest: without this the hosts keep their
        # stores open (a new engine on the same data directory cannot open them) and the worker
        # proxies' call pools (threads, connections) run on. Killing the root exits its children too.
        try:
            self._asys.tell(self._root, ActorExitRequest())
        except Exception:  # noqa: BLE001 - shutting down goes on whatever happened
            log.warning("stopping the actors failed", exc_info=True)

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------ blueprints
    def deploy(self, *sources) -> list[tuple]:
        """Deploy blueprints: paths (files or directories), Blueprint objects or documents.
        Returns the ``(project, activity, version)`` keys deployed."""
        bps = _blueprints(sources)
        rid = next(self._rids)
        return [tuple(k) for k in self._value(self._call(self._dispatcher, Deploy(rid, bps), rid))]

    # ------------------------------------------------------------------------------- instances
    def start(self, blueprint: str, input: dict | None = None, *, id: str | None = None,
              version: int | None = None) -> str:
        """Start an instance of ``"project/activity"``; returns its id."""
        return self.start_many(blueprint, [input or {}], ids=[id] if id is not None else None, version=version)[0]

    def start_many(self, blueprint: str, inputs: Sequence[dict], *, ids: Sequence[str] | None = None,
                   version: int | None = None) -> list[str]:
        project, activity = check_blueprint(blueprint)
        ids = [check_id(i) for i in ids] if ids is not None else [uuid.uuid4().hex for _ in inputs]
        items = [Item(iid, Create(project, activity, dict(inp or {}), version)) for iid, inp in zip(ids, inputs)]
        for res in self._batch(items):
            if isinstance(res, Exception):
                raise res
        return ids

    def send(self, instance_id: str, event: str, data: Any = None, *, event_id: str | None = None) -> dict:
        """Send an event; returns once it is durable: ``{id, state, status, duplicate}``."""
        check_optional_id(event_id)
        return self._one(instance_id, Signal(event, data, event_id))

    def send_many(self, events: Iterable[tuple]) -> list:
        """``(instance_id, event[, data[, event_id]])`` each; returns a result or the error, each
        (an id that breaks the identifier rule is an :class:`InvalidIdentifier` in its place, and the
        others are sent)."""
        out: list = []
        items, where = [], []
        for ev in events:
            iid, name, data, eid = (tuple(ev) + (None, None))[:4]
            try:
                check_id(iid)
                check_optional_id(eid)
            except GoflowError as exc:
                out.append(exc)
                continue
            where.append(len(out))
            out.append(None)
            items.append(Item(iid, Signal(name, data, eid)))
        for i, res in zip(where, self._batch(items) if items else ()):
            out[i] = res
        return out

    def pause(self, instance_id: str) -> dict:
        return self._one(instance_id, Pause())

    def resume(self, instance_id: str) -> dict:
        return self._one(instance_id, Resume())

    def terminate(self, instance_id: str, reason: str | None = None, *, force: bool = False) -> dict:
        """Terminate: where the current state handles ``cancel`` it is delivered first (the flow's
        compensation, SPEC §8) and the instance goes on; else, or with ``force``, it ends at once."""
        return self._one(instance_id, Terminate(reason or "terminated", force))

    def retry(self, instance_id: str, *, by: str = "code") -> dict:
        """Run the step a failed instance failed in again (a new step); :class:`WrongStatus` when it
        is not failed in a step. ``by`` is recorded in the history (api, cli, code)."""
        return self._one(instance_id, Retry(by))

    def rewind(self, instance_id: str, to: str, *, by: str = "code") -> dict:
        """Move a failed, terminated or waiting instance back to state ``to`` (one it has visited:
        else :class:`NotVisited`) and deliver ``start`` there."""
        return self._one(instance_id, Rewind(to, by))

    def wait(self, instance_id: str, timeout: float | None = None, *, state: str | None = None,
             status: str | None = None) -> dict:
        """Wait until the instance is in ``state`` or has ``status`` (any of those given) or has
        ended (without conditions: until it has ended); returns its status. The host answers when
        the condition holds: no polling. :class:`RequestTimeout` after ``timeout`` seconds (None:
        the engine's request timeout)."""
        try:
            return self._one(instance_id, Wait(state, status), timeout=timeout)
        except RequestTimeout as exc:
            if getattr(exc, "gone", False):   # the host died before it answered: say that
                raise
            want = " or ".join([f"in state {state!r}"] * bool(state) + [f"{status}"] * bool(status)
                               + ["ended"])
            raise RequestTimeout(f"instance {instance_id!r} was not {want} within "
                                 f"{self.timeout if timeout is None else timeout:g}s") from None

    def wait_all(self, instance_ids: Sequence[str], timeout: float | None = None, *, state: str | None = None,
                 status: str | None = None) -> list[dict]:
        """:meth:`wait` for each instance (the same conditions); their statuses, in order."""
        items = [Item(check_id(iid), Wait(state, status)) for iid in instance_ids]
        out = self._batch(items, timeout=timeout) if items else []
        for res in out:
            if isinstance(res, Exception):
                raise res
        return out

    def advance(self, seconds: float = 0.0) -> int:
        """Move the engine's manual clock ``seconds`` forward, then have every host fire the timers
        (delays, async timeouts) due by then; returns how many fired. Their effects (worker calls) go
        on as usual: :meth:`wait` for the outcome."""
        if self.clock is None:
            raise GoflowError("this engine runs on the wall clock: advance() needs Engine.embedded(clock=...)")
        self.clock.advance(seconds)
        return self._query("tick").get("fired", 0)

    # ------------------------------------------------------------------------------- transport
    def _one(self, instance_id: str, request: Request, timeout: float | None = None):
        check_id(instance_id)
        res = self._batch([Item(instance_id, request)], timeout=timeout)[0]
        if isinstance(res, Exception):
            raise res
        return res

    def _batch(self, items: list[Item], timeout: float | None = None) -> list:
        """Each item's result (a value, or the GoflowError for that item), in order: the items go in
        batches of ``client.batch_items``, ``client.batches_in_flight`` at once, straight to the
        hosts (a daemon client, actors/direct.py) or through the dispatcher (actors/_exchange.py)."""
        n = self.client.batch_items
        batches = [Batch(next(self._rids), items[i:i + n]) for i in range(0, len(items), n)]
        results = self._direct(batches, timeout)     # None: through the dispatcher
        if results is None:
            results = self._call(self._dispatcher, batches, 0, timeout=timeout)
        return [v for _ok, v in results]

    def _direct(self, batches: list[Batch], timeout: float | None):
        """A daemon client's batches straight to its hosts (actors/direct.py), or None."""
        if self._links is None:
            return None
        with self._lock:
            if self._asys is None or self._links is None:
                raise RuntimeUnavailable("the engine is closed")
            return direct_batches(self._links, batches, self.client.batches_in_flight,
                                  self.timeout if timeout is None else timeout)

    def _query(self, kind: str, **args):
        rid = next(self._rids)
        reply = None
        if kind in ("status", "history") and self._links is not None:   # about one instance: its host
            with self._lock:
                if self._asys is None or self._links is None:
                    raise RuntimeUnavailable("the engine is closed")
                reply = direct_query(self._links, Query(rid, kind, args), self.timeout)
        if reply is None:
            reply = self._call(self._dispatcher, Query(rid, kind, args), rid)
        return self._value(reply)

    @staticmethod
    def _value(reply: QueryReply):
        if not reply.ok:
            raise reply.value
        return reply.value

    def _call(self, target, msg, rid: int, *, want: int | None = None, timeout: float | None = None):
        """Send ``msg``; return its reply (or, with ``want``, the ``want`` item results in order); or
        ``msg`` a list of :class:`Batch` es: their item results in order (``rid`` unused).

        A daemon client whose request to the dispatcher times out or fails (a dispatcher whose root
        died) asks the root where the dispatcher is (the root restarts a dispatcher that died, at a
        new address) before raising, so the next request reaches the new one. The request itself is
        not resent: it may have been applied."""
        try:
            return self._exchange(target, msg, rid, want=want, timeout=timeout)
        except (RequestTimeout, RequestFailed):
            if not self._owns and target is self._dispatcher and self._asys is not None:
                self._refresh_dispatcher()
            raise

    def _refresh_dispatcher(self) -> None:
        # the root too may be new (restarted by its heart, actors/heart.py): look it up by name first
        try:
            with self._lock:
                if self._asys is None:
                    return
                self._root = self._asys.createActor("actors.root.Root", globalName=ROOT_NAME)
        except Exception as exc:  # noqa: BLE001 - no admin answers: the request's timeout is raised
            log.warning("api.root_lookup_failed error=%s", exc)
            return
        rid = next(self._rids)
        try:
            reply = self._exchange(self._root, WhereIsDispatcher(rid), rid, timeout=min(self.timeout, 5.0))
        except RequestTimeout:
            return
        if reply.dispatcher is not None and reply.dispatcher != self._dispatcher:
            log.warning("api.dispatcher_moved old=%s new=%s", self._dispatcher, reply.dispatcher)
            self._dispatcher = reply.dispatcher

    def _exchange(self, target, msg, rid: int, *, want: int | None = None, timeout: float | None = None):
        timeout = self.timeout if timeout is None else timeout
        with self._lock:
            if self._asys is None:
                raise RuntimeUnavailable("the engine is closed")
            if isinstance(msg, list):
                return exchange_batches(self._asys, target, msg, window=self.client.batches_in_flight,
                                        timeout=timeout, owned=self._owns)
            return exchange(self._asys, target, msg, rid, want=want, timeout=timeout, owned=self._owns)
