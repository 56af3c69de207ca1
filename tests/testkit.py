"""Helpers shared by the test suites that run real processes: bounded polling, process liveness,
free ports, and the TCP sockets a process listens on (read from /proc, independent of the code under
test), the processes a test starts marked in their environment, and a real daemon with its HTTP API."""
from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
import time
import uuid

__all__ = ["poll", "alive", "free_port", "listening", "is_loopback", "LOOPBACK_HEX", "with_environment",
           "MarkedProcesses", "ApiStack", "api_stack", "LoopbackApp"]

# 127.0.0.1 in /proc/net/tcp, ::1 and ::ffff:127.0.0.1 in /proc/net/tcp6
LOOPBACK_HEX = frozenset({"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"})


def poll(predicate, timeout: float, interval: float = 0.02, what: str = "condition"):
    """Call ``predicate`` until it returns a truthy value (returned) or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g}s waiting for {what} (last: {value!r})")
        time.sleep(interval)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie, dead but not yet reaped by its parent, counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return False


def free_port() -> int:
    """A free port of 127.0.0.1 outside the kernel's ephemeral range (goflow.ports: one picked by
    ``bind(0)`` and released could be taken by any process's listener or connection meanwhile)."""
    from goflow.ports import unused_port
    return unused_port("127.0.0.1")


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    return inodes


def listening(pid: int) -> list[tuple[str, int, str]]:
    """``(address hex, port, family)`` of every TCP socket of ``pid`` in state LISTEN."""
    inodes = _socket_inodes(pid)
    out = []
    for family in ("tcp", "tcp6"):
        try:
            f = open(f"/proc/{pid}/net/{family}")
        except OSError:
            continue
        with f:
            next(f)
            for line in f:
                cols = line.split()
                local, state, inode = cols[1], cols[3], cols[9]
                if state == "0A" and inode in inodes:          # 0A = LISTEN
                    addr, port = local.split(":")
                    out.append((addr, int(port, 16), family))
    return out


def is_loopback(addr_hex: str) -> bool:
    return addr_hex in LOOPBACK_HEX


def with_environment(entry: str) -> list[int]:
    """Live processes (other than this one) whose environment holds ``entry`` (``"NAME=value"``):
    tests mark every process they start this way, so a leak is found even where no pid was named."""
    needle = entry.encode()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == os.getpid():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                environ = f.read()
        except OSError:
            continue
        if needle in environ.split(b"\0") and alive(int(name)):
            found.append(int(name))
    return found


class MarkedProcesses:
    """Every process a test starts carries ``<variable>=<marker>`` in its environment (:meth:`env`);
    :meth:`left` finds the ones still alive. ``paths``: the PYTHONPATH entries they get first;
    ``drop``: variables of this process they do not inherit (besides every ``GOFLOW_*``)."""

    def __init__(self, variable: str, paths, drop=()):
        self.variable, self.paths, self.drop = variable, [str(p) for p in paths], tuple(drop)
        self.marker = uuid.uuid4().hex

    def env(self, **extra) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GOFLOW_") and k not in self.drop}
        env["PYTHONPATH"] = os.pathsep.join([*self.paths, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env[self.variable] = self.marker
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def left(self) -> list[int]:
        return with_environment(f"{self.variable}={self.marker}")

    def assert_none_left(self, timeout: float = 15.0) -> None:
        try:
            poll(lambda: not self.left(), timeout, 0.05, "every started process to exit")
        except AssertionError:
            left = self.left()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            raise AssertionError(f"processes {left} outlived the test (killed with SIGKILL)") from None


class ApiStack:
    """What :func:`api_stack` started (attributes set as it goes)."""


@contextlib.contextmanager
def api_stack(tmp, procs: MarkedProcesses, worker, blueprints, **start_options):
    """A real daemon (2 shards) serving ``blueprints`` and its HTTP API process, both on free ports of
    127.0.0.1 and marked by ``procs``; ``worker`` (closed at the end, as the daemon is stopped) is the
    test's worker. Yields an :class:`ApiStack`: ``url``, ``token``, ``auth`` headers, ``pids``, ``data``..."""
    from actors.daemon import add_process, start_daemon, stop
    from actors.http_api import spawn
    from goflow.auth import read_token
    st = ApiStack()
    st.procs, st.worker, st.tmp = procs, worker, tmp
    st.data, st.port, st.api_port = str(tmp / "data"), free_port(), free_port()
    st.log = str(tmp / "daemon.log")
    st.engine = None
    try:
        st.engine = start_daemon(st.data, port=st.port, shards=2, blueprints=blueprints,
                                 log_path=st.log, env=procs.env(), timeout=30, **start_options)
        st.pids = st.engine.pids()
        st.api_pid = spawn(st.port, st.api_port, "127.0.0.1", data_dir=st.data, log_path=st.log,
                           event_bytes=65536, watch_pid=st.pids["admin"], env=procs.env())
        add_process(st.data, "api", st.api_pid, api=f"http://127.0.0.1:{st.api_port}")
        st.url = f"http://127.0.0.1:{st.api_port}"
        st.token = read_token(st.data)
        st.auth = {"Authorization": f"Bearer {st.token}"}
        yield st
    finally:
        try:
            if st.engine is not None:
                st.engine.close()
                stop(st.data, st.port)
        finally:
            worker.close()
            procs.assert_none_left()


class LoopbackApp:
    """An aiohttp app of POST routes on 127.0.0.1 (a free port), served by its own thread and event loop
    (``self.loop``) from :meth:`_serve_posts` until :meth:`close`."""

    def _serve_posts(self, name: str, what: str, routes: dict) -> None:
        """Start serving ``routes`` (``{"/ok": handler}``); raise if ``what`` has not started within 10 s."""
        self.loop = asyncio.new_event_loop()
        self.port = free_port()
        self._routes = routes
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._serve, name=name, daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError(f"{what} did not start")

    def _serve(self) -> None:
        from aiohttp import web
        asyncio.set_event_loop(self.loop)
        app = web.Application()
        for path, handler in self._routes.items():
            app.router.add_post(path, handler)
        self._runner = web.AppRunner(app, access_log=None)
        self.loop.run_until_complete(self._runner.setup())
        self.loop.run_until_complete(web.TCPSite(self._runner, "127.0.0.1", self.port).start())
        self._ready.set()
        self.loop.run_forever()
        self.loop.run_until_complete(self._runner.cleanup())
        self.loop.close()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
