"""Live history streams without polling (the gRPC ``WatchInstance``): every stream of a front-end shares
ONE engine connection and ONE thread, and each stream has one :class:`goflow.requests.Watch` held by the
instance's host at a time.

A host answers a Watch at once with the records committed after the stream's position, or holds it
(``Shard.waiters``) and answers it when that instance next commits (:mod:`goflow._shard_watch`). The
hub sends the next Watch, from the new position, as soon as an answer arrives, and hands the records to
the stream's asyncio queue; the stream ends after the answer that says nothing more can come (the
instance ended and no completion hook is in flight). So an idle stream costs nothing: no history read,
no message, until its instance commits.

The hub's thread listens on its connection (:meth:`actors.api.Engine.collect`) at most ``listen``
seconds at a time, then sends what new streams asked meanwhile: a new stream's first answer may wait
that long; the answers that follow are asked for at once. A Watch unanswered for ``resend`` seconds
(a host that restarted and lost what it held, a dispatcher that moved) is asked again on a new
connection, under the same key (the host replaces the Watch it still holds, if any). The bridge
(:mod:`actors.bridge`) is not used: a held request there would block every other call.
"""
from __future__ import annotations

import asyncio
import itertools
import logging
import queue
import threading
import time
import uuid
from typing import Any, AsyncIterator, Callable

from goflow.errors import GoflowError, RuntimeUnavailable
from goflow.requests import Item, Watch

from .bridge import REQUEST_TIMEOUT, _connect

__all__ = ["LISTEN", "PAGE", "RESEND", "WatchHub"]

log = logging.getLogger("goflow.watch")

LISTEN = 0.1      # seconds the hub's thread listens before it sends what new streams asked meanwhile
RESEND = 60.0     # seconds without an answer before a held Watch is asked again (a new connection)
PAGE = 100        # records per answer at most


class _Stream:
    __slots__ = ("iid", "key", "after", "skip", "loop", "queue", "rid", "sent", "closed")

    def __init__(self, iid: str, key: str, skip: int, loop: asyncio.AbstractEventLoop):
        self.iid, self.key, self.after, self.skip = iid, key, None, skip
        self.loop, self.queue = loop, asyncio.Queue()
        self.rid, self.sent, self.closed = None, 0.0, False

    def deliver(self, kind: str, value: Any) -> None:
        try:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, (kind, value))
        except RuntimeError:            # the stream's loop is closed: nobody listens any more
            self.closed = True


class WatchHub:
    """The streams of one front-end. :meth:`start` its thread, :meth:`watch` from the event loop,
    :meth:`close` at the end. ``requests`` counts the Watch requests sent (each is one history read
    by a host, at most two when it was held), ``answers`` the answers to them received; ``listens``
    the times the thread listened."""

    def __init__(self, daemon_port: int, timeout: float = REQUEST_TIMEOUT, *, listen: float = LISTEN,
                 resend: float = RESEND, page: int = PAGE,
                 connect: Callable[[int, float], Any] | None = None):
        self.daemon_port, self.timeout = daemon_port, timeout
        self.listen, self.resend, self.page = listen, resend, page
        self._connect = connect or _connect
        self._new: queue.SimpleQueue = queue.SimpleQueue()
        self._held: dict[int, _Stream] = {}         # request id -> the stream it answers
        self._keys = (f"{uuid.uuid4().hex[:12]}:{n}" for n in itertools.count())
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="goflow-watch", daemon=True)
        self.requests = 0
        self.answers = 0
        self.listens = 0

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=self.listen + 5)

    async def watch(self, instance_id: str, position: int = 0) -> AsyncIterator[tuple[int, dict]]:
        """``(position, record dict)`` of every record of the instance from ``position`` on, live,
        until nothing more can come. Raises the engine's error (an unknown instance:
        :class:`~goflow.errors.InstanceNotFound`)."""
        stream = _Stream(instance_id, next(self._keys), position, asyncio.get_running_loop())
        self._new.put(stream)
        try:
            index = position
            while True:
                kind, value = await stream.queue.get()
                if kind == "error":
                    raise value
                for rec in value["records"]:
                    yield index, rec
                    index += 1
                if not value["live"] and not value["more"]:
                    return
        finally:
            stream.closed = True        # its held Watch, if any, is answered once more, to no one

    # ---------------------------------------------------------------------------- the thread
    def _run(self) -> None:
        eng = None
        while not self._stopping.is_set():
            try:
                if eng is None:
                    eng = self._connect(self.daemon_port, self.timeout)
                    for stream in self._take_held():        # asked again on the new connection
                        self._ask(eng, stream)
                while not self._new.empty():
                    self._ask(eng, self._new.get_nowait())
                got = eng.collect(self.listen)
                self.listens += 1
                if got is not None:
                    self._answered(eng, *got)
                if self._held and time.monotonic() - min(s.sent for s in self._held.values()) > self.resend:
                    log.warning("watch.resend streams=%s", len(self._held))
                    eng = self._drop(eng)
            except Exception as exc:  # noqa: BLE001 - no daemon: every stream hears why, the hub goes on
                log.warning("watch.unavailable error=%s", exc)
                eng = self._drop(eng)
                err = exc if isinstance(exc, GoflowError) else RuntimeUnavailable(f"the GoFlow daemon is unavailable: {exc}")
                for stream in self._take_held() + self._take_new():
                    stream.deliver("error", err)
                self._stopping.wait(1.0)
        self._drop(eng)
        for stream in self._take_held() + self._take_new():
            stream.deliver("error", RuntimeUnavailable("the API server is stopping"))

    def _ask(self, eng, stream: _Stream) -> None:
        if stream.closed:
            return
        try:
            stream.rid = eng.post([Item(stream.iid, Watch(stream.after, stream.skip, self.page, stream.key))])
        except Exception:
            self._new.put(stream)       # asked again on the next connection, or told why not
            raise
        stream.sent = time.monotonic()
        self._held[stream.rid] = stream
        self.requests += 1

    def _answered(self, eng, rid: int, results: list) -> None:
        stream = self._held.pop(rid, None)
        if stream is None:
            return
        self.answers += 1
        if stream.closed or not results:
            return
        _index, ok, value = results[0]
        if not ok:
            stream.deliver("error", value)
            return
        try:
            if value["live"] or value["more"]:      # the next Watch is on its way before the records
                stream.after, stream.skip = value["after"], value["skip"]
                self._ask(eng, stream)
        finally:
            stream.deliver("records", value)

    def _take_held(self) -> list[_Stream]:
        streams, self._held = list(self._held.values()), {}
        return streams

    def _take_new(self) -> list[_Stream]:
        out = []
        while not self._new.empty():
            out.append(self._new.get_nowait())
        return out

    @staticmethod
    def _drop(eng) -> None:
        if eng is not None:
            try:
                eng.close()
            except Exception:  # noqa: BLE001 - a dead connection is let go whatever happens
                log.debug("watch.close_failed", exc_info=True)
        return None
