"""The gRPC API process: the Engine service of :mod:`actors.grpc_service` plus the standard health
(``grpc.health.v1``) and reflection services, over the engine bridge of :mod:`actors.bridge`, in the
foreground (``goflow grpc``) or as the detached process that ``goflow daemon start`` runs when
``grpc.enabled`` is true:

    python -m actors.grpc_server --daemon-port 7531 --data-dir DIR [--port 7533] [--address 127.0.0.1]
        [--allow-remote] [--tls-cert PEM --tls-key PEM]

docs/grpc.md describes the service, its errors and its security.
"""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Callable

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from goflow.auth import ensure_token
from goflow.config import DEFAULT_GRPC_PORT, LOOPBACK, LimitsSection, LoggingSection, is_loopback
from goflow.errors import GoflowError
from goflow.proto import engine_pb2, engine_pb2_grpc

from ._server_process import run_foreground, serve_until_stopped, server_command
from ._spawn import spawn_server
from .bridge import DEFAULT_WINDOW, MAX_BATCH, REQUEST_TIMEOUT, EngineBridge, EventBatcher
from .grpc_service import EngineService
from .watch_hub import WatchHub
from .http_requests import Limits

__all__ = ["serve", "run", "spawn", "check_address", "server_credentials", "SERVICE", "main"]

log = logging.getLogger("goflow.grpc_api")
SERVICE = engine_pb2.DESCRIPTOR.services_by_name["Engine"].full_name      # goflow.engine.v1.Engine


def check_address(address: str, allow_remote: bool) -> None:
    if not is_loopback(address) and not allow_remote:
        raise GoflowError(f"grpc.address {address} is not a loopback address; the gRPC API would be reachable "
                          f"from other machines: pass --allow-remote to accept that (and set grpc.tls_cert and "
                          f"grpc.tls_key, or the token crosses the network in clear)")


def server_credentials(cert: str | None, key: str | None) -> grpc.ServerCredentials | None:
    """TLS credentials of ``grpc.tls_cert`` and ``grpc.tls_key`` (PEM files), or None for neither."""
    if not cert and not key:
        return None
    if not cert or not key:
        raise GoflowError("grpc.tls_cert and grpc.tls_key go together: set both (PEM files) or neither")
    try:
        with open(cert, "rb") as c, open(key, "rb") as k:
            return grpc.ssl_server_credentials([(k.read(), c.read())])
    except OSError as exc:
        raise GoflowError(f"cannot load the gRPC API's TLS certificate {cert} and key {key}: "
                          f"{exc.strerror or exc}") from None


async def serve(daemon_port: int, port: int, address: str = LOOPBACK, *, data_dir: str,
                tls_cert: str | None = None, tls_key: str | None = None, event_bytes: int = LimitsSection.event_bytes,
                window: float = DEFAULT_WINDOW, max_batch: int = MAX_BATCH, stop: asyncio.Event | None = None,
                watch_pid: int | None = None, ready: Callable[[int], None] | None = None,
                timeout: float = REQUEST_TIMEOUT) -> None:
    """Serve until ``stop`` is set (or the process ``watch_pid`` is gone). Writes the token into
    ``data_dir`` the first time, then attaches to the daemon (:class:`RuntimeUnavailable` when none
    answers). ``port`` 0 picks a free port; ``ready(port)`` is called once it listens."""
    creds = server_credentials(tls_cert, tls_key)
    token = ensure_token(data_dir)
    limits = Limits(event_bytes)
    bridge = EngineBridge(daemon_port, timeout)
    hub = WatchHub(daemon_port, timeout)       # the WatchInstance streams: a connection of their own
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, bridge.connect_now)
        hub.start()
        batcher = EventBatcher(bridge, window, max_batch)
        server = grpc.aio.server(options=[("grpc.max_receive_message_length", limits.body_bytes),
                                          ("grpc.so_reuseport", 0)])
        engine_pb2_grpc.add_EngineServicer_to_server(EngineService(bridge, batcher, token, limits, hub),
                                                     server)
        checker = health.aio.HealthServicer() if hasattr(health, "aio") else health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(checker, server)
        reflection.enable_server_reflection((SERVICE, health.SERVICE_NAME, reflection.SERVICE_NAME), server)
        where = f"{address}:{port}" if ":" not in address else f"[{address}]:{port}"
        try:
            bound = server.add_secure_port(where, creds) if creds else server.add_insecure_port(where)
        except RuntimeError as exc:
            raise GoflowError(f"cannot listen on {where} for the gRPC API: {exc}") from None
        if not bound:
            raise GoflowError(f"cannot listen on {where} for the gRPC API (in use?)")
        await server.start()
        batcher.start()
        await _set(checker, "", health_pb2.HealthCheckResponse.SERVING)
        await _set(checker, SERVICE, health_pb2.HealthCheckResponse.SERVING)
        log.info("grpc_api.started address=%s port=%s daemon_port=%s tls=%s", address, bound, daemon_port,
                 creds is not None)
        try:
            if ready is not None:
                ready(bound)
            await serve_until_stopped(stop, watch_pid, log, "grpc_api")
        finally:
            await _set(checker, "", health_pb2.HealthCheckResponse.NOT_SERVING)
            await server.stop(1.0)
            await batcher.stop()
            log.info("grpc_api.stopped port=%s", bound)
    finally:
        await loop.run_in_executor(None, hub.close)
        await loop.run_in_executor(None, bridge.close)


async def _set(checker, service: str, status) -> None:
    result = checker.set(service, status)
    if asyncio.iscoroutine(result):
        await result


def run(daemon_port: int, port: int, address: str = LOOPBACK, **kw) -> None:
    """Serve in the foreground until SIGINT or SIGTERM."""
    run_foreground(serve, daemon_port, port, address, **kw)


def spawn(daemon_port: int, port: int, address: str, *, data_dir: str, log_path: str | None, event_bytes: int,
          watch_pid: int | None = None, allow_remote: bool = False, tls_cert: str | None = None,
          tls_key: str | None = None, window_ms: float = DEFAULT_WINDOW * 1000,
          log_level: str = LoggingSection.level, log_format: str = LoggingSection.format, timeout: float = 15.0,
          env: dict | None = None) -> int:
    """Start the gRPC API as a detached process (its streams on ``log_path``); return its pid once it
    listens. With ``watch_pid`` it exits when that process (the daemon's admin) does."""
    args = ["--daemon-port", str(daemon_port), "--port", str(port), "--address", address,
            "--data-dir", os.path.abspath(data_dir), "--event-bytes", str(event_bytes), "--window-ms", str(window_ms),
            "--log-level", log_level, "--log-format", log_format]
    return spawn_server("actors.grpc_server", "the gRPC API", args, port=port, address=address,
                        log_path=log_path, watch_pid=watch_pid, allow_remote=allow_remote, tls_cert=tls_cert,
                        tls_key=tls_key, env=env, timeout=timeout)


main = server_command("actors.grpc_server",
                      help="The detached gRPC API process that ``goflow daemon start`` runs (``goflow grpc`` is "
                           "the foreground command).",
                      run=run, check_address=check_address, log=log,
                      name="grpc_api", port=DEFAULT_GRPC_PORT, port_help="The gRPC API's port.", section="grpc",
                      extra=())


if __name__ == "__main__":
    main()
