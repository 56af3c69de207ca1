"""Values of :mod:`goflow.config` settings from outside: the YAML file, the environment, strings.

Private to :mod:`goflow.config`: reading the file and the ``GOFLOW_*`` variables into flat
``{"section.key": value}`` mappings, and :func:`coerce`, which parses a string (environment, command
line) into a setting's type and checks its range or choices. A bad value raises
:class:`~goflow.errors.ConfigError` naming the key and where it came from. Pure: no Thespian, no actors.
"""
from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ._sourcemap import MAX_BYTES
from .errors import ConfigError

SYNCHRONOUS = ("off", "normal", "full", "extra")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
LOG_FORMATS = ("kv", "text")
BACKOFFS = ("fixed", "exponential")
HTTP_TRANSPORTS = ("aiohttp", "httpx", "httpx-aiohttp")   # goflow.transports.HTTP_TRANSPORTS (a test checks)


# ---------------------------------------------------------------------------------- validation
def _positive(minimum: float) -> Callable[[Any], str | None]:
    return lambda v: None if v >= minimum else f"must be at least {minimum}"


def _choice(options) -> Callable[[Any], str | None]:
    return lambda v: None if v in options else f"must be one of {', '.join(options)}"


def _address(v: str) -> str | None:
    if v == "localhost":
        return None
    try:
        ipaddress.ip_address(v)
    except ValueError:
        return "must be an IP address such as 127.0.0.1"
    return None


def _modules(v: str) -> str | None:
    names = [m.strip() for m in v.split(",")]
    if v.strip() and not all(n and all(p.isidentifier() for p in n.split(".")) for n in names):
        return "must be comma-separated module names such as myapp.workers"
    return None


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "engine.data_dir": lambda v: None if v.strip() else "must not be empty",
    "engine.shards": _positive(0),
    "engine.concurrency": _positive(1),
    "engine.synchronous": _choice(SYNCHRONOUS),
    "engine.intensity": _positive(1),
    "store.url": lambda v: None if not v or v.split(":", 1)[0] in ("postgresql", "postgres") else
    "must be empty (SQLite) or a postgresql://user@host:port/database URL",
    "store.synchronous_commit": _choice(("on", "off", "local", "remote_write", "remote_apply")),
    "engine.period": lambda v: None if v > 0 else "must be greater than 0",
    "daemon.address": _address,
    "daemon.port": lambda v: None if 1 <= v <= 65535 else "must be a TCP port, 1 to 65535",
    "daemon.start_timeout": lambda v: None if v > 0 else "must be greater than 0",
    "daemon.stop_timeout": lambda v: None if v > 0 else "must be greater than 0",
    "api.port": lambda v: None if 1 <= v <= 65535 else "must be a TCP port, 1 to 65535",
    "api.address": _address,
    "api.batch_window_ms": lambda v: None if 0 <= v <= 1000 else "must be between 0 and 1000",
    "grpc.port": lambda v: None if 1 <= v <= 65535 else "must be a TCP port, 1 to 65535",
    "grpc.address": _address,
    "workers.http_transport": _choice(HTTP_TRANSPORTS),
    "workers.python_modules": _modules,
    "retry.retry_delay": _positive(0),
    "retry.backoff": _choice(BACKOFFS),
    "retry.max_retry_delay": _positive(0),
    "retry.jitter": lambda v: None if 0 <= v <= 1 else "must be between 0 and 1",
    "limits.blueprint_bytes": lambda v: None if 1 <= v <= MAX_BYTES else
    f"must be between 1 and {MAX_BYTES} (the blueprint parser's own bound)",
    "limits.event_bytes": _positive(1),
    "limits.body_bytes": _positive(1),
    "limits.postponed": _positive(1),
    "limits.paused_events": _positive(1),
    "limits.children": _positive(1),
    "limits.child_depth": _positive(0),
    "client.batch_items": _positive(1),
    "client.batches_in_flight": _positive(1),
    "runtime.passivate_after": _positive(0),
    "runtime.cache_size": _positive(0),
    "logging.level": _choice(LOG_LEVELS),
    "logging.format": _choice(LOG_FORMATS),
}


_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def coerce(key: str, kind: type, value: Any, source: str, *, parse: bool = True) -> Any:
    """``value`` checked for ``key`` (of type ``kind``); with ``parse``, a string (environment, command
    line) is parsed."""
    if key in ("workers.python_modules", "workers.allowed_hosts") and isinstance(value, (list, tuple)) and \
            all(isinstance(m, str) for m in value):
        if not value and key == "workers.allowed_hosts":   # "" means any host: [] must not quietly mean that
            raise ConfigError(key, "an empty list would allow any host; name at least one", source)
        value = ",".join(value)     # python_modules: [] is "", no module
    if parse and isinstance(value, str) and kind is not str:
        text = value.strip()
        try:
            if kind is bool:
                if text.lower() not in _TRUE + _FALSE:
                    raise ValueError
                value = text.lower() in _TRUE
            else:
                value = kind(text)
        except ValueError:
            raise ConfigError(key, f"{value!r} is not a valid {kind.__name__}", source) from None
    elif kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (kind is not bool and isinstance(value, bool)):
        raise ConfigError(key, f"expected a {kind.__name__}, got {type(value).__name__} {value!r}", source)
    if key == "logging.level":
        value = value.upper()
    problem = _CHECKS.get(key, lambda v: None)(value)
    if problem:   # a URL may hold a password: never repeat it
        raise ConfigError(key, f"{'the URL' if key == 'store.url' else repr(value)} {problem}", source)
    return value


def read_file(path: str, sections: Iterable[str]) -> dict[str, Any]:
    """The file's settings, flat (``{"daemon.port": 7600}``); ``sections``: the known section names."""
    import yaml
    sections = tuple(sections)
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError("<file>", f"cannot read {path}: {exc.strerror or exc}", path) from None
    if len(text) > MAX_BYTES:
        raise ConfigError("<file>", f"the file is over {MAX_BYTES} bytes", path)
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        raise ConfigError("<file>", f"not valid YAML{where}: {getattr(exc, 'problem', exc)}", path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError("<file>", "the file must hold a mapping of sections", path)
    flat: dict[str, Any] = {}
    for section, body in data.items():
        if section not in sections:
            raise ConfigError(str(section), f"unknown section (known: {', '.join(sections)})", path)
        if body is None:
            continue
        if not isinstance(body, dict):
            raise ConfigError(str(section), "a section must be a mapping of keys to values", path)
        for key, value in body.items():
            flat[f"{section}.{key}"] = value
    return flat


def from_env(env: Mapping[str, str], prefix: str, sections: Iterable[str]) -> dict[str, Any]:
    """The ``<prefix><SECTION>_<KEY>`` variables of ``env``, flat (values still strings)."""
    flat: dict[str, Any] = {}
    for name, value in env.items():
        if not name.startswith(prefix):
            continue
        rest = name[len(prefix):].lower()
        for section in sections:
            if rest.startswith(section + "_"):
                flat[f"{section}.{rest[len(section) + 1:]}"] = value
                break
    return flat
