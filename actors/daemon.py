"""Starting and stopping the multiprocess daemon (multiprocTCPBase).

:func:`start_daemon` runs ``python -m actors.daemon launch`` in a fresh process whose standard streams
are a log file (or /dev/null) and never a pipe: Thespian's admin forks from that process and
outlives it, and a daemon holding its starter's pipe would block whoever reads it (SPEC §5). The
launcher starts the actor system, boots the root supervisor — which recovers every unfinished
instance from the data directory — writes the pid files and a JSON report, and exits; the caller then
attaches to the daemon as a client.

Files in the data directory while a daemon runs: ``goflow.pid`` (the admin's pid, one line, for
``kill``/systemd) and ``daemon.json`` (port, address, every process id). :func:`stop` removes them.

SIGTERM: Thespian's admin installs no SIGTERM handler, so by default a SIGTERM kills the admin alone
and orphans the actor processes. The launcher therefore installs a handler before the admin is forked
(the admin inherits it; actor processes install their own): on SIGTERM the admin starts ``python -m
actors.daemon stop``, which attaches and shuts the actor system down cleanly, as ``goflow daemon
stop`` does.

The root's heart (``actors/heart.py``): the launcher arms it before the admin is forked; when the
root dies, the admin runs ``python -m actors.daemon revive``, which boots a new root.
"""
from __future__ import annotations

import argparse
import gc
import json
import logging
import logging.config
import os
import signal
import subprocess
import sys
import tempfile
import time
from typing import Iterable

from goflow import metrics
from goflow.config import Config, DaemonSection, LoggingSection
from goflow.errors import GoflowError, RuntimeUnavailable
from goflow.files import open_append, private_dir, private_file, write_atomic
from goflow.logs import logging_dict

from . import heart
from ._sources import _blueprints, _documents
from .api import Engine
from .system import DEFAULT_PORT, LOOPBACK, attach, client_address, port_open, start_system

__all__ = ["start_daemon", "stop_daemon", "stop", "read_info", "pid_alive", "remove_pid_files", "add_process",
           "processes", "PID_FILE", "INFO_FILE", "main"]

log = logging.getLogger("goflow.daemon")
# The daemon's sys.path never gains the current directory implicitly (SPEC §12): python:// must not
# import a module that happens to sit where the daemon was started. -P (Python 3.11+) keeps
# `python -m` from putting it first; main() drops it on 3.10.
SAFE_PATH = ["-P"] if sys.version_info >= (3, 11) else []
PID_FILE = "goflow.pid"
INFO_FILE = "daemon.json"
THESPIAN_LOG = "thespian.log"
DAEMON_GC_THRESHOLDS = (50_000, 20, 100)   # gc.set_threshold in every daemon process (default: 700, 10, 10)


def start_daemon(data_dir: str | None = None, *, port: int | None = None, shards: int | None = None,
                 concurrency: int | None = None, blueprints: Iterable = (), address: str | None = None,
                 timeout: float | None = None, log_path: str | None = None, env: dict | None = None,
                 log_level: str | None = None, log_format: str | None = None, settings: Config | None = None,
                 **options) -> Engine:
    """Start a daemon serving ``data_dir``; return a client Engine for it. Writes ``goflow.pid`` and
    ``daemon.json`` into ``data_dir``.

    ``settings`` (default: ``Config()``) with the arguments applied: ``data_dir`` (engine.data_dir),
    ``port``/``address`` (daemon.port/address), ``shards``, ``concurrency``, ``timeout``
    (daemon.start_timeout; also the client's request timeout), ``log_path`` (daemon.log_file),
    ``log_level``/``log_format`` (logging.*) and ``options``, any other setting by its key name or
    ``section_key`` (``event_bytes=1000``); None = unchanged. ``env``: the launcher's environment."""
    settings = (settings or Config()).with_options(dict(
        options, engine_data_dir=data_dir, daemon_port=port, daemon_address=address, engine_shards=shards,
        engine_concurrency=concurrency, daemon_start_timeout=timeout, daemon_log_file=log_path,
        logging_level=log_level, logging_format=log_format)).for_engine(in_daemon=True)
    port, address, timeout = settings.daemon.port, settings.daemon.address, settings.daemon.start_timeout
    log_path = settings.log_file
    private_dir(settings.engine.data_dir)  # 0700 and ours, or refused (DataDirRefused) before anything runs
    with tempfile.TemporaryDirectory(prefix="goflow-start-") as tmp:
        cfg_path, report_path = os.path.join(tmp, "config.json"), os.path.join(tmp, "report.json")
        with open(cfg_path, "w") as f:
            json.dump({"settings": settings.values(), "blueprints": _documents(blueprints)}, f)
        cmd = [sys.executable, *SAFE_PATH, "-m", "actors.daemon", "launch", "--config", cfg_path, "--report", report_path]
        os.makedirs(os.path.dirname(log_path), exist_ok=True)
        with open_append(log_path) as out:
            proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                                  timeout=timeout + 30)
        report = {}
        if os.path.exists(report_path):
            with open(report_path) as f:
                report = json.load(f)
        if proc.returncode != 0 or not report.get("ok"):
            raise RuntimeUnavailable(f"the daemon did not start on {address}:{port}: "
                                     f"{report.get('error') or f'launcher exited with {proc.returncode}'}")
    eng = Engine.connect(port, timeout=timeout, settings=settings)
    eng.recovered = report.get("recovered", 0)
    return eng


def stop_daemon(port: int = DEFAULT_PORT, address: str = LOOPBACK) -> None:
    """Shut the daemon on ``address:port`` down (attach + shutdown); returns when Thespian does."""
    attach(port, address).shutdown()


# ----------------------------------------------------------------------------- pid files
def pid_alive(pid: int | None) -> bool:
    """True when ``pid`` is a live process (a zombie counts as gone)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except OSError:
        return True


def read_info(data_dir: str) -> dict | None:
    """The running daemon's ``daemon.json`` in ``data_dir`` (``None`` when there is none)."""
    path = os.path.join(data_dir, INFO_FILE)
    try:
        with open(path) as f:
            info = json.load(f)
    except FileNotFoundError:
        pid_path = os.path.join(data_dir, PID_FILE)
        if not os.path.exists(pid_path):
            return None
        try:
            with open(pid_path) as f:
                return {"pid": int(f.read().split()[0]), "pids": {}}
        except (OSError, ValueError, IndexError):
            return {"pid": None, "pids": {}}
    except (OSError, ValueError):
        return {"pid": None, "pids": {}}
    return info if isinstance(info, dict) else {"pid": None, "pids": {}}


def processes(eng) -> tuple[dict, dict]:
    """The one definition of a daemon's process list, for ``daemon status`` and ``/health``: the
    actor system's processes (:meth:`Engine.pids`) plus the live ones its ``daemon.json`` records
    beside them (the HTTP API that ``daemon start`` ran). Returns ``(pids, daemon.json or {})``,
    read from the data directory of the daemon ``eng`` talks to, whatever the local configuration."""
    pids = eng.pids()
    info = read_info(eng.info()["data_dir"]) or {}
    for name, pid in (info.get("pids") or {}).items():
        if name not in pids and isinstance(pid, int) and pid_alive(pid):
            pids[name] = pid
    return pids, info


def _write_pid_files(data_dir: str, info: dict) -> None:
    write_atomic(os.path.join(data_dir, INFO_FILE), json.dumps(info, indent=2) + "\n")
    write_atomic(os.path.join(data_dir, PID_FILE), f"{info['pid']}\n")


def add_process(data_dir: str, name: str, pid: int, **fields) -> None:
    """Record one more process of the daemon (the HTTP API's) in ``daemon.json``, so ``stop`` stops it
    too; ``fields`` are added at the top level (``api``: its URL)."""
    info = read_info(data_dir) or {}
    info.setdefault("pids", {})[name] = pid
    info.update(fields)
    write_atomic(os.path.join(data_dir, INFO_FILE), json.dumps(info, indent=2) + "\n")


FRONT_ENDS = {"api": b"actors.http_api", "grpc": b"actors.grpc_server"}   # daemon.json name -> module


def _stop_api(pid: int | None, module: bytes = FRONT_ENDS["api"]) -> None:
    """SIGTERM the daemon's HTTP (or gRPC) API process, if ``pid`` is still that process (not a reused pid)."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            if module not in f.read():
                return
        os.kill(pid, signal.SIGTERM)
    except (OSError, TypeError):
        pass


def remove_pid_files(data_dir: str) -> None:
    for name in (PID_FILE, INFO_FILE):
        try:
            os.unlink(os.path.join(data_dir, name))
        except FileNotFoundError:
            pass


def stop(data_dir: str | None, port: int, address: str = LOOPBACK,
         timeout: float = DaemonSection.stop_timeout) -> dict:
    """Stop the daemon on ``port`` and wait until its processes (from ``daemon.json``) are gone.

    Returns ``{"port", "pids", "stale"}``. Raises :class:`RuntimeUnavailable` when no daemon answers
    (after removing a stale pid file, which the message names)."""
    info = read_info(data_dir) if data_dir else None
    pids = {k: v for k, v in ((info or {}).get("pids") or {}).items() if v}
    if info and info.get("pid"):
        pids.setdefault("admin", info["pid"])
    if not port_open(port, address):
        for name, module in FRONT_ENDS.items():
            if pids.get(name) and pid_alive(pids[name]):
                _stop_api(pids[name], module)   # the daemon is gone; its HTTP/gRPC API goes too
                deadline = time.monotonic() + 5
                while pid_alive(pids[name]) and time.monotonic() < deadline:
                    time.sleep(0.05)
        alive = {k: v for k, v in pids.items() if pid_alive(v)}
        if info is not None and not alive:
            remove_pid_files(data_dir)
            raise RuntimeUnavailable(
                f"no GoFlow daemon is running on {client_address(address)}:{port}; removed the stale pid "
                f"file {os.path.join(data_dir, PID_FILE)} (pid {info.get('pid')} is gone)")
        if alive:
            raise RuntimeUnavailable(
                f"nothing answers on {client_address(address)}:{port}, but daemon processes of "
                f"{data_dir} are alive ({', '.join(f'{k}={v}' for k, v in sorted(alive.items()))}); "
                f"is the port right? (kill -TERM {alive.get('admin', next(iter(alive.values())))})")
        raise RuntimeUnavailable(f"no GoFlow daemon is running on {client_address(address)}:{port}")
    for name, module in FRONT_ENDS.items():
        if pids.get(name):
            _stop_api(pids[name], module)   # first: no request reaches a daemon that is going away
    stop_daemon(port, address)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(pid_alive(p) for p in pids.values()) and not port_open(port, address, 0.2):
            break
        time.sleep(0.05)
    else:
        left = {k: v for k, v in pids.items() if pid_alive(v)}
        raise RuntimeUnavailable(f"the daemon on port {port} did not stop within {timeout:g}s "
                                 f"(still alive: {left or 'the port is still open'})")
    log.info("daemon.stopped port=%s pids=%s", port, len(pids))
    if data_dir:                          # last: a missing pid file tells a watcher the stop is over
        remove_pid_files(data_dir)
    return {"port": port, "pids": pids, "stale": False}


# ------------------------------------------------------------------------------- launcher
def _install_term_handler(port: int, address: str, data_dir: str) -> None:
    """Before the admin is forked: on SIGTERM, a forked process (the admin; actor processes install
    their own handler) starts a clean stop of the whole actor system."""
    launcher = os.getpid()

    def on_term(signum, frame):
        if os.getpid() == launcher:
            raise SystemExit(128 + signum)
        signal.signal(signal.SIGTERM, signal.SIG_IGN)   # once is enough
        subprocess.Popen([sys.executable, "-m", "actors.daemon", "stop", "--port", str(port),
                          "--address", address, "--data", data_dir],
                         stdin=subprocess.DEVNULL, close_fds=True, start_new_session=True)

    signal.signal(signal.SIGTERM, on_term)


def _launch(args) -> int:
    with open(args.config) as f:
        spec = json.load(f)
    settings = Config().with_values(spec["settings"], "the launcher's settings").for_engine(in_daemon=True)
    data_dir, port, address = settings.engine.data_dir, settings.daemon.port, settings.daemon.address
    log_file = settings.log_file
    report: dict = {"ok": False, "port": port}
    # Every file a daemon process creates is private (0600, directories 0700), whatever the starter's
    # umask; Thespian's own log goes into the data directory, not a shared temporary directory.
    os.umask(0o077)
    os.environ.setdefault("THESPLOG_FILE", os.path.join(data_dir, THESPIAN_LOG))
    try:
        private_dir(data_dir)
        private_file(log_file, create=True)
        if settings.metrics.enabled:     # every actor process records here (docs/metrics.md); counters from 0
            os.environ[metrics.ENV] = metrics.reset_directory(data_dir)
        else:
            metrics.remove_directory(data_dir)
        log_defs = logging_dict(settings.logging.level, settings.logging.format, log_file)
        logging.config.dictConfig(log_defs)
        _install_term_handler(port, address, data_dir)
        heart.arm(port, address, data_dir, settings, [
            "--timeout", str(settings.daemon.start_timeout), "--log-level", settings.logging.level,
            "--log-format", settings.logging.format, "--log-file", log_file])
        # Every daemon process (forked from here) collects cyclic garbage less often: a host or proxy
        # allocates many short-lived objects per message, and at CPython's default gen-0 threshold
        # (700) the collector ran thousands of times a second, rescanning every resident instance at
        # each full collection (docs/benchmarks.md, issue 16). A daemon only: never a user's process.
        gc.set_threshold(*DAEMON_GC_THRESHOLDS)
        asys = start_system(port, address, log_file, log_defs, timeout=settings.daemon.start_timeout)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        try:
            eng = Engine._boot(asys, settings, _blueprints(spec["blueprints"]), owns=False,
                               timeout=settings.daemon.start_timeout)
            pids = eng.pids()
        except BaseException:
            asys.shutdown()
            raise
        info = {"pid": pids.get("admin"), "port": port, "address": address, "data_dir": data_dir,
                "log_file": log_file, "pids": pids, "started": time.time(), "shards": settings.shards}
        _write_pid_files(data_dir, info)
        report.update(ok=True, recovered=eng.recovered, pids=pids)
        log.info("daemon.started port=%s address=%s admin=%s recovered=%s data_dir=%s", port,
                 address, pids.get("admin"), eng.recovered, data_dir)
    except Exception as exc:  # reported to the caller through the report file
        report["error"] = str(exc) if isinstance(exc, GoflowError) else f"{type(exc).__name__}: {exc}"
        log.error("daemon.start_failed port=%s error=%s", port, report["error"])
    with open(args.report, "w") as f:
        json.dump(report, f)
    return 0 if report["ok"] else 1


def _revive(args) -> int:
    try:
        heart.revive(args.port, args.address, args.data, args.timeout)
    except Exception as exc:  # noqa: BLE001 - the log says why; the admin's heart tries again on the next death
        log.error("heart.revive_failed port=%s error=%s: %s", args.port, type(exc).__name__, exc)
        return 1
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m actors.daemon")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("launch", help="(internal) start the actor system and boot the engine")
    s.add_argument("--config", required=True, help="a JSON file: the settings and the blueprints")
    s.add_argument("--report", required=True)
    r = sub.add_parser("revive", help="(internal, run by the admin) boot a new root after the root died")
    r.add_argument("--port", type=int, required=True)
    r.add_argument("--address", default=LOOPBACK)
    r.add_argument("--data", required=True)
    r.add_argument("--timeout", type=float, default=DaemonSection.start_timeout)
    r.add_argument("--log-level", default=LoggingSection.level)
    r.add_argument("--log-format", default=LoggingSection.format)
    r.add_argument("--log-file", default=None)
    t = sub.add_parser("stop", help="stop the daemon on --port (attach + shutdown)")
    t.add_argument("--port", type=int, default=DEFAULT_PORT)
    t.add_argument("--address", default=LOOPBACK)
    t.add_argument("--data", default=None, help="its data directory (its pid files are removed)")
    args = p.parse_args(argv)
    if not getattr(sys.flags, "safe_path", False) and sys.path and \
            os.path.abspath(sys.path[0] or os.curdir) == os.getcwd():
        del sys.path[0]                   # Python 3.10: `python -m` put the current directory first
    if args.cmd == "launch":
        return _launch(args)              # its logging comes from the settings in --config
    if args.cmd == "revive":
        logging.config.dictConfig(logging_dict(args.log_level, args.log_format, args.log_file))
        return _revive(args)
    logging.config.dictConfig(logging_dict("INFO"))
    try:
        stop(args.data, args.port, args.address)
    except GoflowError as exc:
        log.error("daemon.stop_failed port=%s error=%s", args.port, exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
