"""``goflow grpc``: the gRPC API (actors/grpc_server.py) in the foreground, attached to a running daemon."""
from __future__ import annotations

import click

from goflow.config import is_loopback

from ._cli_shared import config_option, load, one_line_errors

__all__ = ["grpc_command"]


@click.command(name="grpc")
@config_option
@click.option("--port", type=int, default=None,
              help="The gRPC API's port (default: grpc.port of the configuration, 7533).")
@click.option("--address", default=None, help="The address it binds (default: grpc.address, 127.0.0.1).")
@click.option("--daemon-port", type=int, default=None,
              help="The daemon's admin port (default: daemon.port of the configuration, 7531).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="The daemon's data directory, where the API token is (default: engine.data_dir).")
@click.option("--allow-remote", is_flag=True, default=None,
              help="Accept a non-loopback --address (use TLS too: see docs/grpc.md).")
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None,
              help="Serve TLS with this PEM certificate (default: grpc.tls_cert).")
@click.option("--tls-key", type=click.Path(dir_okay=False), default=None,
              help="The certificate's PEM private key (default: grpc.tls_key).")
@one_line_errors
def grpc_command(config_path, port, address, daemon_port, data_dir, allow_remote, tls_cert, tls_key) -> None:
    """Serve the gRPC API (goflow.engine.v1.Engine, health, reflection) of the running daemon until
    Ctrl-C or SIGTERM (docs/grpc.md).

    Every call but the health and reflection services needs 'authorization: Bearer <token>' metadata,
    the token in <data dir>/api.token (written at the first start, mode 0600)."""
    import os

    from goflow.auth import token_path

    from . import grpc_server
    from .system import port_open
    cfg = load(config_path, grpc_port=port, grpc_address=address, daemon_port=daemon_port,
               engine_data_dir=data_dir, grpc_allow_remote=allow_remote or None, grpc_tls_cert=tls_cert,
               grpc_tls_key=tls_key)
    g = cfg.grpc
    grpc_server.check_address(g.address, g.allow_remote)
    grpc_server.server_credentials(g.tls_cert, g.tls_key)     # fail now on a bad certificate or key
    if not port_open(cfg.daemon.port):
        raise click.ClickException(f"no GoFlow daemon is running on 127.0.0.1:{cfg.daemon.port} (nothing "
                                   f"listens there); start one with `goflow daemon start`")
    exposure = "loopback only" if is_loopback(g.address) else "EXPOSED beyond this machine"
    if not is_loopback(g.address):
        click.echo(f"WARNING: the GoFlow gRPC API listens on {g.address}:{g.port}, beyond this machine"
                   f"{'' if g.tls_cert else ', without TLS: the token crosses the network in clear'}", err=True)

    def ready(bound: int) -> None:
        click.echo(f"goflow grpc listening on {g.address}:{bound}{' (TLS)' if g.tls_cert else ''} (daemon port "
                   f"{cfg.daemon.port}, {exposure}); token in {os.path.abspath(token_path(cfg.data_dir))}; "
                   f"Ctrl-C stops it")

    grpc_server.run(cfg.daemon.port, g.port, g.address, data_dir=cfg.data_dir, tls_cert=g.tls_cert or None,
                    tls_key=g.tls_key or None, event_bytes=cfg.limits.event_bytes,
                    window=cfg.api.batch_window_ms / 1000, ready=ready)
