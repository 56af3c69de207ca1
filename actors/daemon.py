"""Starting and stopping the multiprocess daemon (multiprocTCPBase).

:func:`start_daemon` runs ``python -m actors.daemon start`` in a fresh process whose standard streams
are a log file (or /dev/null) and never a pipe: Thespian's admin forks from that process and
outlives it, and a daemon holding its starter's pipe would block whoever reads it (SPEC §5). The
launcher starts the actor system, boots the root supervisor — which recovers every unfinished
instance from the data directory — writes a JSON report to a file and exits; the caller then attaches
to the daemon as a client.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import subprocess
import sys
import tempfile
from typing import Iterable

from goflow.errors import RuntimeUnavailable

from .api import DEFAULT_TIMEOUT, Engine, _documents
from .system import DEFAULT_PORT, LOOPBACK, attach, start_system

__all__ = ["start_daemon", "stop_daemon", "main"]

log = logging.getLogger("goflow.daemon")


def start_daemon(data_dir: str, *, port: int = DEFAULT_PORT, shards: int = 2, concurrency: int = 256,
                 blueprints: Iterable = (), address: str = LOOPBACK, timeout: float = DEFAULT_TIMEOUT,
                 log_path: str | None = None, env: dict | None = None, **config) -> Engine:
    """Start a daemon on ``address:port`` serving ``data_dir``; return a client Engine for it."""
    cfg = dict(config, data_dir=os.path.abspath(data_dir), shards=shards, concurrency=concurrency,
               watch=True, blueprints=_documents(blueprints))
    with tempfile.TemporaryDirectory(prefix="goflow-start-") as tmp:
        cfg_path, report_path = os.path.join(tmp, "config.json"), os.path.join(tmp, "report.json")
        with open(cfg_path, "w") as f:
            json.dump(cfg, f)
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            proc = subprocess.run(
                [sys.executable, "-m", "actors.daemon", "launch", "--config", cfg_path, "--port", str(port),
                 "--address", address, "--report", report_path, "--timeout", str(timeout)],
                stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env, timeout=timeout + 30)
        finally:
            if log_path:
                out.close()
        report = {}
        if os.path.exists(report_path):
            with open(report_path) as f:
                report = json.load(f)
        if proc.returncode != 0 or not report.get("ok"):
            raise RuntimeUnavailable(f"the daemon did not start on {address}:{port}: "
                                     f"{report.get('error') or f'launcher exited with {proc.returncode}'}")
    eng = Engine.connect(port, timeout=timeout)
    eng.recovered = report.get("recovered", 0)
    return eng


def stop_daemon(port: int = DEFAULT_PORT, address: str = LOOPBACK) -> None:
    attach(port, address).shutdown()


def _launch(cfg_path: str, port: int, address: str, report_path: str, timeout: float) -> int:
    with open(cfg_path) as f:
        cfg = json.load(f)
    report: dict = {"ok": False, "port": port}
    try:
        asys = start_system(port, address)
        try:
            eng = Engine._boot(asys, cfg, (), owns=False, timeout=timeout)
        except BaseException:
            asys.shutdown()
            raise
        report.update(ok=True, recovered=eng.recovered, pids=eng.pids())
    except Exception as exc:  # reported to the caller through the report file
        report["error"] = f"{type(exc).__name__}: {exc}"
    with open(report_path, "w") as f:
        json.dump(report, f)
    return 0 if report["ok"] else 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m actors.daemon")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("launch", help="(internal) start the actor system and boot the engine")
    s.add_argument("--config", required=True)
    s.add_argument("--port", type=int, default=DEFAULT_PORT)
    s.add_argument("--address", default=LOOPBACK)
    s.add_argument("--report", required=True)
    s.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT)
    t = sub.add_parser("stop")
    t.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = p.parse_args(argv)
    if args.cmd == "launch":
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
        return _launch(args.config, args.port, args.address, args.report, args.timeout)
    stop_daemon(args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
