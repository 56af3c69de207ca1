"""Transport contract, errors and the scheme registry (SPEC §4).

A *transport* performs one attempt of a worker call: it is any object with ::

    async def call(self, request: dict, worker: Worker, timeout: float) -> Response

that returns the worker's answer whatever its status (retry and fallback are decided by
:mod:`goflow.calls`, not here) and raises:

* :class:`ConnectFailed` — no answer: refused, reset, dropped before a response, DNS failure;
* :class:`CallTimedOut` — no complete answer within ``timeout`` seconds;
* :class:`BodyTooLarge` — the answer's body is over the transport's bound;
* :class:`WorkerFailed` — the worker itself failed without an HTTP-like status (``python://``, a gRPC
  status code); ``retryable`` says whether another attempt may help, ``retry_after`` (seconds or
  None) is a wait the worker asked for (gRPC's ``grpc-retry-pushback-ms``).

All are :class:`goflow.errors.TransportError`. Transports that hold per-event-loop resources
(connection pools) also provide ``async def aclose()``, closing those of the running loop.

The :class:`Registry` maps URL schemes to transports; :func:`register` and :func:`transport_for`
work on the process-wide :data:`default_registry`, so a new transport (gRPC) plugs in without any
change to the engine. A scheme may be served by a :class:`LazyTransport`, made on the first
:meth:`Registry.transport_for` of that scheme: the HTTP transports are, so a program that only calls
``python://`` workers never imports aiohttp or httpx.
"""
from __future__ import annotations

import asyncio
import logging
import functools
import sys
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Protocol, runtime_checkable

from ..config import LimitsSection
from ..errors import TransportError, UnknownScheme
from ..model import Worker
from ..redact import redact_url

__all__ = [
    "MAX_BODY_BYTES", "Response", "Transport",
    "ConnectFailed", "CallTimedOut", "BodyTooLarge", "WorkerFailed",
    "Registry", "default_registry", "register", "unregister", "transport_for", "scheme_of",
    "idempotency_key", "safe_endpoint", "attempt_timeout", "LazyTransport",
]

log = logging.getLogger("goflow.transports")

if sys.version_info >= (3, 11):
    attempt_timeout = asyncio.timeout
else:  # pragma: no cover - Python 3.10
    import contextlib

    @contextlib.asynccontextmanager
    async def attempt_timeout(delay: float):
        task = asyncio.current_task()
        handle = asyncio.get_running_loop().call_later(delay, task.cancel)
        try:
            yield
        except asyncio.CancelledError:
            if handle.cancelled() or handle.when() > asyncio.get_running_loop().time():
                raise
            raise asyncio.TimeoutError() from None
        finally:
            handle.cancel()

#: Default bound on a response body, in bytes (1 MiB); a bigger body is the outcome ``body-too-large``.
MAX_BODY_BYTES = LimitsSection.body_bytes    # the default of limits.body_bytes (goflow.config)


@dataclass(frozen=True, slots=True)
class Response:
    """A worker's answer to one attempt. ``body`` is bytes for HTTP, any object for ``python://``
    and gRPC. ``event`` (gRPC) names the outcome event outside the body; ``outcome`` is what the
    attempt record shows instead of the status (gRPC: ``"OK"``)."""

    status: int
    body: Any = b""
    headers: Mapping[str, str] = field(default_factory=dict)   # looked up by lower-case name
    event: str | None = None
    outcome: str | None = None


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

    def __init__(self, endpoint: str, message: str, retryable: bool = True, outcome: str = "exception",
                 retry_after: float | None = None):
        self.retryable, self.outcome, self.retry_after = retryable, outcome, retry_after
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
    masked (:func:`goflow.redact.redact_url`). Cached: a proxy asks it twice per call of the same
    few endpoints."""
    return _safe_endpoint(url) if type(url) is str else redact_url(url)


@functools.lru_cache(maxsize=1024)
def _safe_endpoint(url: str) -> str:
    return redact_url(url)


class LazyTransport:
    """A transport made by ``factory()`` the first time it is needed (once, whichever thread asks).
    ``portable``: another process makes the same transport from the engine's settings alone
    (:func:`goflow.transports.registry_from_config`), so a call process may serve its scheme."""

    def __init__(self, factory: Callable[[], Transport], name: str = "transport", *, portable: bool = False):
        self._factory, self.name, self.portable = factory, name, portable
        self._made: Transport | None = None
        self._lock = threading.Lock()

    @property
    def made(self) -> Transport | None:
        """The transport if it was made already, else None."""
        return self._made

    def get(self) -> Transport:
        made = self._made
        if made is None:
            with self._lock:
                if self._made is None:
                    transport = self._factory()
                    if not callable(getattr(transport, "call", None)):
                        raise TypeError(f"{self.name}: the factory made no transport: {transport!r}")
                    self._made = transport
                made = self._made
        return made

    def __repr__(self) -> str:
        return f"LazyTransport({self._made!r})" if self._made is not None else f"LazyTransport({self.name})"


class Registry:
    """URL scheme -> transport (or :class:`LazyTransport`). Schemes are case-insensitive."""

    def __init__(self, transports: Mapping[str, Transport | LazyTransport] | None = None):
        self._transports: dict[str, Transport | LazyTransport] = {}
        for scheme, transport in (transports or {}).items():
            self.register(scheme, transport)

    def register(self, scheme: str, transport: Transport | LazyTransport) -> None:
        """Serve ``scheme`` (e.g. ``"grpc"``) with ``transport``, replacing any earlier one."""
        if not isinstance(transport, LazyTransport) and not callable(getattr(transport, "call", None)):
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
            transport = self._transports[scheme]
        except KeyError:
            raise UnknownScheme(safe_endpoint(url), scheme, self._transports) from None
        return transport.get() if isinstance(transport, LazyTransport) else transport

    def portable(self, url: str) -> bool:
        """Whether ``url``'s scheme is served by a transport a call process makes from the settings
        (a :class:`LazyTransport` marked ``portable``); False for ``python://`` and plugged-in ones."""
        transport = self._transports.get(scheme_of(url))
        return isinstance(transport, LazyTransport) and transport.portable

    def copy(self) -> "Registry":
        return Registry(self._transports)

    async def aclose(self) -> None:
        """Close every transport's resources bound to the running event loop."""
        seen: set[int] = set()
        for transport in self._transports.values():
            if isinstance(transport, LazyTransport):
                transport = transport.made      # never made: nothing to close
                if transport is None:
                    continue
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
