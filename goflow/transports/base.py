"""Transport contract, errors and the scheme registry (SPEC §4).

A *transport* performs one attempt of a worker call: it is any object with ::

    async def call(self, request: dict, worker: Worker, timeout: float) -> Response

that returns the worker's answer whatever its status (retry and fallback are decided by
:mod:`goflow.calls`, not here) and raises:

* :class:`ConnectFailed` — no answer: refused, reset, dropped before a response, DNS failure;
* :class:`CallTimedOut` — no complete answer within ``timeout`` seconds;
* :class:`BodyTooLarge` — the answer's body is over the transport's bound;
* :class:`WorkerFailed` — the worker itself failed without an HTTP-like status (``python://``);
  ``retryable`` says whether another attempt may help.

All are :class:`goflow.errors.TransportError`. Transports that hold per-event-loop resources
(connection pools) also provide ``async def aclose()``, closing those of the running loop.

The :class:`Registry` maps URL schemes to transports; :func:`register` and :func:`transport_for`
work on the process-wide :data:`default_registry`, so a new transport (gRPC) plugs in without any
change to the engine.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Mapping, Protocol, runtime_checkable

from ..errors import TransportError, UnknownScheme
from ..model import Worker
from ..redact import redact_url

__all__ = [
    "MAX_BODY_BYTES", "Response", "Transport",
    "ConnectFailed", "CallTimedOut", "BodyTooLarge", "WorkerFailed",
    "Registry", "default_registry", "register", "unregister", "transport_for", "scheme_of",
    "idempotency_key", "safe_endpoint",
]

log = logging.getLogger("goflow.transports")

#: Default bound on a response body, in bytes (1 MiB); a bigger body is the outcome ``body-too-large``.
MAX_BODY_BYTES = 1 << 20


@dataclass(frozen=True, slots=True)
class Response:
    """A worker's answer to one attempt. ``body`` is bytes for HTTP, any object for ``python://``."""

    status: int
    body: Any = b""
    headers: Mapping[str, str] = field(default_factory=dict)   # names in lower case


@runtime_checkable
class Transport(Protocol):
    async def call(self, request: dict, worker: Worker, timeout: float) -> Response: ...


class ConnectFailed(TransportError):
    """The worker could not be reached, or dropped the connection before answering."""


class CallTimedOut(TransportError):
    """The worker did not answer within the response timeout."""

    def __init__(self, endpoint: str, timeout: float):
        self.timeout = timeout
        super().__init__(endpoint, f"no answer within {timeout:g} s")


class BodyTooLarge(TransportError):
    """The response body is larger than the transport's bound."""

    def __init__(self, endpoint: str, limit: int, status: int | None = None):
        self.limit, self.status = limit, status
        super().__init__(endpoint, f"response body is over {limit} bytes")


class WorkerFailed(TransportError):
    """The worker failed without a status (a ``python://`` callable raised)."""

    def __init__(self, endpoint: str, message: str, retryable: bool = True, outcome: str = "exception"):
        self.retryable, self.outcome = retryable, outcome
        super().__init__(endpoint, message)


def scheme_of(url: str) -> str:
    """The lower-case scheme of ``url`` (``""`` when it has none)."""
    head, sep, _ = url.partition("://")
    return head.lower() if sep else ""


def idempotency_key(request: Mapping[str, Any]) -> str:
    """``<instance>:<step>`` — the same on every retry and fallback of a step (SPEC §4)."""
    return f"{request.get('instance')}:{request.get('step')}"


def safe_endpoint(url: str) -> str:
    """``url`` as history records and logs show it: without user-info, secret query parameters
    masked (:func:`goflow.redact.redact_url`)."""
    return redact_url(url)


class Registry:
    """URL scheme -> transport. Schemes are case-insensitive."""

    def __init__(self, transports: Mapping[str, Transport] | None = None):
        self._transports: dict[str, Transport] = {}
        for scheme, transport in (transports or {}).items():
            self.register(scheme, transport)

    def register(self, scheme: str, transport: Transport) -> None:
        """Serve ``scheme`` (e.g. ``"grpc"``) with ``transport``, replacing any earlier one."""
        if not callable(getattr(transport, "call", None)):
            raise TypeError(f"transport for {scheme!r} has no call() method: {transport!r}")
        self._transports[scheme.lower()] = transport
        log.debug("transport for %s:// is %r", scheme, transport)

    def unregister(self, scheme: str) -> None:
        self._transports.pop(scheme.lower(), None)

    def schemes(self) -> tuple[str, ...]:
        return tuple(sorted(self._transports))

    def transport_for(self, url: str) -> Transport:
        """The transport serving ``url``'s scheme; :class:`~goflow.errors.UnknownScheme` if none."""
        scheme = scheme_of(url)
        try:
            return self._transports[scheme]
        except KeyError:
            raise UnknownScheme(safe_endpoint(url), scheme, self._transports) from None

    def copy(self) -> "Registry":
        return Registry(self._transports)

    async def aclose(self) -> None:
        """Close every transport's resources bound to the running event loop."""
        seen: set[int] = set()
        for transport in self._transports.values():
            if id(transport) in seen:
                continue
            seen.add(id(transport))
            aclose = getattr(transport, "aclose", None)
            if aclose is not None:
                try:
                    await aclose()
                except Exception:  # noqa: BLE001 - closing must go on for the others
                    log.warning("closing transport %r failed", transport, exc_info=True)


#: The process-wide registry; :mod:`goflow.transports` fills in ``http``, ``https`` and ``python``.
default_registry = Registry()


def register(scheme: str, transport: Transport) -> None:
    """Serve ``scheme`` with ``transport`` in the :data:`default_registry`."""
    default_registry.register(scheme, transport)


def unregister(scheme: str) -> None:
    default_registry.unregister(scheme)


def transport_for(url: str) -> Transport:
    """The :data:`default_registry`'s transport for ``url``; raises UnknownScheme."""
    return default_registry.transport_for(url)
