"""Worker transports: how one attempt of a worker call is made, chosen by URL scheme (SPEC §4).

* :mod:`.base` — the contract (:class:`Response`, the :class:`Transport` protocol, the errors) and
  the scheme :class:`Registry` (:func:`register`, :func:`transport_for`).
* :mod:`.http` — ``http``/``https`` (``HttpTransport``, aiohttp; ``HttpxTransport``). Imported only
  when an HTTP transport is made (:func:`http_transport`): import them from ``goflow.transports.http``.
* :mod:`.python` — ``python://module:function`` (:class:`PythonTransport`).

Above this package: :mod:`goflow.calls` (one step: retries, backoff and fallback between endpoints,
with :mod:`goflow.retry`) and :mod:`goflow.steps` (many steps at once). Nothing here imports them.
The default registry serves ``http``, ``https`` (one aiohttp transport, made on first use) and
``python``.
"""
from .base import (MAX_BODY_BYTES, BodyTooLarge, CallTimedOut, ConnectFailed, LazyTransport, Registry,
                   Response, Transport, WorkerFailed, attempt_timeout, default_registry, idempotency_key,
                   register, safe_endpoint, scheme_of, transport_for, unregister)
from .python import PermanentFailure, PythonTransport

__all__ = [
    "MAX_BODY_BYTES", "Response", "Transport", "Registry", "LazyTransport", "default_registry",
    "register", "unregister", "transport_for", "scheme_of", "idempotency_key", "safe_endpoint",
    "attempt_timeout", "ConnectFailed", "CallTimedOut", "BodyTooLarge", "WorkerFailed",
    "PythonTransport", "PermanentFailure",
    "new_registry", "HTTP_TRANSPORTS", "http_transport", "registry_from_config",
    "TRANSPORT_CONFIG_KEYS", "DEFAULT_CONCURRENCY", "check_config", "lazy_http",
]

#: Worker steps in flight at once per worker proxy, unless the engine's ``concurrency`` says otherwise.
DEFAULT_CONCURRENCY = 256

#: The ``http_transport`` choices: plain aiohttp (the default, measured fastest), httpx's own
#: transport, or httpx over the httpx-aiohttp transport.
HTTP_TRANSPORTS = ("aiohttp", "httpx", "httpx-aiohttp")
#: The engine configuration keys :func:`registry_from_config` reads.
TRANSPORT_CONFIG_KEYS = ("http_transport", "max_body_bytes", "python_modules")


def _check_kind(kind: str) -> None:
    if kind not in HTTP_TRANSPORTS:
        raise ValueError(f"http_transport must be one of {', '.join(HTTP_TRANSPORTS)}, not {kind!r}")


def http_transport(kind: str = "aiohttp", max_body_bytes: int = MAX_BODY_BYTES):
    """An ``http``/``https`` transport: ``kind`` is one of :data:`HTTP_TRANSPORTS`. Imports
    :mod:`.http` (aiohttp, httpx) the first time."""
    _check_kind(kind)
    from .http import HttpTransport, HttpxTransport

    if kind == "aiohttp":
        return HttpTransport(max_body_bytes)
    return HttpxTransport(max_body_bytes, backend=kind)


def lazy_http(kind: str = "aiohttp", max_body_bytes: int = MAX_BODY_BYTES) -> LazyTransport:
    """:func:`http_transport` made on first use (``kind`` is checked now)."""
    _check_kind(kind)
    return LazyTransport(lambda: http_transport(kind, max_body_bytes), f"http_transport={kind}")


def new_registry(max_body_bytes: int = MAX_BODY_BYTES, allowed_modules=None, http: str = "aiohttp") -> Registry:
    """A registry with the standard transports: ``http``/``https`` (``http`` names the client, see
    :data:`HTTP_TRANSPORTS`; made on first use) and ``python`` (restricted to ``allowed_modules``
    unless None)."""
    transport = lazy_http(http, max_body_bytes)
    return Registry({"http": transport, "https": transport, "python": PythonTransport(allowed_modules)})


def registry_from_config(config) -> Registry:
    """The registry an engine configured with ``config`` (a mapping) calls workers through.

    Keys (all optional): ``http_transport`` (:data:`HTTP_TRANSPORTS`, default ``"aiohttp"``),
    ``max_body_bytes`` (a positive int, default :data:`MAX_BODY_BYTES`), ``python_modules`` (the
    modules, with their submodules, that ``python://`` may call; None = any module).

    With none of them set (or all None) it is :data:`default_registry` itself, so transports a program
    plugs in with :func:`register` serve an embedded engine. Otherwise it is a copy of the default
    registry (plugged-in schemes included, as they are now) whose ``http``/``https`` (when
    ``http_transport`` or ``max_body_bytes`` is set) and ``python`` (when ``python_modules`` is set)
    transports are replaced by configured ones. Raises :class:`goflow.errors.ConfigError`.
    """
    from ..errors import ConfigError

    kind, limit, modules = (config.get(k) for k in TRANSPORT_CONFIG_KEYS)
    if kind is None and limit is None and modules is None:
        return default_registry
    registry = default_registry.copy()
    if kind is not None or limit is not None:
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ConfigError("max_body_bytes", f"must be a positive number of bytes, not {limit!r}")
        try:
            transport = lazy_http("aiohttp" if kind is None else kind, MAX_BODY_BYTES if limit is None else limit)
        except ValueError:
            raise ConfigError("http_transport", f"must be one of {', '.join(HTTP_TRANSPORTS)}, "
                                                f"not {kind!r}") from None
        registry.register("http", transport)
        registry.register("https", transport)
    if modules is not None:
        if isinstance(modules, str):
            modules = [modules]
        try:
            modules = list(modules)
        except TypeError:
            raise ConfigError("python_modules", f"must be a list of module names, not {modules!r}") from None
        if not all(isinstance(m, str) and m for m in modules):
            raise ConfigError("python_modules", f"must be a list of module names, not {modules!r}")
        registry.register("python", PythonTransport(modules))
    return registry


def check_config(config) -> int:
    """Check the worker-call keys of an engine configuration (``concurrency`` and
    :data:`TRANSPORT_CONFIG_KEYS`); returns the concurrency. Raises :class:`goflow.errors.ConfigError`."""
    from ..errors import ConfigError

    concurrency = config.get("concurrency")
    if concurrency is None:
        concurrency = DEFAULT_CONCURRENCY
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigError("concurrency", f"must be a whole number of steps, 1 or more, not {concurrency!r}")
    registry_from_config(config)
    return concurrency


for _scheme, _transport in new_registry()._transports.items():
    default_registry.register(_scheme, _transport)
del _scheme, _transport
