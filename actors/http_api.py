"""The HTTP/JSON API process: serving the application of :mod:`actors.http_routes` (routes),
:mod:`actors.http_requests` (parsing) and :mod:`actors.http_errors` (error mapping) over the engine
bridge of :mod:`actors.bridge`, in the foreground (``goflow api``) or as the detached process that
``goflow daemon start`` runs:

    python -m actors.http_api --daemon-port 7531 --data-dir DIR [--port 7532] [--address 127.0.0.1]
        [--allow-remote] [--tls-cert PEM --tls-key PEM]

Endpoints, statuses and security: docs/http_api.md.
"""
from __future__ import annotations

import asyncio
import logging
import os
import ssl
from typing import Callable

import click
from aiohttp import web

from goflow import metrics
from goflow.auth import ensure_token
from goflow.config import DEFAULT_API_PORT, LOOPBACK, LimitsSection, LoggingSection, is_loopback
from goflow.errors import GoflowError

from ._server_process import run_foreground, serve_until_stopped, server_command
from ._spawn import spawn_server
from .bridge import DEFAULT_WINDOW, MAX_BATCH, REQUEST_TIMEOUT, EngineBridge
from .http_routes import make_app
from .http_security import Guard

__all__ = ["DEFAULT_API_PORT", "serve", "run", "spawn", "exposure_warning", "check_address", "tls_context", "main"]

log = logging.getLogger("goflow.http_api")


def exposure_warning(address: str, port: int, tls: bool = False) -> str:
    clear = ("" if tls else " Without TLS (api.tls_cert, api.tls_key) the token and all data cross the "
             "network in clear: anyone on the path can read the token and act with it.")
    return (f"WARNING: the GoFlow HTTP API listens on {address}:{port}, beyond this machine. Every request "
            f"but /health needs the token in the daemon's data directory (api.token).{clear} Allow only "
            f"trusted hosts (firewall, private network).")


def check_address(address: str, allow_remote: bool) -> None:
    if not is_loopback(address) and not allow_remote:
        raise GoflowError(f"api.address {address} is not a loopback address; the HTTP API would be reachable "
                          f"from other machines: pass --allow-remote to accept that (and set api.tls_cert and "
                          f"api.tls_key, or the token crosses the network in clear)")


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The server's TLS context of ``api.tls_cert`` and ``api.tls_key`` (PEM files), or None for
    neither; both or neither."""
    if not cert and not key:
        return None
    if not cert or not key:
        raise GoflowError("api.tls_cert and api.tls_key go together: set both (PEM files) or neither")
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        ctx.load_cert_chain(cert, key)
    except (OSError, ssl.SSLError) as exc:
        raise GoflowError(f"cannot load the HTTP API's TLS certificate {cert} and key {key}: "
                          f"{getattr(exc, 'strerror', None) or exc}") from None
    return ctx


async def serve(daemon_port: int, port: int, address: str = LOOPBACK, *, data_dir: str,
                tls_cert: str | None = None, tls_key: str | None = None, event_bytes: int = LimitsSection.event_bytes,
                window: float = DEFAULT_WINDOW, max_batch: int = MAX_BATCH, stop: asyncio.Event | None = None,
                watch_pid: int | None = None, ready: Callable[[], None] | None = None,
                timeout: float = REQUEST_TIMEOUT) -> None:
    """Serve until ``stop`` is set (or the process ``watch_pid`` is gone). Writes the token into
    ``data_dir`` the first time (goflow.auth), then attaches to the daemon: raises
    :class:`RuntimeUnavailable` when none answers on ``daemon_port``."""
    ssl_context = tls_context(tls_cert, tls_key)
    guard = Guard(ensure_token(data_dir), address, port, tls=ssl_context is not None)
    if os.path.isdir(metrics.directory(data_dir)):     # the daemon records metrics (metrics.enabled)
        metrics.enable(data_dir)
    bridge = EngineBridge(daemon_port, timeout)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, bridge.connect_now)
        app = make_app(bridge, guard, event_bytes=event_bytes, window=window, max_batch=max_batch,
                       data_dir=os.path.abspath(data_dir))
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, address, port, reuse_address=True, ssl_context=ssl_context)
            try:
                await site.start()
            except OSError as exc:
                raise GoflowError(f"cannot listen on {address}:{port} for the HTTP API: "
                                  f"{exc.strerror or exc}") from None
            log.info("api.started address=%s port=%s daemon_port=%s window_ms=%s tls=%s", address, port,
                     daemon_port, window * 1000, ssl_context is not None)
            if ready is not None:
                ready()
            await serve_until_stopped(stop, watch_pid, log, "api")
        finally:
            await runner.cleanup()
            log.info("api.stopped port=%s", port)
    finally:
        await loop.run_in_executor(None, bridge.close)


def run(daemon_port: int, port: int, address: str = LOOPBACK, **kw) -> None:
    """Serve in the foreground until SIGINT or SIGTERM."""
    run_foreground(serve, daemon_port, port, address, **kw)


def spawn(daemon_port: int, port: int, address: str, *, data_dir: str, log_path: str | None, event_bytes: int,
          watch_pid: int | None = None, allow_remote: bool = False, tls_cert: str | None = None,
          tls_key: str | None = None, window_ms: float = DEFAULT_WINDOW * 1000, max_batch: int = MAX_BATCH,
          log_level: str = LoggingSection.level, log_format: str = LoggingSection.format, timeout: float = 15.0,
          env: dict | None = None) -> int:
    """Start the API server as a detached process (its streams on ``log_path``, never a pipe); return
    its pid once it listens (its token is then in ``data_dir``). With ``watch_pid`` it exits when that
    process (the daemon's admin) does."""
    args = ["--daemon-port", str(daemon_port), "--port", str(port), "--address", address,
            "--data-dir", os.path.abspath(data_dir), "--event-bytes", str(event_bytes), "--window-ms", str(window_ms),
            "--max-batch", str(max_batch), "--log-level", log_level, "--log-format", log_format]
    return spawn_server("actors.http_api", "the HTTP API", args, port=port, address=address,
                        log_path=log_path, watch_pid=watch_pid, allow_remote=allow_remote, tls_cert=tls_cert,
                        tls_key=tls_key, env=env, timeout=timeout)


main = server_command("actors.http_api",
                      help="The detached HTTP API process that ``goflow daemon start`` runs (``goflow api`` is "
                           "the foreground command).",
                      run=run, check_address=check_address, log=log,
                      name="api", port=DEFAULT_API_PORT, port_help="The API's port.", section="api",
                      extra=(click.option("--max-batch", type=int, default=MAX_BATCH, show_default=True,
                                          help="Events per round trip."),))


if __name__ == "__main__":
    main()
