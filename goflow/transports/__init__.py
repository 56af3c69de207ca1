"""Worker transports: how one attempt of a worker call is made, chosen by URL scheme (SPEC §4).

* :mod:`.base` — the contract (:class:`Response`, the :class:`Transport` protocol, the errors) and
  the scheme :class:`Registry` (:func:`register`, :func:`transport_for`).
* :mod:`.http` — ``http``/``https`` (``HttpTransport``, aiohttp; ``HttpxTransport``). Imported only
  when an HTTP transport is made (:func:`http_transport`): import them from ``goflow.transports.http``.
* :mod:`.python` — ``python://module:function`` (:class:`PythonTransport`).
* :mod:`.grpc` — ``grpc``/``grpcs`` (``GrpcTransport``, grpc.aio; SPEC §9). Imported only when a gRPC
  endpoint is first called (:func:`lazy_grpc`): import it from ``goflow.transports.grpc``.

Above this package: :mod:`goflow.calls` (one step: retries, backoff and fallback between endpoints,
with :mod:`goflow.retry`) and :mod:`goflow.steps` (many steps at once). Nothing here imports them.
The default registry serves ``http``, ``https`` (one aiohttp transport, made on first use),
``grpc``, ``grpcs`` (one grpc.aio transport, made on first use) and ``python``.
"""
from ..config import Config
from .base import (MAX_BODY_BYTES, BodyTooLarge, CallTimedOut, ConnectFailed, LazyTransport, Registry,
                   Response, Transport, WorkerFailed, attempt_timeout, default_registry, idempotency_key,
                   register, safe_endpoint, scheme_of, transport_for, unregister)
from .policy import EndpointPolicy, parse_hosts, policy_from_config
from .python import DEFAULT_MODULES, PermanentFailure, PythonTransport

__all__ = [
    "MAX_BODY_BYTES", "Response", "Transport", "Registry", "LazyTransport", "default_registry",
    "register", "unregister", "transport_for", "scheme_of", "idempotency_key", "safe_endpoint",
    "attempt_timeout", "ConnectFailed", "CallTimedOut", "BodyTooLarge", "WorkerFailed",
    "PythonTransport", "PermanentFailure", "DEFAULT_MODULES", "EndpointPolicy", "policy_from_config",
    "new_registry", "HTTP_TRANSPORTS", "http_transport", "registry_from_config",
    "check_config", "lazy_http", "lazy_grpc",
]

#: The ``workers.http_transport`` choices: plain aiohttp (the default, measured fastest), httpx's own
#: transport, or httpx over the httpx-aiohttp transport.
HTTP_TRANSPORTS = ("aiohttp", "httpx", "httpx-aiohttp")


def _check_kind(kind: str) -> None:
    if kind not in HTTP_TRANSPORTS:
        raise ValueError(f"http_transport must be one of {', '.join(HTTP_TRANSPORTS)}, not {kind!r}")


def http_transport(kind: str = "aiohttp", max_body_bytes: int = MAX_BODY_BYTES, *, trust_env: bool = False,
                   allowed_hosts=None):
    """An ``http``/``https`` transport: ``kind`` is one of :data:`HTTP_TRANSPORTS`; ``allowed_hosts``
    as :func:`goflow.transports.policy.parse_hosts` returns (None: any host). Imports :mod:`.http`
    (aiohttp, httpx) the first time."""
    _check_kind(kind)
    from .http import HttpTransport, HttpxTransport

    if kind == "aiohttp":
        return HttpTransport(max_body_bytes, trust_env=trust_env, allowed_hosts=allowed_hosts)
    return HttpxTransport(max_body_bytes, backend=kind, trust_env=trust_env, allowed_hosts=allowed_hosts)


def lazy_http(kind: str = "aiohttp", max_body_bytes: int = MAX_BODY_BYTES, **options) -> LazyTransport:
    """:func:`http_transport` made on first use (``kind`` is checked now)."""
    _check_kind(kind)
    return LazyTransport(lambda: http_transport(kind, max_body_bytes, **options), f"http_transport={kind}")


def lazy_grpc(max_body_bytes: int = MAX_BODY_BYTES, allowed_hosts=None) -> LazyTransport:
    """The ``grpc``/``grpcs`` transport (:class:`goflow.transports.grpc.GrpcTransport`), made (and
    grpc imported) on first use."""
    def make():
        from .grpc import GrpcTransport
        return GrpcTransport(max_body_bytes, allowed_hosts=allowed_hosts)
    return LazyTransport(make, "grpc")


def new_registry(max_body_bytes: int = MAX_BODY_BYTES, allowed_modules=DEFAULT_MODULES, http: str = "aiohttp",
                 **options) -> Registry:
    """A registry with the standard transports: ``http``/``https`` (``http`` names the client, see
    :data:`HTTP_TRANSPORTS`; made on first use; ``options`` are :func:`http_transport`'s),
    ``grpc``/``grpcs`` (made on first use) and ``python`` (restricted to ``allowed_modules``)."""
    transport, rpc = lazy_http(http, max_body_bytes, **options), lazy_grpc(max_body_bytes)
    return Registry({"http": transport, "https": transport, "grpc": rpc, "grpcs": rpc,
                     "python": PythonTransport(allowed_modules)})


def registry_from_config(settings: Config) -> Registry:
    """The registry an engine with ``settings`` (a :class:`goflow.config.Config`) calls workers
    through: ``workers.http_transport``, ``limits.body_bytes``, ``workers.trust_env``,
    ``workers.allowed_hosts`` (see :mod:`.policy`) and ``workers.python_modules``.

    With all of them at their defaults it is :data:`default_registry` itself, so transports a program
    plugs in with :func:`register` serve an embedded engine. Otherwise it is a copy of the default
    registry (plugged-in schemes included, as they are now) whose ``http``/``https`` (when an HTTP
    setting differs) and ``python`` (when the modules differ) transports are configured ones.
    Raises :class:`goflow.errors.ConfigError` for an ``allowed_hosts`` entry that is no host.
    """
    from ..errors import ConfigError

    default = Config()
    kind, limit, modules = settings.workers.http_transport, settings.limits.body_bytes, settings.python_modules
    hosts, trust_env = settings.allowed_hosts, settings.workers.trust_env
    http_default = (kind == default.workers.http_transport and limit == default.limits.body_bytes
                    and hosts is None and not trust_env)
    python_default = tuple(modules) == DEFAULT_MODULES
    if http_default and python_default:
        return default_registry
    registry = default_registry.copy()
    try:
        rules = None if hosts is None else parse_hosts(hosts)
    except ValueError as exc:
        raise ConfigError("workers.allowed_hosts", str(exc)) from None
    if not http_default:
        transport = lazy_http(kind, limit, trust_env=trust_env, allowed_hosts=rules)
        transport.portable = True
        registry.register("http", transport)
        registry.register("https", transport)
    if limit != default.limits.body_bytes or rules is not None:
        rpc = lazy_grpc(limit, rules)
        rpc.portable = True
        registry.register("grpc", rpc)
        registry.register("grpcs", rpc)
    if not python_default:
        registry.register("python", PythonTransport(modules))
    return registry


def check_config(settings: Config) -> int:
    """Check that the worker-call settings of ``settings`` make a registry (the settings object
    checked each value already); returns ``engine.concurrency``."""
    registry_from_config(settings)
    return settings.engine.concurrency


for _scheme, _transport in new_registry()._transports.items():
    if isinstance(_transport, LazyTransport):
        _transport.portable = True      # what registry_from_config(Config()) makes in a call process
    default_registry.register(_scheme, _transport)
del _scheme, _transport
