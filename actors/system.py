"""Starting and attaching to Thespian actor systems, loopback-only.

Thespian binds every socket of a multiprocTCPBase system to all interfaces (``''``), even with
``THESPIAN_BASE_IPADDR=127.0.0.1`` (``thespian/system/transport/IPBase.py``), and exchanges
unauthenticated pickled messages: anyone who can reach a port can run code in the daemon. GoFlow
therefore patches the address class so that a system whose base address is loopback binds loopback
only; the patch is applied in the starting process before the admin is forked, so the admin and every
actor process (all forked from it) inherit it.

Thespian waits a fixed 5 s (``multiprocCommon.MAX_ADMIN_STARTUP_DELAY``) for the admin it forks to
say it is up -- which the admin does once its logger process has configured logging and connected
back -- and past that raises ``InvalidActorAddress`` ("not a valid ActorSystem admin"), although the
admin may be about to answer. On a loaded machine it can take that long (measured with
the daemon's processes at nice 19 beside three busy loops: up to 4.6 s; 0.1 s on an idle machine):
a daemon start (test_crash's restart) failed so. :func:`start_system` therefore waits up to its
``timeout`` (``daemon.start_timeout``) instead, by setting that constant for the call.
"""
from __future__ import annotations

import contextlib
import logging
import os
import socket
import sys
from datetime import timedelta

from goflow import config as _config
from goflow.errors import RuntimeUnavailable

__all__ = ["ROOT_NAME", "DEFAULT_PORT", "LOOPBACK", "loopback_only", "start_embedded", "start_system",
           "attach", "port_open", "client_address"]

log = logging.getLogger("goflow.system")
ROOT_NAME = "goflow-root"
DEFAULT_PORT = _config.DEFAULT_PORT
LOOPBACK = _config.LOOPBACK
_patched = False


def loopback_only(address: str = LOOPBACK) -> None:
    """Make every Thespian TCP socket of this process (and of processes forked from it) bind
    ``address`` instead of all interfaces."""
    global _patched
    os.environ["THESPIAN_BASE_IPADDR"] = address
    if _patched:
        return
    from thespian.system.transport import IPBase

    original = IPBase.IPActorAddress.__init__

    def __init__(self, *args, **kw):
        original(self, *args, **kw)
        if self.bindname and self.bindname[0] == "":
            self.bindname = (os.environ.get("THESPIAN_BASE_IPADDR") or LOOPBACK, self.bindname[1])

    IPBase.IPActorAddress.__init__ = __init__
    _patched = True


def start_embedded():
    """A one-process actor system (simpleSystemBase), private to its caller, run by a background
    thread of its own (:class:`actors.embedded.EmbeddedSystem`)."""
    from .embedded import EmbeddedSystem
    return EmbeddedSystem()


def client_address(address: str) -> str:
    """Where a client on this machine reaches a daemon bound to ``address`` (a wildcard address is
    reached on loopback)."""
    return LOOPBACK if address in ("", "0.0.0.0", "::", "localhost") else address


def port_open(port: int, host: str = LOOPBACK, timeout: float = 0.5) -> bool:
    host = client_address(host)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def _detached_streams(log_path: str | None):
    """Point fds 0, 1 and 2 at /dev/null (stdin) and ``log_path`` (or /dev/null) while the admin is
    forked, so the daemon never holds its starter's pipes open."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(fd) for fd in (0, 1, 2)]
    devnull = os.open(os.devnull, os.O_RDWR)
    out = os.open(log_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600) if log_path else devnull
    try:
        os.dup2(devnull, 0)
        os.dup2(out, 1)
        os.dup2(out, 2)
        yield
    finally:
        for fd, copy in zip((0, 1, 2), saved):
            os.dup2(copy, fd)
            os.close(copy)
        if out != devnull:
            os.close(out)
        os.close(devnull)


@contextlib.contextmanager
def _admin_start_wait(seconds: float):
    """Thespian waits ``seconds`` (not its fixed 5) for a new admin to say it is up, within the block."""
    from thespian.system import multiprocCommon
    saved = multiprocCommon.MAX_ADMIN_STARTUP_DELAY
    multiprocCommon.MAX_ADMIN_STARTUP_DELAY = max(saved, timedelta(seconds=seconds))
    try:
        yield
    finally:
        multiprocCommon.MAX_ADMIN_STARTUP_DELAY = saved


def start_system(port: int, address: str = LOOPBACK, log_path: str | None = None, log_defs: dict | None = None,
                 *, timeout: float = 60.0):
    """Start a multiprocTCPBase system (its admin detaches and outlives this process), its standard
    streams sent to ``log_path`` (or /dev/null); ``log_defs`` is the ``dictConfig`` document of its
    logger process (every actor's log records go there). The admin has ``timeout`` seconds to come up
    (Thespian's own wait is 5 s: see the module's docstring); :class:`RuntimeUnavailable` past that."""
    from thespian.actors import ActorSystem, InvalidActorAddress
    if port_open(port, address):
        raise RuntimeUnavailable(f"port {port} is already in use (another daemon or program listens on it)")
    loopback_only(address)
    try:
        with _detached_streams(log_path), _admin_start_wait(timeout):
            return ActorSystem("multiprocTCPBase", capabilities={"Admin Port": port}, logDefs=log_defs,
                               transientUnique=True)
    except InvalidActorAddress as exc:
        raise RuntimeUnavailable(f"the actor system's admin on {address}:{port} did not come up within "
                                 f"{timeout:g} s (daemon.start_timeout) or did not answer: {exc}") from exc


def attach(port: int, address: str = LOOPBACK):
    """A client of the running multiprocTCPBase system on ``port``; never starts one."""
    from thespian.actors import ActorSystem
    address = client_address(address)
    if not port_open(port, address):
        raise RuntimeUnavailable(f"no GoFlow daemon is running on {address}:{port} (nothing listens there)")
    loopback_only(address)
    return ActorSystem("multiprocTCPBase", capabilities={"Admin Port": port}, transientUnique=True)
