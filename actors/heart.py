"""The root supervisor's heart (SPEC §12, after Erlang's ``heart``): a daemon whose root process dies
(kill -9, a crash) serves again within seconds, with no operator.

Thespian tells only a dead actor's *parent*; the root's parent is the admin (it creates every actor
a client asks for), which by itself just forgets the root's global name. Two small things make the
tree heal:

1. **Links.** Every actor process asks the kernel to SIGKILL it when its parent dies
   (``PR_SET_PDEATHSIG``, Linux). When the root dies, its dispatcher, hosts and worker proxies die
   with it at once: no orphan keeps a shard store open or runs worker calls for a tree that is gone,
   and nothing outlives ``shutdown()``. When the admin dies, the root, its tree and Thespian's
   logger go too: a kill -9 of the admin leaves no orphan behind.
2. **The heart** lives in the admin: :func:`arm` (called by the launcher before the admin is forked,
   so the admin inherits it) wraps the admin's ``ChildActorExited`` handler. When the exited child
   is the root (``goflow-root``) and the system is not shutting down, the admin starts ``python -m
   actors.daemon revive``, which attaches like any client and boots a new root from the settings
   the daemon started with. The new root recreates the dispatcher, hosts and proxies; each host reloads
   its shard from the store (the store is the truth): every unfinished instance goes on, steps in
   flight are called again with the same ``Idempotency-Key`` (at-least-once, as after any crash).
   The revive then rewrites ``daemon.json`` with the new process ids.

At most :data:`INTENSITY` revivals in :data:`PERIOD` seconds (OTP's ``intensity``/``period``): a root
that keeps dying is left dead (``heart.gave_up`` in the log) rather than restarted for ever.

Clients: a request to the dead dispatcher times out; the client then looks the root up again by its
global name and asks it for the new dispatcher (``actors.api.Engine._refresh_dispatcher``), so its
next request goes through.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time

from goflow import metrics
from goflow.config import Config

__all__ = ["INTENSITY", "PERIOD", "CONFIG_ENV", "arm", "link_to_parent", "revive"]

log = logging.getLogger("goflow.heart")
INTENSITY, PERIOD = 5, 60.0
CONFIG_ENV = "GOFLOW_REVIVE_CONFIG"
PR_SET_PDEATHSIG = 1
_state: dict = {}


# ------------------------------------------------------------------------------------------ links
def link_to_parent() -> bool:
    """Ask the kernel to SIGKILL this process when its parent dies (Linux); exit at once when the
    parent is already gone. Returns whether the link is in place."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import multiprocessing
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
        return False
    parent = multiprocessing.parent_process()
    if parent is not None and os.getppid() != parent.pid:   # it died before the link was made
        os._exit(1)
    return True


def _link_children() -> None:
    """Every Thespian actor process (and the logger) started from here on links itself to its
    parent first (the functions ``multiprocessing`` runs in the new process are patched)."""
    from thespian.system import multiprocCommon
    for name in ("startChild", "startupASLogger"):
        original = getattr(multiprocCommon, name)
        if getattr(original, "_goflow_linked", False):
            continue

        def linked(*args, _original=original, **kw):
            link_to_parent()
            return _original(*args, **kw)

        linked._goflow_linked = True
        setattr(multiprocCommon, name, linked)


# ------------------------------------------------------------------------------------------ heart
def arm(port: int, address: str, data_dir: str, settings: Config, log_args: list[str]) -> None:
    """In the launcher, before the admin is forked: link actor processes to their parents and make
    the admin revive a root that dies. ``settings`` are those the root boots from (its blueprints are
    in the catalog by then)."""
    from thespian.system.multiprocCommon import MultiProcAdmin

    from .system import ROOT_NAME

    _link_children()
    _state.update(port=port, address=address, data_dir=data_dir, log_args=list(log_args),
                  config=json.dumps(settings.values()), beats=[],
                  children=[])
    if getattr(MultiProcAdmin, "_goflow_heart", False):
        return
    original = MultiProcAdmin.h_ChildActorExited

    def h_ChildActorExited(self, envelope):
        was_root = getattr(self, "_globalNames", {}).get(ROOT_NAME) == envelope.message.childAddress
        result = original(self, envelope)
        if was_root and not self.isShuttingDown():
            _root_died()
        return result

    MultiProcAdmin.h_ChildActorExited = h_ChildActorExited
    MultiProcAdmin._goflow_heart = True


def _root_died() -> None:
    """In the admin: start a revive, unless the root died too often lately."""
    now = time.monotonic()
    _state["children"] = [p for p in _state["children"] if p.poll() is None]   # reap finished revives
    beats = _state["beats"] = [t for t in _state["beats"] if now - t < PERIOD] + [now]
    if len(beats) > INTENSITY:
        log.error("heart.gave_up restarts=%s period=%s: the root keeps dying; stop and start the daemon",
                  INTENSITY, PERIOD)
        return
    log.warning("heart.root_died restart=%s", len(beats))
    env = dict(os.environ, **{CONFIG_ENV: _state["config"]})
    try:
        _state["children"].append(subprocess.Popen(
            [sys.executable, "-m", "actors.daemon", "revive", "--port", str(_state["port"]),
             "--address", _state["address"], "--data", _state["data_dir"], *_state["log_args"]],
            stdin=subprocess.DEVNULL, close_fds=True, start_new_session=True, env=env))
    except OSError as exc:
        log.error("heart.revive_failed error=%s", exc)


def revive(port: int, address: str, data_dir: str, timeout: float) -> dict:
    """(The ``revive`` command.) Boot a new root on the running daemon from the settings in
    :data:`CONFIG_ENV` (``{"section.key": value}``); rewrite ``daemon.json``'s process ids. Returns
    the new ids."""
    from .api import Engine
    from .daemon import INFO_FILE, read_info
    from .system import attach
    from goflow.files import write_atomic

    settings = Config().with_values(json.loads(os.environ[CONFIG_ENV]), CONFIG_ENV).for_engine(in_daemon=True)
    t0 = time.monotonic()
    eng = Engine._boot(attach(port, address), settings, [], owns=False, timeout=timeout)
    pids = eng.pids()
    info = read_info(data_dir) or {}
    if info.get("port") == port:          # still this daemon's file: keep its other fields (api, ...)
        info["pids"] = dict(info.get("pids") or {}, **pids)
        write_atomic(os.path.join(data_dir, INFO_FILE), json.dumps(info, indent=2) + "\n")
    log.warning("heart.revived root=%s recovered=%s seconds=%.3f", pids.get("root"), eng.recovered,
                time.monotonic() - t0)
    metrics.setup(settings)                # last: daemon.json and the log line come first for watchers
    metrics.restart("root")
    return pids
