"""``goflow api``: the HTTP/JSON API (actors/http_api.py) in the foreground, attached to a running daemon."""
from __future__ import annotations

import click

from goflow.config import is_loopback

from ._cli_shared import config_option, load, one_line_errors

__all__ = ["api", "console"]


@click.command()
@config_option
@click.option("--port", type=int, default=None,
              help="The API's port (default: api.port of the configuration, 7532).")
@click.option("--address", default=None, help="The address it binds (default: api.address, 127.0.0.1).")
@click.option("--daemon-port", type=int, default=None,
              help="The daemon's admin port (default: daemon.port of the configuration, 7531).")
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="The daemon's data directory, where the API token is (default: engine.data_dir).")
@click.option("--allow-remote", is_flag=True, default=None,
              help="Accept a non-loopback --address (use TLS too: see docs/http_api.md).")
@click.option("--tls-cert", type=click.Path(dir_okay=False), default=None,
              help="Serve HTTPS with this PEM certificate (default: api.tls_cert).")
@click.option("--tls-key", type=click.Path(dir_okay=False), default=None,
              help="The certificate's PEM private key (default: api.tls_key).")
@click.option("--batch-window-ms", type=float, default=None,
              help="Event posts arriving within this many ms go in one round trip "
                   "(default: api.batch_window_ms, 2).")
@one_line_errors
def api(config_path, port, address, daemon_port, data_dir, allow_remote, tls_cert, tls_key,
        batch_window_ms) -> None:
    """Serve the HTTP/JSON API of the running daemon until Ctrl-C or SIGTERM (docs/http_api.md).

    Every request but GET /health and GET /openapi.json needs 'Authorization: Bearer <token>', the
    token in <data dir>/api.token (written at the first start, mode 0600)."""
    import os

    from goflow.auth import token_path

    from . import http_api
    from .system import port_open
    cfg = load(config_path, api_port=port, api_address=address, daemon_port=daemon_port,
               engine_data_dir=data_dir, api_allow_remote=allow_remote or None, api_tls_cert=tls_cert,
               api_tls_key=tls_key, api_batch_window_ms=batch_window_ms)
    a = cfg.api
    http_api.check_address(a.address, a.allow_remote)
    http_api.tls_context(a.tls_cert, a.tls_key)          # fail now on a bad certificate or key
    if not port_open(cfg.daemon.port):
        raise click.ClickException(f"no GoFlow daemon is running on 127.0.0.1:{cfg.daemon.port} (nothing "
                                   f"listens there); start one with `goflow daemon start`")
    tls = bool(a.tls_cert)
    if not is_loopback(a.address):
        click.echo(http_api.exposure_warning(a.address, a.port, tls), err=True)
    exposure = "loopback only" if is_loopback(a.address) else "EXPOSED beyond this machine"
    scheme = "https" if tls else "http"

    def ready() -> None:
        click.echo(f"goflow api listening on {scheme}://{a.address}:{a.port} (daemon port {cfg.daemon.port}, "
                   f"{exposure}); token in {os.path.abspath(token_path(cfg.data_dir))}; Ctrl-C stops it")

    http_api.run(cfg.daemon.port, a.port, a.address, data_dir=cfg.data_dir, tls_cert=a.tls_cert or None,
                 tls_key=a.tls_key or None, event_bytes=cfg.limits.event_bytes,
                 window=a.batch_window_ms / 1000, ready=ready)


@click.command()
@config_option
@click.option("--data-dir", type=click.Path(file_okay=False), default=None,
              help="The daemon's data directory, where the API token is (default: engine.data_dir).")
@one_line_errors
def console(config_path, data_dir) -> None:
    """Print the console's link with the token: http://127.0.0.1:7532/ui/?token=... (docs/console.md).

    Opening it once swaps the token for a session cookie. The API serving it is the running
    daemon's (its URL in daemon.json), else api.address and api.port of the configuration."""
    from goflow.auth import client_token

    from .daemon import read_info
    cfg = load(config_path, engine_data_dir=data_dir)
    token = client_token(cfg.data_dir)
    if not token:
        raise click.ClickException(f"no API token in {cfg.data_dir} (api.token) nor GOFLOW_TOKEN: start the "
                                   f"HTTP API once (`goflow api`, or api.enabled with `goflow daemon start`)")
    url = ((read_info(cfg.data_dir) or {}).get("api") or "").rstrip("/")
    if not url:
        a = cfg.api
        host = "127.0.0.1" if a.address in ("0.0.0.0", "::", "") else a.address
        host = f"[{host}]" if ":" in host else host
        url = f"{'https' if a.tls_cert else 'http'}://{host}:{a.port}"
    click.echo(f"{url}/ui/?token={token}")
