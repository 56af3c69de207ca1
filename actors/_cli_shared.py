"""Helpers shared by the runtime commands (``actors/_cli_*.py``): configuration from options, a
client of the daemon, JSON arguments, output, and one-line errors."""
from __future__ import annotations

import functools
import json
import os
from pathlib import Path
from typing import Any, Callable

import click

from goflow.config import Config, load_config
from goflow.errors import BlueprintError, GoflowError, RuntimeUnavailable

__all__ = ["config_option", "port_option", "json_option", "store_url_option", "check_store", "load", "connect",
           "json_arg", "emit", "one_line_errors", "load_documents", "to_json"]

config_option = click.option(
    "--config", "config_path", type=click.Path(dir_okay=False), default=None, metavar="FILE",
    help="A YAML configuration file (default: $GOFLOW_CONFIG; see config/goflow.yaml).")
port_option = click.option("--port", type=int, default=None,
                           help="The daemon's admin port (default: daemon.port of the configuration, 7531).")
json_option = click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
store_url_option = click.option(
    "--store-url", type=str, default=None, metavar="URL",
    help="Keep instances in PostgreSQL: postgresql://user@host:port/db (default: store.url, $GOFLOW_STORE_URL; "
         "none: SQLite files in the data directory).")


def load(config_path: str | None, **overrides: Any) -> Config:
    """The configuration: file/``GOFLOW_CONFIG``, ``GOFLOW_<SECTION>_<KEY>`` variables, then the
    options given (``daemon_port=...`` for ``daemon.port``), then ``goflow --log-level`` when it was
    given explicitly."""
    values = {k.replace("_", ".", 1): v for k, v in overrides.items() if v is not None}
    ctx = click.get_current_context(silent=True)
    root = ctx.find_root() if ctx is not None else None
    if root is not None and "log_level" in root.params:
        source = root.get_parameter_source("log_level")
        if source is not None and source.name != "DEFAULT":
            values.setdefault("logging.level", root.params["log_level"])
    return load_config(config_path, overrides=values)


def check_store(cfg: Config) -> None:
    """With a PostgreSQL ``store.url``: connect once before anything starts, so that a wrong URL or
    password is one clear error (a StoreError without the password) rather than a failed boot."""
    if cfg.store.url:
        from goflow.store import open_catalog
        open_catalog(cfg.data_dir, url=cfg.store.url).close()


def connect(cfg: Config):
    """A client :class:`actors.api.Engine` of the daemon the configuration names."""
    from .api import Engine
    try:
        return Engine.connect(cfg.daemon.port, timeout=30.0, settings=cfg)
    except RuntimeUnavailable as exc:
        raise RuntimeUnavailable(f"{exc}; start one with `goflow daemon start`") from None


def to_json(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, default=str)


def emit(value: Any, as_json: bool, text: str | Callable[[], str] | None = None) -> None:
    if as_json or text is None:
        click.echo(to_json(value))
    else:
        click.echo(text() if callable(text) else text)


def json_arg(text: str | None, option: str, limit: int, *, want_object: bool = True) -> Any:
    """Parse an option's JSON (``@file`` reads a file); a one-line error naming the option."""
    if text is None:
        return None
    if text.startswith("@"):
        path = text[1:]
        try:
            if os.path.getsize(path) > limit:
                raise GoflowError(f"{option}: {path} is over the limit of {limit} bytes (limits.event_bytes)")
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            raise GoflowError(f"{option}: cannot read {path}: {exc.strerror or exc}") from None
    if len(text.encode()) > limit:
        raise GoflowError(f"{option}: the JSON is over the limit of {limit} bytes (limits.event_bytes)")
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise GoflowError(f"{option}: not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if want_object and not isinstance(value, dict):
        raise GoflowError(f"{option}: expected a JSON object ({{...}}), got {type(value).__name__}")
    return value


def load_documents(paths, cfg: Config, strict: bool = False, outcome: str = "nothing deployed") -> list:
    """Load blueprint files/directories (each file bounded by limits.blueprint_bytes); print every
    problem on stderr; raise a one-line error when something does not load, ending with ``outcome``
    (what the command therefore did not do)."""
    from goflow._cli_common import format_problem
    from goflow.loading import EXTENSIONS, load_paths
    limit = cfg.limits.blueprint_bytes
    for p in paths:
        files = [Path(p)] if Path(p).is_file() else \
            [f for f in Path(p).rglob("*") if f.is_file() and f.suffix.lower() in EXTENSIONS]
        for f in files:
            if f.stat().st_size > limit:
                raise GoflowError(f"{f}: over the limit of {limit} bytes for a blueprint (limits.blueprint_bytes)")
    from goflow.transports import policy_from_config
    result = load_paths([str(p) for p in paths], strict=strict,   # with the endpoints the settings refuse
                        endpoints=policy_from_config(cfg))
    for problem in result.problems:
        click.echo(format_problem(problem), err=True)
    if not result.ok or not result.blueprints:
        errors = sum(1 for p in result.problems if p.level == "error")
        what = f"{errors} error{'s' if errors != 1 else ''}, listed above" if errors else "no blueprint found"
        raise GoflowError(f"the blueprints in {', '.join(map(str, paths))} did not load ({what}); {outcome}")
    return list(result.blueprints)


def one_line_errors(fn: Callable) -> Callable:
    """Turn the errors a runtime command can meet into ``Error: <one line>`` and exit 1."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except BlueprintError as exc:
            for p in exc.problems:
                click.echo(str(p), err=True)
            raise click.ClickException(f"{len(exc.problems)} blueprint problem(s); nothing deployed") from None
        except GoflowError as exc:
            raise click.ClickException(" ".join(str(exc).split())) from None
        except TimeoutError as exc:
            raise click.ClickException(f"timed out: {exc}") from None
        except OSError as exc:
            raise click.ClickException(f"{exc.strerror or exc}"
                                       + (f": {exc.filename}" if exc.filename else "")) from None
    return wrapper
