"""GoFlow's settings: one frozen, picklable :class:`Config`, from defaults, a YAML file and the environment.

Every setting has one name, ``<section>.<key>`` (``limits.event_bytes``), and one default, written
once below in its section's dataclass (``config/goflow.yaml`` documents them; a test checks the two
agree). Precedence, lowest first: the defaults, the file (a path given to :func:`load_config`, else
the file named by ``GOFLOW_CONFIG``), the environment (``GOFLOW_<SECTION>_<KEY>``, e.g.
``GOFLOW_DAEMON_PORT=7600``), then explicit overrides (command-line options, or the keyword
arguments of ``Engine.embedded``/``start_daemon``: ``event_bytes=1000`` or ``limits_event_bytes=1000``).
An unknown section or key, and a value of the wrong type or out of range, raise
:class:`~goflow.errors.ConfigError` naming the key (``daemon.port``) and where it came from.

The actors receive this object itself (in ``Boot``, ``HostInit``, ``ProxyInit``; Thespian pickles it
between processes) and read its fields: :meth:`Config.for_engine` resolves what depends on the
caller (an absolute data directory, the shard count) first. Pure: no Thespian, no actors.
"""
from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field, fields, replace
from typing import Any, Callable, Mapping

# the choices are checked there and kept importable from here (goflow.config.LOG_LEVELS, ...)
from ._config_values import (BACKOFFS, HTTP_TRANSPORTS, LOG_FORMATS, LOG_LEVELS, SYNCHRONOUS,  # noqa: F401
                             coerce, from_env, read_file)
from ._sourcemap import MAX_BYTES
from .errors import ConfigError

__all__ = [
    "Config", "EngineSection", "StoreSection", "DaemonSection", "ApiSection", "GrpcSection", "WorkersSection",
    "RetrySection", "LimitsSection", "ClientSection", "RuntimeSection", "LoggingSection", "MetricsSection", "SCHEMA", "ENV_PREFIX", "CONFIG_ENV",
    "DEFAULT_PORT", "DEFAULT_API_PORT", "DEFAULT_GRPC_PORT", "LOOPBACK",
    "load_config", "is_loopback", "option_key", "cpu_shards",
]

ENV_PREFIX = "GOFLOW_"
CONFIG_ENV = "GOFLOW_CONFIG"
DEFAULT_PORT = 7531
DEFAULT_API_PORT = 7532
DEFAULT_GRPC_PORT = 7533
LOOPBACK = "127.0.0.1"


def cpu_shards() -> int:
    """One shard per CPU (what ``engine.shards: 0`` means for a daemon)."""
    return max(1, os.cpu_count() or 1)


def is_loopback(address: str) -> bool:
    if address == "localhost":
        return True
    try:
        return ipaddress.ip_address(address).is_loopback
    except ValueError:
        return False


# ------------------------------------------------------------------------------------ sections
@dataclass(frozen=True)
class EngineSection:
    data_dir: str = "goflow-data"      # instances, catalog, pid file and daemon log live here
    shards: int = 0                    # instance hosts; 0 = one per CPU (daemon), 1 (embedded)
    concurrency: int = 256             # worker calls in flight per shard (per worker proxy)
    synchronous: str = "normal"        # SQLite synchronous mode: off | normal | full | extra
    intensity: int = 3                 # instance restarts allowed ...
    period: float = 10.0               # ... within this many seconds before it is failed


@dataclass(frozen=True)
class StoreSection:
    url: str = ""                      # "" = SQLite files in the data directory; postgresql://user@host:port/db
    synchronous_commit: str = "on"     # PostgreSQL: on | off | local | remote_write | remote_apply


@dataclass(frozen=True)
class DaemonSection:
    address: str = LOOPBACK            # the address the daemon binds; non-loopback needs allow_remote
    port: int = DEFAULT_PORT           # Thespian admin port
    allow_remote: bool = False         # accept a non-loopback address (unauthenticated pickle!)
    blueprints: str = ""               # a directory of blueprints deployed at every start ("" = none)
    log_file: str = ""                 # "" = <data_dir>/daemon.log
    start_timeout: float = 60.0        # seconds to wait for the daemon to boot (recovery included)
    stop_timeout: float = 30.0         # seconds to wait for its processes to exit on stop


@dataclass(frozen=True)
class ApiSection:
    enabled: bool = False              # `goflow daemon start` also starts the HTTP API (docs/http_api.md)
    port: int = DEFAULT_API_PORT       # the HTTP API's port (`goflow api --port`)
    address: str = LOOPBACK            # the address it binds; non-loopback needs allow_remote
    allow_remote: bool = False         # accept a non-loopback address (set tls_cert/tls_key too!)
    batch_window_ms: float = 2.0       # event posts arriving within this window go in one round trip
    tls_cert: str = ""                 # PEM certificate: serve HTTPS ("" = plain HTTP)
    tls_key: str = ""                  # its PEM private key (both or neither)


@dataclass(frozen=True)
class GrpcSection:
    enabled: bool = False              # `goflow daemon start` also starts the gRPC API (docs/grpc.md)
    port: int = DEFAULT_GRPC_PORT      # the gRPC API's port (`goflow grpc --port`)
    address: str = LOOPBACK            # the address it binds; non-loopback needs allow_remote
    allow_remote: bool = False         # accept a non-loopback address (set tls_cert/tls_key too!)
    tls_cert: str = ""                 # PEM certificate: serve TLS ("" = plaintext)
    tls_key: str = ""                  # its PEM private key (both or neither)


@dataclass(frozen=True)
class WorkersSection:
    http_transport: str = "aiohttp"    # HTTP client of the worker proxies: aiohttp | httpx | httpx-aiohttp
    python_modules: str = "goflow.examples"  # comma-separated modules python:// may call ("" = none)
    allowed_hosts: str = ""            # comma-separated hosts other endpoints may name ("" = any host)
    trust_env: bool = False            # HTTP clients read proxies/.netrc/CA files from the environment
    call_process: bool = True          # embedded: http(s)/grpc(s) calls in a child process it owns (a 2nd core)


@dataclass(frozen=True)
class RetrySection:
    """The backoff of a worker whose blueprint does not set ``retryDelay``, ``backoff``,
    ``maxRetryDelay`` or ``jitter`` (:mod:`goflow.retry`)."""
    retry_delay: float = 0.5           # seconds before the first retry
    backoff: str = "exponential"       # fixed | exponential
    max_retry_delay: float = 30.0      # upper bound of one delay (and of a Retry-After), seconds
    jitter: float = 0.1                # fraction of each delay drawn at random, 0..1

    def apply(self, worker):
        """``worker`` (a :class:`goflow.model.Worker`) with its unset backoff fields (None) set from here."""
        unset = {f.name: getattr(self, f.name) for f in fields(self) if getattr(worker, f.name) is None}
        return replace(worker, **unset) if unset else worker

    def apply_to_blueprint(self, bp):
        """``bp`` (a :class:`goflow.model.Blueprint`) with :meth:`apply` done to each of its workers."""
        workers = tuple(self.apply(w) for w in bp.workers)
        return bp if all(a is b for a, b in zip(workers, bp.workers)) else replace(bp, workers=workers)


@dataclass(frozen=True)
class LimitsSection:
    blueprint_bytes: int = MAX_BYTES   # a blueprint file or document (at most the parser's own bound)
    event_bytes: int = 64 * 1024       # an instance input or an event's data (encoded)
    body_bytes: int = 1 << 20          # a worker's response body
    postponed: int = 100               # postponed events queued per instance (SPEC §8)
    paused_events: int = 1_000         # outside events a paused instance holds until resumed
    children: int = 1_000              # child instances one workflow action starts (forEach items, SPEC §8)
    child_depth: int = 0               # > 0: recursive child workflows allowed, chains at most this deep


@dataclass(frozen=True)
class ClientSection:
    """How an :class:`actors.api.Engine` sends a request of many items (``start_many``, ``send_many``,
    ``wait_all``): in batches of ``batch_items``, at most ``batches_in_flight`` unanswered at once."""
    batch_items: int = 1_000           # items per batch a client sends
    batches_in_flight: int = 4         # batches one request keeps unanswered at once (1: one at a time)


@dataclass(frozen=True)
class RuntimeSection:
    passivate_after: float = 60.0      # seconds an instance with nothing in flight stays in memory unused
    cache_size: int = 10_000           # idle instances a host keeps in memory beyond its active set (LRU)


@dataclass(frozen=True)
class MetricsSection:
    enabled: bool = True               # a daemon's processes record Prometheus metrics (/metrics, docs/metrics.md)


@dataclass(frozen=True)
class LoggingSection:
    level: str = "WARNING"             # DEBUG | INFO | WARNING | ERROR | CRITICAL
    format: str = "kv"                 # kv: one key=value line per event; text: plain


_SECTIONS = {"engine": EngineSection, "store": StoreSection, "daemon": DaemonSection, "api": ApiSection,
             "grpc": GrpcSection,
             "workers": WorkersSection, "retry": RetrySection, "limits": LimitsSection, "client": ClientSection, "logging": LoggingSection,
             "metrics": MetricsSection, "runtime": RuntimeSection}


# "section.key" -> (type, default): the defaults are the dataclasses' (written once, above)
SCHEMA: dict[str, tuple[type, Any]] = {
    f"{name}.{f.name}": (type(f.default), f.default)
    for name, cls in _SECTIONS.items() for f in fields(cls)
}

# keyword-argument names: "section_key" for every key, and the bare key where no other section has it
_NAMES = [k.partition(".")[2] for k in SCHEMA]
_OPTIONS: dict[str, str] = {**{k.partition(".")[2]: k for k in SCHEMA if _NAMES.count(k.partition(".")[2]) == 1},
                            **{k.replace(".", "_"): k for k in SCHEMA}}


def option_key(name: str) -> str | None:
    """The ``section.key`` of a keyword-argument name (``event_bytes`` or ``limits_event_bytes``)."""
    return _OPTIONS.get(name) or (name if name in SCHEMA else None)


# -------------------------------------------------------------------------------------- config
@dataclass(frozen=True)
class Config:
    """Every setting of an engine, by section. Frozen and picklable: the actors receive it."""
    engine: EngineSection = field(default_factory=EngineSection)
    store: StoreSection = field(default_factory=StoreSection)
    daemon: DaemonSection = field(default_factory=DaemonSection)
    api: ApiSection = field(default_factory=ApiSection)
    grpc: GrpcSection = field(default_factory=GrpcSection)
    workers: WorkersSection = field(default_factory=WorkersSection)
    retry: RetrySection = field(default_factory=RetrySection)
    limits: LimitsSection = field(default_factory=LimitsSection)
    client: ClientSection = field(default_factory=ClientSection)
    logging: LoggingSection = field(default_factory=LoggingSection)
    metrics: MetricsSection = field(default_factory=MetricsSection)
    runtime: RuntimeSection = field(default_factory=RuntimeSection)
    source: str | None = None          # the file it was read from, if any
    # Not settings (no file key): set by the runtime. in_daemon: inside a daemon's processes; clock: a
    # manual clock (goflow.testing.ManualClock) the hosts read instead of time.time (embedded only).
    in_daemon: bool = False
    clock: Callable[[], float] | None = field(default=None, compare=False)

    def get(self, key: str) -> Any:
        section, _, name = key.partition(".")
        return getattr(getattr(self, section), name)

    def values(self) -> dict[str, Any]:
        """Every setting, ``{"section.key": value}`` (plain data: JSON-able)."""
        return {key: self.get(key) for key in SCHEMA}

    @property
    def data_dir(self) -> str:
        return os.path.abspath(os.path.expanduser(self.engine.data_dir))

    @property
    def shards(self) -> int:
        """``engine.shards``; 0 means one per CPU in a daemon, 1 in an embedded engine (one process)."""
        return self.engine.shards or (cpu_shards() if self.in_daemon else 1)

    @property
    def log_file(self) -> str:
        return os.path.abspath(self.daemon.log_file) if self.daemon.log_file else \
            os.path.join(self.data_dir, "daemon.log")

    @property
    def pid_file(self) -> str:
        return os.path.join(self.data_dir, "goflow.pid")

    @property
    def python_modules(self) -> list[str]:
        """``workers.python_modules`` as a list (empty: python:// calls nothing)."""
        return [m.strip() for m in self.workers.python_modules.split(",") if m.strip()]

    @property
    def allowed_hosts(self) -> list[str] | None:
        """``workers.allowed_hosts`` as a list (None: any host)."""
        return [h.strip() for h in self.workers.allowed_hosts.split(",") if h.strip()] or None

    def with_values(self, values: Mapping[str, Any], source: str = "override") -> "Config":
        """A copy with ``{"section.key": value}`` applied (checked like any other source; strings
        are parsed as in the environment)."""
        return _apply(self, values, source)

    def with_options(self, options: Mapping[str, Any], source: str = "keyword arguments") -> "Config":
        """A copy with keyword-argument settings applied: ``{"event_bytes": 1000}`` or
        ``{"limits_event_bytes": 1000}`` (see :func:`option_key`); None values are skipped; values
        must have the setting's type (no string parsing)."""
        values = {}
        for name, value in options.items():
            key = option_key(name)
            if key is None:
                raise ConfigError(name, "unknown setting: name a key (event_bytes) or section_key "
                                  f"(limits_event_bytes) of: {', '.join(SCHEMA)}", source)
            if value is not None:
                values[key] = value
        return _apply(self, values, source, parse=False)

    def for_engine(self, *, in_daemon: bool, clock: Callable[[], float] | None = None) -> "Config":
        """The copy the actors receive: the data directory made absolute, the shard count fixed,
        ``in_daemon`` set (True: a multiprocess daemon; False: an engine embedded in this process)
        and the hosts' ``clock`` (None: the wall clock)."""
        resolved = replace(self, in_daemon=in_daemon, clock=clock)
        return replace(resolved, engine=replace(self.engine, data_dir=resolved.data_dir, shards=resolved.shards))


def _apply(cfg: Config, values: Mapping[str, Any], source: str, *, parse: bool = True) -> Config:
    sections: dict[str, dict] = {}
    for key, value in values.items():
        if key not in SCHEMA:
            section = key.partition(".")[0]
            if section not in _SECTIONS:
                raise ConfigError(key, f"unknown section {section!r} (known: {', '.join(_SECTIONS)})", source)
            known = ", ".join(k.partition(".")[2] for k in SCHEMA if k.startswith(section + "."))
            raise ConfigError(key, f"unknown key (known in {section}: {known})", source)
        section, _, name = key.partition(".")
        sections.setdefault(section, {})[name] = coerce(key, SCHEMA[key][0], value, source, parse=parse)
    changes = {s: replace(getattr(cfg, s), **kv) for s, kv in sections.items()}
    return replace(cfg, **changes)


def load_config(path: str | os.PathLike | None = None, *, env: Mapping[str, str] | None = None,
                overrides: Mapping[str, Any] | None = None) -> Config:
    """Defaults, then the file (``path``, else ``$GOFLOW_CONFIG``), then ``GOFLOW_<SECTION>_<KEY>``
    variables, then ``overrides`` (``{"daemon.port": 7600}``; ``None`` values are skipped)."""
    env = os.environ if env is None else env
    path = os.fspath(path) if path is not None else (env.get(CONFIG_ENV) or None)
    cfg = Config()
    if path:
        cfg = replace(_apply(cfg, read_file(path, _SECTIONS), path), source=os.path.abspath(path))
    for name, value in from_env(env, ENV_PREFIX, _SECTIONS).items():
        var = ENV_PREFIX + name.replace(".", "_").upper()
        cfg = _apply(cfg, {name: value}, f"environment {var}")
    if overrides:
        cfg = _apply(cfg, {k: v for k, v in overrides.items() if v is not None}, "command line")
    return cfg
