"""Starting a detached API server process (HTTP: ``actors.http_api``, gRPC: ``actors.grpc_server``) for
``goflow daemon start``: its streams on a log file (never a pipe), its own session, and its pid once
its port accepts connections.
"""
from __future__ import annotations

import os
import subprocess
import sys
import time

from goflow.errors import RuntimeUnavailable


def spawn_server(module: str, what: str, args: list[str], *, port: int, address: str, log_path: str | None,
                 watch_pid: int | None, allow_remote: bool, tls_cert: str | None, tls_key: str | None,
                 env: dict | None, timeout: float) -> int:
    """Run ``python -m module args`` plus the options every server takes (``--watch-pid``,
    ``--allow-remote``, ``--tls-cert``/``--tls-key``), under umask 077 like the daemon (its files in the
    data directory -- metrics, logs -- are private); return its pid once it listens on
    ``address:port``. Raises :class:`RuntimeUnavailable` naming ``what`` (``the HTTP API``) if it
    exits first or does not listen within ``timeout`` seconds (it is then killed)."""
    from .system import port_open
    cmd = [sys.executable, "-m", module, *args]
    if watch_pid:
        cmd += ["--watch-pid", str(watch_pid)]
    if allow_remote:
        cmd.append("--allow-remote")
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path:
            cmd += [option, os.path.abspath(path)]
    out = open(log_path, "ab") if log_path else subprocess.DEVNULL
    try:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=out, env=env,
                                close_fds=True, start_new_session=True, umask=0o077)
    finally:
        if log_path:
            out.close()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeUnavailable(f"{what} did not start on {address}:{port} (exit status "
                                     f"{proc.returncode}; see {log_path or 'its output'})")
        if port_open(port, address, 0.2):
            return proc.pid
        time.sleep(0.05)
    proc.kill()
    proc.wait()
    raise RuntimeUnavailable(f"{what} did not listen on {address}:{port} within {timeout:g}s")
