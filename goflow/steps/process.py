"""CallProcess: worker steps performed in a child process the embedded engine starts and owns.

An engine embedded in a program runs in that program's process, and its threads share one GIL: the
worker calls' HTTP client work and the engine's own (the FSM, the SQLite commits) take turns on one
core. A ``CallProcess`` moves the calls to a helper process, so the program uses a second core the
way the daemon's worker proxies do::

    calls = CallProcess(settings, concurrency=100)     # nothing started yet
    calls.submit([job, ...])                           # starts the child on first use; never waits for calls
    ...                                                # watch calls.fileno(): readable when results arrive
    for job, result in calls.drain():                  # non-blocking
        ...
    calls.close()                                      # the child exits; reaped here

The child (:mod:`goflow.steps._call_process`, started with this process's ``sys.executable``) and
this side speak :mod:`goflow.steps.frames` over a socketpair whose other end only the child holds.
The child exits when this end closes -- :meth:`close`, or this process exiting or being killed -- so
it never outlives its parent. A job is sent to the child only when each of its workers is an endpoint
the child can make from the settings (:meth:`goflow.transports.Registry.portable`); the caller
(:class:`goflow.steps.split.SplitPool`) keeps the others, ``python://`` ones, in its own process.

If the child dies or cannot be started, :attr:`failed` says why and :meth:`drain` hands back the
jobs it had not answered (``orphans``) for the caller to perform itself: no job is ever lost.
"""
from __future__ import annotations

import dataclasses
import logging
import os
import socket
import subprocess
import sys
import threading
import weakref
from typing import Iterable

from ..jobs import Job, StepResult
from .frames import INIT, JOBS, READY, RESULTS, FrameReader, encode

__all__ = ["CallProcess", "supported"]

log = logging.getLogger("goflow.steps.process")
_LIVE: "weakref.WeakSet[CallProcess]" = weakref.WeakSet()
_BOOT = ("import sys; del sys.path[0]; "                 # not the current directory (SPEC §12)
         "from goflow.steps._call_process import main; sys.exit(main())")


def supported() -> bool:
    """Whether this platform can run a call process (POSIX: ``pass_fds``, ``MSG_DONTWAIT``)."""
    return os.name == "posix" and hasattr(socket, "MSG_DONTWAIT")


def _forget_after_fork() -> None:
    # A process forked from the program (multiprocessing's fork) must not keep the parent's end
    # open: the child would then outlive the program until that fork exited too.
    for calls in list(_LIVE):
        calls._sock.close()
        calls._closed = True


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


class CallProcess:
    """The parent's side of a call process (see the module)."""

    def __init__(self, settings, concurrency: int = 100, *, name: str = "goflow-calls"):
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, not {concurrency}")
        self.concurrency, self.name = concurrency, name
        self._settings = dataclasses.replace(settings, clock=None)   # the hosts' clock stays here
        self._sock, self._theirs = socket.socketpair()
        self._frames = FrameReader()
        self._inflight: dict = {}          # Job.key -> Job sent and not answered
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()
        self._closed = False
        self._quiet: int | None = None     # after a failure: the unused write end of the pipe at fileno()
        self.child_pid: int | None = None  # once READY came
        self.failed: str | None = None     # why the child is gone (then every job stays with the caller)
        _LIVE.add(self)

    # ------------------------------------------------------------------------------ the caller's side
    @property
    def pid(self) -> int | None:
        """The child's process id once started (None before the first job)."""
        return None if self._proc is None else self._proc.pid

    @property
    def pending(self) -> int:
        return len(self._inflight)

    def fileno(self) -> int:
        """This end of the socket: readable when results (or the child's end of file) arrived."""
        return self._sock.fileno()

    def submit(self, jobs: Iterable[Job]) -> int:
        """Send ``jobs`` to the child (started on the first call); returns how many. Blocks only
        while the socket's buffer is full (the child reads all the time). After a failure the jobs
        are kept as orphans for the next :meth:`drain`."""
        batch = list(jobs)
        if not batch:
            return 0
        if self._closed:
            raise RuntimeError("CallProcess is closed")
        for job in batch:
            self._inflight[job.key] = job
        if self.failed is None and self._proc is None:
            self._start()
        if self.failed is None:
            try:
                self._sock.sendall(encode(JOBS, batch))
            except OSError as exc:
                self._fail(f"sending jobs failed: {exc}")
        return len(batch)

    def drain(self) -> tuple[list[tuple[Job, StepResult]], list[Job]]:
        """``(results, orphans)``: every result arrived, as ``(job, StepResult)``, and -- once the
        child is gone -- the jobs it will never answer. Never blocks."""
        out: list = []
        if self.failed is None and not self._closed:
            for kind, payload in self._read():
                if kind == RESULTS:
                    for key, result in payload:
                        job = self._inflight.pop(key, None)
                        if job is not None:
                            out.append((job, result))
                elif kind == READY:
                    self.child_pid = payload
        orphans: list = []
        if self.failed is not None and self._inflight:
            orphans, self._inflight = list(self._inflight.values()), {}
        return out, orphans

    def close(self, timeout: float = 10.0) -> None:
        """Close this end (the child cancels its calls and exits) and reap the child."""
        with self._lock:
            if self._closed and self._proc is None:
                return
            self._closed = True
        for sock in (self._sock, self._theirs):
            sock.close()
        if self._quiet is not None:
            os.close(self._quiet)
            self._quiet = None
        self._reap(timeout)

    def __enter__(self) -> "CallProcess":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------------------------------- inside
    def _start(self) -> None:
        import goflow
        root = os.path.dirname(os.path.dirname(os.path.abspath(goflow.__file__)))
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (root, env.get("PYTHONPATH", "")) if p)
        fd = self._theirs.fileno()
        try:
            # stdout: nothing (a program's stdout may be a pipe its reader waits to see closed);
            # stderr: the program's, for the child's warnings and errors
            self._proc = subprocess.Popen([sys.executable, "-c", _BOOT, str(fd)], pass_fds=(fd,), env=env,
                                          stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, close_fds=True)
        except OSError as exc:
            self._fail(f"cannot start {sys.executable}: {exc}")
            return
        finally:
            self._theirs.close()         # only the child holds its end: its exit is our end of file
        log.info("call process %s started (pid %s)", self.name, self._proc.pid)
        try:
            self._sock.sendall(encode(INIT, (self._settings, self.concurrency)))
        except OSError as exc:
            self._fail(f"sending the settings failed: {exc}")

    def _read(self) -> list:
        chunks = []
        while True:
            try:
                data = self._sock.recv(1 << 18, socket.MSG_DONTWAIT)
            except (BlockingIOError, InterruptedError):
                break
            except OSError as exc:
                self._fail(f"reading failed: {exc}")
                break
            if not data:
                self._fail("the call process closed its end")
                break
            chunks.append(data)
        if not chunks:
            return []
        return self._frames.feed(b"".join(chunks))

    def _fail(self, why: str) -> None:
        if self.failed is not None or self._closed:
            return
        code = None if self._proc is None else self._proc.poll()
        self.failed = why if code is None else f"{why} (exit code {code})"
        log.error("call process %s: %s; its %d unanswered and every later step run in this process",
                  self.name, self.failed, len(self._inflight))
        # The fd stays open (an owner may watch it) but never readable again: an end of file would be
        # readable forever. A pipe's read end takes its number (whose write end stays here, unused).
        r, self._quiet = os.pipe()
        os.dup2(r, self._sock.fileno())
        os.close(r)
        self._reap(5.0)

    def _reap(self, timeout: float) -> None:
        proc = self._proc
        if proc is None:
            return
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            log.warning("call process %s (pid %s) did not exit within %s s: killed", self.name, proc.pid, timeout)
            proc.kill()
            proc.wait(timeout)
        self._proc = None if self._closed else proc
