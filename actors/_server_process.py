"""The shell the two API server processes share around their own ``serve()`` (HTTP: ``actors.http_api``,
gRPC: ``actors.grpc_server``): running it in the foreground until SIGINT/SIGTERM, serving until stopped or
until the daemon's admin is gone, and the detached process's command line (``python -m MODULE``, what
:func:`actors._spawn.spawn_server` runs): its options and its body.
"""
from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import Callable

import click

from goflow.config import LOOPBACK, LimitsSection, LoggingSection, is_loopback
from goflow.errors import GoflowError

from ._spawn import ready_writer
from .bridge import DEFAULT_WINDOW

__all__ = ["run_foreground", "serve_until_stopped", "server_command"]


def run_foreground(serve: Callable, daemon_port: int, port: int, address: str = LOOPBACK, **kw) -> None:
    """Run ``serve(daemon_port, port, address, stop=..., **kw)`` until SIGINT or SIGTERM."""
    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await serve(daemon_port, port, address, stop=stop, **kw)
    asyncio.run(main())


async def serve_until_stopped(stop: asyncio.Event | None, watch_pid: int | None, log: logging.Logger,
                              name: str) -> None:
    """Return once ``stop`` is set or, with ``watch_pid``, once that process (the daemon's admin) is
    gone (logged as ``<name>.daemon_gone``)."""
    from .daemon import pid_alive
    stop = stop or asyncio.Event()
    while not stop.is_set():
        if watch_pid is not None and not pid_alive(watch_pid):
            log.warning("%s.daemon_gone pid=%s", name, watch_pid)
            return
        try:
            await asyncio.wait_for(stop.wait(), 0.5)
        except asyncio.TimeoutError:
            pass


def server_command(module: str, *, help: str, run: Callable, check_address: Callable, log: logging.Logger,
                   name: str, port: int, port_help: str, section: str, extra: tuple = ()) -> click.Command:
    """The click command of a detached server process ``python -m module``: it configures logging, refuses
    a non-loopback address without ``--allow-remote`` (``check_address``), then ``run``s in the foreground;
    a :class:`GoflowError` is logged as ``<name>.failed`` and exits 1. ``section``: the settings section
    its TLS options come from (``api``, ``grpc``); ``extra``: click options of its own, with keyword
    arguments of ``run`` of the same names."""
    options = [
        click.option("--daemon-port", type=int, required=True, help="The daemon's admin port."),
        click.option("--port", type=int, default=port, show_default=True, help=port_help),
        click.option("--address", default=LOOPBACK, show_default=True, help="The address it binds."),
        click.option("--data-dir", required=True, type=click.Path(file_okay=False),
                     help="The daemon's data directory (its api.token)."),
        click.option("--allow-remote", is_flag=True, help="Accept a non-loopback --address."),
        click.option("--tls-cert", default=None, help=f"{section}.tls_cert: the server certificate (PEM)."),
        click.option("--tls-key", default=None, help=f"{section}.tls_key: its private key (PEM)."),
        click.option("--event-bytes", type=int, default=LimitsSection.event_bytes, show_default=True,
                     help="limits.event_bytes."),
        click.option("--window-ms", type=float, default=DEFAULT_WINDOW * 1000, show_default=True,
                     help="How long an event batch stays open after its first event."),
        *extra,
        click.option("--watch-pid", type=int, default=None, help="Exit when this process (the daemon's admin) does."),
        click.option("--log-level", default=LoggingSection.level, show_default=True),
        click.option("--log-format", default=LoggingSection.format, show_default=True),
        click.option("--log-file", default=None),
        click.option("--ready-fd", type=int, default=None, hidden=True,
                     help="A pipe to write one line on once listening (the process that spawned this one waits on it)."),
    ]

    def main(daemon_port, port, address, allow_remote, window_ms, log_level, log_format, log_file, ready_fd,
             **kw) -> None:
        import logging.config
        from goflow.logs import logging_dict
        logging.config.dictConfig(logging_dict(log_level, log_format, log_file))
        try:
            check_address(address, allow_remote)
            if not is_loopback(address):
                log.warning("%s.exposed address=%s port=%s", name, address, port)
            run(daemon_port, port, address, window=window_ms / 1000, ready=ready_writer(ready_fd), **kw)
        except GoflowError as exc:
            log.error("%s.failed error=%s", name, " ".join(str(exc).split()))
            sys.exit(1)

    for option in reversed(options):
        main = option(main)
    return click.command(name=f"python -m {module}", help=help,
                         context_settings={"help_option_names": ["-h", "--help"]})(main)
