"""``goflow daemon start|stop|status`` and ``goflow deploy``: the daemon's life cycle."""
from __future__ import annotations

import getpass
import logging
import os
import signal
import time

import click

from goflow.config import Config, is_loopback
from goflow.errors import GoflowError, RuntimeUnavailable
from goflow.files import private_dir

from ._cli_shared import (config_option, connect, emit, json_option, load, load_documents, one_line_errors,
                          port_option, store_url_option, check_store)

__all__ = ["daemon", "deploy", "exposure_warning"]

log = logging.getLogger("goflow.cli")
_data_option = click.option("--data", "data_dir", type=str, default=None, metavar="DIR",
                            help="The data directory (default: engine.data_dir of the configuration).")


def exposure_warning(address: str, port: int) -> str:
    return (f"WARNING: the daemon listens on {address}:{port}, beyond this machine. Thespian exchanges "
            f"unauthenticated pickled messages: anyone who can reach this port can run code as "
            f"{getpass.getuser()!r}. Allow only trusted hosts (firewall, private network).")


def _check_data_dir(path: str) -> None:
    if os.path.exists(path):
        if not os.path.isdir(path):
            raise GoflowError(f"the data directory {path} is not a directory")
        if not os.access(path, os.R_OK | os.W_OK | os.X_OK):
            raise GoflowError(f"the data directory {path} is not readable and writable by this user")
        return
    parent = os.path.dirname(path.rstrip(os.sep)) or "."
    while not os.path.exists(parent):
        parent = os.path.dirname(parent)
    if not os.access(parent, os.W_OK | os.X_OK):
        raise GoflowError(f"cannot create the data directory {path}: {parent} is not writable by this user")


def _pid_info(cfg: Config) -> tuple[dict | None, bool]:
    """(daemon.json of the data dir, whether its admin process is alive)."""
    from .daemon import pid_alive, read_info
    info = read_info(cfg.data_dir) if os.path.isdir(cfg.data_dir) else None
    return info, bool(info and pid_alive(info.get("pid")))


@click.group()
def daemon() -> None:
    """Start, stop and inspect the GoFlow daemon (a multiprocess Thespian actor system)."""


@daemon.command("start")
@config_option
@_data_option
@store_url_option
@port_option
@click.option("--foreground", is_flag=True, help="Stay attached; stop the daemon on Ctrl-C or SIGTERM.")
@click.option("--allow-remote", is_flag=True, default=None,
              help="Accept a non-loopback daemon.address (unauthenticated pickle: see docs/operations.md).")
@json_option
@one_line_errors
def start(config_path, data_dir, store_url, port, foreground, allow_remote, as_json) -> None:
    """Start the daemon on 127.0.0.1 (unless configured) and deploy the configured blueprints."""
    from .daemon import remove_pid_files, start_daemon
    from .system import client_address, port_open
    cfg = load(config_path, engine_data_dir=data_dir, daemon_port=port,
               daemon_allow_remote=allow_remote or None, store_url=store_url).for_engine(in_daemon=True)
    address, port = cfg.daemon.address, cfg.daemon.port
    if not is_loopback(address) and not cfg.daemon.allow_remote:
        raise GoflowError(f"daemon.address {address} is not a loopback address; anyone who reaches it can run "
                          f"code in the daemon (unauthenticated pickle): pass --allow-remote to accept that")
    info, alive = _pid_info(cfg)
    if alive and port_open(int(info.get("port") or port), address):
        raise GoflowError(f"a daemon is already running for {cfg.data_dir} (pid {info['pid']}, port "
                          f"{info.get('port')}); stop it with `goflow daemon stop`")
    if port_open(port, address):
        raise GoflowError(f"port {port} is already in use on {client_address(address)} (another daemon or "
                          f"program listens on it); choose another with --port")
    api = cfg.api if cfg.api.enabled else None
    if api is not None:
        from .http_api import check_address
        check_address(api.address, api.allow_remote)
        if api.port == port or port_open(api.port, api.address):
            raise GoflowError(f"port {api.port} for the HTTP API (api.port) is already in use on "
                              f"{client_address(api.address)}; choose another (api.port, GOFLOW_API_PORT)")
    rpc = cfg.grpc if cfg.grpc.enabled else None
    if rpc is not None:
        from .grpc_server import check_address as check_grpc_address
        check_grpc_address(rpc.address, rpc.allow_remote)
        if rpc.port in (port, api.port if api else None) or port_open(rpc.port, rpc.address):
            raise GoflowError(f"port {rpc.port} for the gRPC API (grpc.port) is already in use on "
                              f"{client_address(rpc.address)}; choose another (grpc.port, GOFLOW_GRPC_PORT)")
    _check_data_dir(cfg.data_dir)
    check_store(cfg)
    blueprints = load_documents([cfg.daemon.blueprints], cfg) if cfg.daemon.blueprints else []
    if info is not None and not alive:
        click.echo(f"note: removed a stale pid file in {cfg.data_dir} (pid {info.get('pid')} is gone)", err=True)
        remove_pid_files(cfg.data_dir)
    if not is_loopback(address):
        click.echo(exposure_warning(address, port), err=True)
        log.warning("daemon.exposed address=%s port=%s", address, port)
    private_dir(cfg.data_dir)            # 0700, ours (or refused)
    eng = start_daemon(settings=cfg, blueprints=blueprints)
    try:
        pids = eng.pids()
    finally:
        eng.close()
    api_url = _start_api(cfg, pids) if api is not None else None
    grpc_target = _start_grpc(cfg, pids) if rpc is not None else None
    summary = {"pid": pids.get("admin"), "port": port, "address": address, "data_dir": cfg.data_dir,
               "shards": cfg.shards, "log_file": cfg.log_file, "pids": pids, "recovered": eng.recovered,
               "blueprints": [f"{b.project}/{b.activity}@{b.version}" for b in blueprints], "api": api_url,
               "grpc": grpc_target}
    exposure = "loopback only" if is_loopback(address) else "EXPOSED beyond this machine"
    api_text = (f"; HTTP API on {api_url}" if api_url else "") + (f"; gRPC API on {grpc_target}" if grpc_target else "")
    emit(summary, as_json, f"goflow daemon started: pid {summary['pid']} on {address}:{port} ({exposure}), "
                           f"{cfg.shards} shard(s), {eng.recovered} instance(s) recovered, data "
                           f"{cfg.data_dir}, log {cfg.log_file}{api_text}")
    if foreground:
        _stay(cfg, pids)


def _start_grpc(cfg: Config, pids: dict) -> str:
    """grpc.enabled: the gRPC API as a detached process, like :func:`_start_api`."""
    from . import grpc_server
    from .daemon import add_process, stop
    from .system import client_address
    rpc = cfg.grpc
    try:
        pid = grpc_server.spawn(cfg.daemon.port, rpc.port, rpc.address, data_dir=cfg.data_dir,
                                log_path=cfg.log_file, event_bytes=cfg.limits.event_bytes,
                                watch_pid=pids.get("admin"), allow_remote=rpc.allow_remote, tls_cert=rpc.tls_cert,
                                tls_key=rpc.tls_key, window_ms=cfg.api.batch_window_ms,
                                log_level=cfg.logging.level, log_format=cfg.logging.format)
    except GoflowError as exc:
        stop(cfg.data_dir, cfg.daemon.port, cfg.daemon.address, cfg.daemon.stop_timeout)
        raise GoflowError(f"{exc}; the daemon was stopped again") from None
    target = f"{client_address(rpc.address)}:{rpc.port}" + (" (TLS)" if rpc.tls_cert else "")
    pids["grpc"] = pid
    add_process(cfg.data_dir, "grpc", pid, grpc=target)
    return target


def _start_api(cfg: Config, pids: dict) -> str:
    """api.enabled: the HTTP API as a detached process (streams on the daemon log), recorded in
    daemon.json so `daemon stop` stops it; it also exits when the daemon's admin does. If it cannot
    start, the daemon is stopped again and the command fails."""
    from . import http_api
    from .daemon import add_process, stop
    api = cfg.api
    if not is_loopback(api.address):
        click.echo(http_api.exposure_warning(api.address, api.port, bool(api.tls_cert)), err=True)
    try:
        pid = http_api.spawn(cfg.daemon.port, api.port, api.address, data_dir=cfg.data_dir, log_path=cfg.log_file,
                             event_bytes=cfg.limits.event_bytes, watch_pid=pids.get("admin"),
                             allow_remote=api.allow_remote, tls_cert=api.tls_cert, tls_key=api.tls_key,
                             window_ms=api.batch_window_ms, log_level=cfg.logging.level,
                             log_format=cfg.logging.format)
    except GoflowError as exc:
        stop(cfg.data_dir, cfg.daemon.port, cfg.daemon.address, cfg.daemon.stop_timeout)
        raise GoflowError(f"{exc}; the daemon was stopped again") from None
    url = f"{'https' if api.tls_cert else 'http'}://{api.address}:{api.port}"
    pids["api"] = pid
    add_process(cfg.data_dir, "api", pid, api=url)
    return url


def _stay(cfg: Config, pids: dict) -> None:
    """--foreground: wait for SIGINT/SIGTERM, then stop the daemon (or exit 1 if it dies)."""
    from .daemon import pid_alive, stop
    stopping = []

    def on_signal(signum, frame):
        stopping.append(signum)

    old = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        click.echo("running in the foreground; Ctrl-C (or SIGTERM) stops the daemon", err=True)
        while not stopping:
            if not pid_alive(pids.get("admin")):
                raise RuntimeUnavailable(f"the daemon (pid {pids.get('admin')}) exited on its own; see {cfg.log_file}")
            time.sleep(0.2)
        stop(cfg.data_dir, cfg.daemon.port, cfg.daemon.address, cfg.daemon.stop_timeout)
        click.echo("goflow daemon stopped", err=True)
    finally:
        for s, h in old.items():
            signal.signal(s, h)


@daemon.command("stop")
@config_option
@_data_option
@port_option
@json_option
@one_line_errors
def stop_cmd(config_path, data_dir, port, as_json) -> None:
    """Stop the daemon (attach and shut the actor system down) and wait until its processes exit."""
    from .daemon import stop
    cfg = load(config_path, engine_data_dir=data_dir, daemon_port=port)
    info, _alive = _pid_info(cfg)
    if port is None and info and info.get("port"):
        port = int(info["port"])
    result = stop(cfg.data_dir, port or cfg.daemon.port, cfg.daemon.address, cfg.daemon.stop_timeout)
    emit(result, as_json, f"goflow daemon stopped (port {result['port']}; "
                          f"{len(result['pids'])} process(es) exited)")


@daemon.command("status")
@config_option
@_data_option
@port_option
@json_option
@one_line_errors
def status_cmd(config_path, data_dir, port, as_json) -> None:
    """Is the daemon running? Its process ids, port, data directory, log and instance counts, as
    the daemon itself reports them. Exit 0 when it runs, 1 when it does not."""
    from .daemon import PID_FILE, processes
    from .system import client_address, port_open
    cfg = load(config_path, engine_data_dir=data_dir, daemon_port=port)
    info, alive = _pid_info(cfg)
    if port is None and info and info.get("port"):
        port = int(info["port"])
    port = port or cfg.daemon.port
    cfg = cfg.with_values({"daemon.port": port})
    out = {"running": False, "port": port, "address": cfg.daemon.address, "data_dir": cfg.data_dir,
           "pid_file": os.path.join(cfg.data_dir, PID_FILE), "pid": (info or {}).get("pid"),
           "pids": (info or {}).get("pids") or {}, "stale_pid_file": bool(info) and not alive,
           "log_file": (info or {}).get("log_file") or cfg.log_file, "instances": {}}
    if port_open(port, cfg.daemon.address):
        eng = connect(cfg)
        try:
            # the daemon that answers says where its data directory is: its files, not the local
            # configuration's (which may name another data directory)
            out["pids"], theirs = processes(eng)
            data = eng.info()["data_dir"]
            out.update(data_dir=data, pid_file=os.path.join(data, PID_FILE), log_file=theirs.get("log_file"))
            for front in ("api", "grpc"):                     # the HTTP/gRPC APIs `daemon start` ran
                if theirs.get(front):
                    out[front] = theirs[front]
            out["pid"] = out["pids"].get("admin")
            for (_p, _a, _v, status), n in eng.counts().items():
                out["instances"][status] = out["instances"].get(status, 0) + n
        finally:
            eng.close()
        out["running"], out["stale_pid_file"] = True, False
    where = f"{client_address(cfg.daemon.address)}:{port}"
    if as_json:
        emit(out, True)
    elif out["running"]:
        counts = ", ".join(f"{n} {s}" for s, n in sorted(out["instances"].items())) or "no instances"
        click.echo(f"goflow daemon running: pid {out['pid']} on {where}, {len(out['pids'])} processes, "
                   f"data {out['data_dir']}, log {out['log_file']}; {counts}")
    if not out["running"]:
        stale = f" (stale pid file {out['pid_file']}: pid {out['pid']} is gone)" if out["stale_pid_file"] else ""
        raise GoflowError(f"no GoFlow daemon is running on {where}{stale}")


@click.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True))
@config_option
@port_option
@click.option("--strict", is_flag=True, help="Refuse blueprints with warnings too.")
@json_option
@one_line_errors
def deploy(paths, config_path, port, strict, as_json) -> None:
    """Deploy the blueprint files or directories PATHS to the running daemon."""
    cfg = load(config_path, daemon_port=port)
    blueprints = load_documents(paths, cfg, strict=strict)
    with connect(cfg) as eng:
        keys = eng.deploy(*blueprints)
    names = [f"{p}/{a}@{v}" for p, a, v in keys]
    emit({"deployed": names}, as_json, f"deployed {', '.join(names)}")
