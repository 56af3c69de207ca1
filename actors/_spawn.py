"""Starting a detached API server process (HTTP: ``actors.http_api``, gRPC: ``actors.grpc_server``) for
``goflow daemon start``: its streams on a log file (never a pipe), its own session, and its pid once
its own word that it listens: it writes a line on the pipe ``--ready-fd`` names once its socket is
bound and listening. A probe of the port would not do: another process may hold the port (a free port
picked by the caller can be taken meanwhile, e.g. by a Thespian actor's ephemeral listener), and a
connection to a port nobody listens on can connect to itself; either way the probe succeeds while the
server failed to bind, and the first request meets another program ("server disconnected").
"""
from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from typing import Callable

from goflow.errors import RuntimeUnavailable


def spawn_server(module: str, what: str, args: list[str], *, port: int, address: str, log_path: str | None,
                 watch_pid: int | None, allow_remote: bool, tls_cert: str | None, tls_key: str | None,
                 env: dict | None, timeout: float) -> int:
    """Run ``python -m module args`` plus the options every server takes (``--watch-pid``,
    ``--allow-remote``, ``--tls-cert``/``--tls-key``, ``--ready-fd``), under umask 077 like the daemon
    (its files in the data directory -- metrics, logs -- are private); return its pid once it says it
    listens on ``address:port`` (:func:`ready_writer`). Raises :class:`RuntimeUnavailable` naming
    ``what`` (``the HTTP API``) if it exits first or is not ready within ``timeout`` seconds (it is
    then killed)."""
    cmd = [sys.executable, "-m", module, *args]
    if watch_pid:
        cmd += ["--watch-pid", str(watch_pid)]
    if allow_remote:
        cmd.append("--allow-remote")
    for option, path in (("--tls-cert", tls_cert), ("--tls-key", tls_key)):
        if path:
            cmd += [option, os.path.abspath(path)]
    read_end, write_end = os.pipe()
    try:
        out = open(log_path, "ab") if log_path else subprocess.DEVNULL
        try:
            proc = subprocess.Popen([*cmd, "--ready-fd", str(write_end)], stdin=subprocess.DEVNULL, stdout=out,
                                    stderr=out, env=env, close_fds=True, pass_fds=(write_end,),
                                    start_new_session=True, umask=0o077)
        finally:
            if log_path:
                out.close()
            os.close(write_end)          # the child holds the only write end: EOF when it exits
        said = _read_line(read_end, time.monotonic() + timeout)
    finally:
        os.close(read_end)
    if said:
        return proc.pid
    if said is None:                     # no word within the timeout
        proc.kill()
        proc.wait()
        raise RuntimeUnavailable(f"{what} did not listen on {address}:{port} within {timeout:g}s")
    try:                                 # EOF: it exited (or closed the pipe) without being ready
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    raise RuntimeUnavailable(f"{what} did not start on {address}:{port} (exit status "
                             f"{proc.returncode}; see {log_path or 'its output'})")


def _read_line(fd: int, deadline: float) -> bytes | None:
    """What the child wrote on ``fd`` up to its first newline (b"" at EOF), or None at ``deadline``."""
    got = b""
    while not got.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            return None
        chunk = os.read(fd, 64)
        if not chunk:
            return b""
        got += chunk
    return got


def ready_writer(fd: int | None) -> Callable[..., None] | None:
    """The server side of ``--ready-fd``: a callback (the ``ready`` of ``serve``) that writes the port
    it listens on and closes ``fd``; None without one (``goflow api`` in the foreground)."""
    if fd is None:
        return None

    def ready(port: int | None = None) -> None:
        try:
            os.write(fd, f"listening {port if port is not None else ''}\n".encode())
        except OSError:                  # the starter gave up waiting (it kills us anyway)
            pass
        finally:
            os.close(fd)
    return ready
