"""Worker transports: how one attempt of a worker call is made, chosen by URL scheme (SPEC §4).

* :mod:`.base` — the contract (:class:`Response`, the :class:`Transport` protocol, the errors) and
  the scheme :class:`Registry` (:func:`register`, :func:`transport_for`).
* :mod:`.http` — ``http``/``https`` (:class:`HttpTransport`, aiohttp; :class:`HttpxTransport`).
* :mod:`.python` — ``python://module:function`` (:class:`PythonTransport`).
* :mod:`.pool` — :class:`CallPool`, the thread + event loop the actor layer wraps.

Retries, backoff and fallback between endpoints are :mod:`goflow.calls` and :mod:`goflow.retry`.
The default registry serves ``http``, ``https`` (one :class:`HttpTransport`) and ``python``.
"""
from .base import (MAX_BODY_BYTES, BodyTooLarge, CallTimedOut, ConnectFailed, Registry, Response, Transport,
                   WorkerFailed, default_registry, idempotency_key, register, safe_endpoint, scheme_of,
                   transport_for, unregister)
from .http import HttpTransport, HttpxTransport
from .python import PermanentFailure, PythonTransport

__all__ = [
    "MAX_BODY_BYTES", "Response", "Transport", "Registry", "default_registry",
    "register", "unregister", "transport_for", "scheme_of", "idempotency_key", "safe_endpoint",
    "ConnectFailed", "CallTimedOut", "BodyTooLarge", "WorkerFailed",
    "HttpTransport", "HttpxTransport", "PythonTransport", "PermanentFailure",
    "CallPool", "Job", "new_registry",
]


def new_registry(max_body_bytes: int = MAX_BODY_BYTES, allowed_modules=None) -> Registry:
    """A registry with the standard transports: ``http``/``https`` and ``python``."""
    http = HttpTransport(max_body_bytes)
    return Registry({"http": http, "https": http, "python": PythonTransport(allowed_modules)})


for _scheme, _transport in new_registry()._transports.items():
    default_registry.register(_scheme, _transport)
del _scheme, _transport



def __getattr__(name: str):
    # Lazy: pool imports goflow.calls, which imports this package.
    if name in ("CallPool", "Job"):
        from . import pool
        return getattr(pool, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
