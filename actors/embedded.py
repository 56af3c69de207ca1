"""The embedded engine's thread: a simpleSystemBase actor system run in the background, never polled.

Thespian's ``simpleSystemBase`` runs actors only inside the calling thread's ``tell``/``listen`` and
is not thread-safe, and its ``listen(t)`` returns at once when no wake-up is due within ``t`` (so a
caller looping on it spins). :class:`EmbeddedSystem` therefore gives the system ONE thread of its
own that runs its message loop, and offers the caller the part of the ``ActorSystem`` interface the
:class:`actors.api.Engine` uses::

    system = EmbeddedSystem()                 # starts the thread (it creates the actor system)
    root = system.createActor("actors.root.Root", globalName="goflow-root")   # run there; blocks
    system.tell(root, msg)                    # queued for the thread; returns at once
    reply = system.listen(1.0)                # the next message for the caller, or None after 1 s
    system.shutdown()                         # runs what was told, shuts the system down, joins

The loop: run the callers' commands (a queue), deliver the file descriptors that became readable,
run every pending message and every due wake-up, hand the messages sent to the caller to a queue,
then block in ``select`` on a self-pipe (written by :meth:`tell` and friends), the watched
descriptors and the next wake-up's due time -- never a poll. Idle, the thread sleeps until a timer
is due or something arrives.

Actors that run here can :func:`watch` a file descriptor (``ThespianWatch`` is not supported by
simpleSystemBase): the embedded worker proxy watches its :class:`goflow.steps.CallPool`'s readiness
socket and gets a ``WatchMessage`` when worker results are waiting.

It uses four pieces of simpleSystemBase that are not part of Thespian's public API (read from
``thespian/system/simpleSystemBase.py``, stable since Thespian 3.x; ``tests/runtime/
test_embedded_background.py`` fails if they change): ``ActorSystem._systemBase``, its
``_realizeWakeups()``, ``_runSends()`` (runs pending sends until none is left) and
``_next_wakeup()``, and the ``responses`` list of its ``System:ExternalRequester`` actor.
"""
from __future__ import annotations

import concurrent.futures
import logging
import queue
import selectors
import socket
import threading
from typing import Any

from goflow.errors import RuntimeUnavailable

__all__ = ["EmbeddedSystem", "current", "watch", "unwatch"]

log = logging.getLogger("goflow.embedded")
_local = threading.local()


def current() -> "EmbeddedSystem | None":
    """The embedded system whose thread is the calling one (an actor's code), else None."""
    return getattr(_local, "system", None)


def watch(fd: int, address) -> None:
    """Called by an actor: send ``WatchMessage([fd])`` to ``address`` whenever ``fd`` is readable."""
    system = current()
    if system is None:
        raise RuntimeUnavailable("watch() is for actors of an embedded engine (on its thread)")
    system._watch(fd, address)


def unwatch(fd: int) -> None:
    system = current()
    if system is not None:
        system._unwatch(fd)


class EmbeddedSystem:
    """A simpleSystemBase actor system owned by a background thread (see the module)."""

    def __init__(self, name: str = "goflow-engine"):
        self._commands: "queue.SimpleQueue[tuple]" = queue.SimpleQueue()
        self._replies: "queue.SimpleQueue[Any]" = queue.SimpleQueue()
        self._rsock, self._wsock = socket.socketpair()
        self._rsock.setblocking(False)
        self._wsock.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._rsock, selectors.EVENT_READ, None)
        self._watched: dict[int, Any] = {}
        self._stopping = False
        self._closed = False
        self._lock = threading.Lock()
        self.iterations = 0               # loop turns (a test counts them while idle)
        started: concurrent.futures.Future = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._run, args=(started,), name=name, daemon=True)
        self._thread.start()
        started.result()                  # the actor system's start-up error, raised here

    # ---------------------------------------------------------------------------- caller's side
    def tell(self, target, msg) -> None:
        self._command("tell", target, msg)

    def createActor(self, actor_class, globalName: str | None = None):  # noqa: N802 - Thespian's name
        fut: concurrent.futures.Future = concurrent.futures.Future()
        self._command("create", actor_class, globalName, fut)
        return fut.result(60.0)

    def listen(self, timeout: float | None):
        """The next message sent to the caller (``System:ExternalRequester``), or None after
        ``timeout`` seconds (0: only one already there)."""
        try:
            if not timeout or timeout <= 0:
                return self._replies.get_nowait()
            return self._replies.get(timeout=timeout)
        except queue.Empty:
            return None

    def shutdown(self, timeout: float = 30.0) -> None:
        """Run what was told before (an ``ActorExitRequest`` to the root, say), shut the actor system
        down on its thread and join the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        if self._thread is not threading.current_thread():
            self._command("stop")
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("embedded.thread_still_running after %ss", timeout)
                return
        self._selector.close()
        self._rsock.close()
        self._wsock.close()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _command(self, *cmd) -> None:
        if self._stopping or not self._thread.is_alive():
            raise RuntimeUnavailable("the embedded engine is stopped")
        self._commands.put(cmd)
        self._wake()

    def _wake(self) -> None:
        try:
            self._wsock.send(b"\x01")
        except (BlockingIOError, InterruptedError):
            pass                          # the buffer is full: the loop wakes up anyway
        except OSError:
            pass                          # closed: nothing to wake

    # ---------------------------------------------------------------------------- thread's side
    def _watch(self, fd: int, address) -> None:
        self._watched[fd] = address
        self._selector.register(fd, selectors.EVENT_READ, fd)

    def _unwatch(self, fd: int) -> None:
        if self._watched.pop(fd, None) is not None:
            self._selector.unregister(fd)

    def _run(self, started: concurrent.futures.Future) -> None:
        from thespian.actors import ActorSystem
        _local.system = self
        try:
            asys = ActorSystem("simpleSystemBase", transientUnique=True)
            base = asys._systemBase
            external = base.actorRegistry["System:ExternalRequester"]
        except BaseException as exc:  # noqa: BLE001 - handed to the starting caller
            started.set_exception(exc)
            return
        started.set_result(None)
        try:
            self._loop(asys, base, external)
        except BaseException:  # noqa: BLE001 - a dead loop must not hang its callers silently
            log.exception("embedded.loop_failed")
        finally:
            self._stopping = True
            try:
                asys.shutdown()
            except Exception:  # noqa: BLE001
                log.warning("embedded.shutdown_failed", exc_info=True)
            _local.system = None

    def _loop(self, asys, base, external) -> None:
        from thespian.actors import WatchMessage
        from thespian.system import isInternalActorSystemMessage
        from thespian.system.timing import timePeriodSeconds

        ready: list[int] = []
        while True:
            self.iterations += 1
            stop = self._run_commands(asys)
            for fd in ready:
                address = self._watched.get(fd)
                if address is not None:
                    asys.tell(address, WatchMessage([fd]))
            base._realizeWakeups()
            base._runSends()
            responses = getattr(external.instance, "responses", None)
            while responses:
                msg = responses.pop(0)
                if not isInternalActorSystemMessage(msg):
                    self._replies.put(msg)
            if stop:
                return
            nxt = base._next_wakeup()
            timeout = None if nxt is None else max(0.0, timePeriodSeconds(nxt.view().remaining()))
            ready = []
            for key, _ev in self._selector.select(timeout):
                if key.data is None:
                    self._drain_wake()
                else:
                    ready.append(key.data)

    def _drain_wake(self) -> None:
        try:
            while self._rsock.recv(4096):
                pass
        except (BlockingIOError, InterruptedError):
            pass

    def _run_commands(self, asys) -> bool:
        """Run the queued commands in order; True once ``stop`` was among them."""
        while True:
            try:
                cmd = self._commands.get_nowait()
            except queue.Empty:
                return False
            kind = cmd[0]
            if kind == "tell":
                asys.tell(cmd[1], cmd[2])
            elif kind == "create":
                fut = cmd[3]
                try:
                    fut.set_result(asys.createActor(cmd[1], globalName=cmd[2]))
                except BaseException as exc:  # noqa: BLE001 - the caller's createActor raises it
                    fut.set_exception(exc)
            elif kind == "stop":
                self._stopping = True
                return True
