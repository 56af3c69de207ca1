"""``goflow api``: the HTTP/JSON API (actors/http_api.py) in the foreground, attached to a running daemon."""
from __future__ import annotations

import click

from goflow.config import is_loopback

from ._cli_shared import config_option, load, one_line_errors

__all__ = ["api"]


@click.command()
@config_option
@click.option("--port", type=int, default=None,
              help="The API's port (default: api.port of the configuration, 7532).")
@click.option("--address", default=None, help="The address it binds (default: api.address, 127.0.0.1).")
@click.option("--daemon-port", type=int, default=None,
              help="The daemon's admin port (default: daemon.port of the configuration, 7531).")
@click.option("--allow-remote", is_flag=True, default=None,
              help="Accept a non-loopback --address (the API has no authentication: see docs/http_api.md).")
@click.option("--batch-window-ms", type=float, default=None,
              help="Event posts arriving within this many ms go in one round trip "
                   "(default: api.batch_window_ms, 2).")
@one_line_errors
def api(config_path, port, address, daemon_port, allow_remote, batch_window_ms) -> None:
    """Serve the HTTP/JSON API of the running daemon until Ctrl-C or SIGTERM (docs/http_api.md)."""
    from . import http_api
    from .system import port_open
    cfg = load(config_path, api_port=port, api_address=address, daemon_port=daemon_port,
               api_allow_remote=allow_remote or None, api_batch_window_ms=batch_window_ms)
    a = cfg.api
    http_api.check_address(a.address, a.allow_remote)
    if not port_open(cfg.daemon.port):
        raise click.ClickException(f"no GoFlow daemon is running on 127.0.0.1:{cfg.daemon.port} (nothing "
                                   f"listens there); start one with `goflow daemon start`")
    if not is_loopback(a.address):
        click.echo(http_api.exposure_warning(a.address, a.port), err=True)
    exposure = "loopback only" if is_loopback(a.address) else "EXPOSED beyond this machine"

    def ready() -> None:
        click.echo(f"goflow api listening on http://{a.address}:{a.port} (daemon port {cfg.daemon.port}, "
                   f"{exposure}); Ctrl-C stops it")

    http_api.run(cfg.daemon.port, a.port, a.address, event_bytes=cfg.limits.event_bytes,
                 window=a.batch_window_ms / 1000, ready=ready)
