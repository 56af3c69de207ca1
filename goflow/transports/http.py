"""``http``/``https`` transports: POST the step's JSON, read a bounded answer (SPEC §4).

Two implementations share one contract (see :mod:`goflow.transports.base`):

* :class:`HttpTransport` — plain aiohttp. The default for ``http``/``https``: on this machine it
  made 4–6x more calls per second than httpx's default transport (figures in docs/transports.md).
* :class:`HttpxTransport` — httpx's ``AsyncClient``, with httpx's own transport
  (``backend="httpx"``) or the httpx-aiohttp transport (``backend="httpx-aiohttp"``). Register it
  in place of the default when httpx features (proxies from the environment, HTTP/2) matter.

Both keep one connection pool per event loop (created on first use in that loop, closed by
``aclose()`` in that loop), follow no redirects (a 3xx is an answer like any other), bound every
attempt by the response timeout and refuse bodies over ``max_body_bytes`` (:class:`BodyTooLarge`).
Both ignore the environment unless ``trust_env=True`` (``workers.trust_env``): no proxy from
``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``, no ``.netrc`` credentials, no ``SSL_CERT_FILE``, so
what a worker call reaches does not change with the daemon's environment. With ``allowed_hosts``
(``workers.allowed_hosts``, see :mod:`.policy`) an endpoint whose host is not allowed is refused
before any connection (outcome ``host-not-allowed``, not retried).
Headers sent: ``Content-Type: application/json``, ``Accept``, then the worker's ``headers`` (which
may override those two), then ``Idempotency-Key: <instance>:<step>`` and the attempt's W3C ``traceparent`` (:mod:`goflow.trace`),
which nothing overrides.
"""
from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Callable, Mapping

import aiohttp

from .. import trace
from ..model import Worker
from .base import (MAX_BODY_BYTES, BodyTooLarge, CallTimedOut, ConnectFailed, Response, WorkerFailed,
                   attempt_timeout, idempotency_key, log, safe_endpoint)
from .policy import HostRule, host_refusal

__all__ = ["HttpTransport", "HttpxTransport", "encode_request", "request_headers", "attempt_timeout"]


def _json_default(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


# made once: json.dumps with these arguments builds a new JSONEncoder on every call
_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, default=_json_default)


def encode_request(request: Mapping[str, Any]) -> bytes:
    """The request document as compact UTF-8 JSON (bytes become text, unknown objects ``str()``)."""
    return _ENCODER.encode(request).encode()


def request_headers(request: Mapping[str, Any], worker: Worker) -> dict[str, str]:
    headers = {"content-type": ("Content-Type", "application/json"),
               "accept": ("Accept", "application/json, */*;q=0.5")}
    for name, value in worker.headers:
        headers[name.lower()] = (name, value)
    headers["idempotency-key"] = ("Idempotency-Key", idempotency_key(request))
    traceparent = trace.CURRENT.get()
    if traceparent is not None:                 # W3C trace context of this attempt (goflow.trace)
        headers["traceparent"] = ("traceparent", traceparent)
    return dict(headers.values())


class _PerLoop:
    """One client (connection pool) per event loop, made by ``factory`` on first use in that loop."""

    def __init__(self, factory: Callable[[], Any], closer: Callable[[Any], Any]):
        self._factory, self._closer = factory, closer
        self._clients: dict[asyncio.AbstractEventLoop, Any] = {}
        self._lock = threading.Lock()

    def get(self) -> Any:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.get(loop)
            if client is None:
                # Forget clients of loops closed without aclose() (they cannot be closed any more).
                for dead in [lp for lp in self._clients if lp.is_closed()]:
                    log.warning("a transport client of a closed event loop was not closed (call aclose())")
                    del self._clients[dead]
                client = self._clients[loop] = self._factory()
            return client

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        with self._lock:
            client = self._clients.pop(loop, None)
        if client is not None:
            await self._closer(client)


class _HttpBase:
    max_body_bytes: int
    allowed_hosts: tuple[HostRule, ...] | None = None
    # each call bounds itself by the timeout (connect, send and the whole body: attempt_timeout
    # around it), so perform_step adds no second asyncio timer per attempt
    keeps_deadline = True

    def _check_host(self, worker: Worker, endpoint: str) -> None:
        if self.allowed_hosts is not None:
            why = host_refusal(worker.endpoint, self.allowed_hosts)
            if why is not None:
                raise WorkerFailed(endpoint, why, retryable=False, outcome="host-not-allowed")

    async def aclose(self) -> None:
        """Close the connection pool of the running event loop."""
        await self._clients.aclose()

    def _too_large(self, worker: Worker, status: int, length: int | None) -> None:
        if length is not None and length > self.max_body_bytes:
            raise BodyTooLarge(safe_endpoint(worker.endpoint), self.max_body_bytes, status)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(max_body_bytes={self.max_body_bytes})"


class HttpTransport(_HttpBase):
    """HTTP(S) through a plain aiohttp ``ClientSession`` (one per event loop)."""

    def __init__(self, max_body_bytes: int = MAX_BODY_BYTES, *, limit: int = 0, limit_per_host: int = 0,
                 keepalive_timeout: float = 15.0, ssl: Any = True, trust_env: bool = False,
                 allowed_hosts: tuple[HostRule, ...] | None = None):
        self.max_body_bytes, self.trust_env, self.allowed_hosts = max_body_bytes, trust_env, allowed_hosts
        self._connector_args = dict(limit=limit, limit_per_host=limit_per_host,
                                    keepalive_timeout=keepalive_timeout, ssl=ssl)
        self._clients = _PerLoop(self._new_session, lambda s: s.close())

    def _new_session(self) -> aiohttp.ClientSession:
        # No skip_auto_headers: with it aiohttp builds and copies a header multidict per request to
        # find what to skip; the session's User-Agent already keeps aiohttp's own out.
        return aiohttp.ClientSession(connector=aiohttp.TCPConnector(**self._connector_args),
                                     timeout=aiohttp.ClientTimeout(total=None), auto_decompress=True,
                                     raise_for_status=False, headers={"User-Agent": "goflow"},
                                     trust_env=self.trust_env)

    async def call(self, request: dict, worker: Worker, timeout: float) -> Response:
        session: aiohttp.ClientSession = self._clients.get()
        endpoint = safe_endpoint(worker.endpoint)
        self._check_host(worker, endpoint)
        try:
            async with attempt_timeout(timeout):
                async with session.request(worker.method, worker.endpoint, data=encode_request(request),
                                           headers=request_headers(request, worker),
                                           allow_redirects=False) as resp:
                    self._too_large(worker, resp.status, resp.content_length)
                    body = await self._read(resp, worker)
                    # aiohttp's headers are a case-insensitive mapping: no lower-cased copy per call
                    return Response(resp.status, body, resp.headers)
        except (asyncio.TimeoutError, aiohttp.ServerTimeoutError):
            raise CallTimedOut(endpoint, timeout) from None
        except (aiohttp.InvalidURL, aiohttp.NonHttpUrlClientError) as exc:
            raise WorkerFailed(endpoint, f"bad endpoint: {exc}", retryable=False, outcome="bad-endpoint") from exc
        except ValueError as exc:  # a header or method aiohttp refuses to send
            raise WorkerFailed(endpoint, f"bad request: {exc}", retryable=False, outcome="bad-request") from exc
        except (aiohttp.ClientError, OSError) as exc:
            log.debug("%s: %s", endpoint, exc)
            raise ConnectFailed(endpoint, f"{type(exc).__name__}: {exc}") from exc

    async def _read(self, resp: aiohttp.ClientResponse, worker: Worker) -> bytes:
        chunks, size = [], 0
        while True:
            chunk = await resp.content.read(65536)
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            self._too_large(worker, resp.status, size)
            chunks.append(chunk)


class HttpxTransport(_HttpBase):
    """HTTP(S) through ``httpx.AsyncClient``; ``backend`` is ``"httpx"`` or ``"httpx-aiohttp"``."""

    BACKENDS = ("httpx", "httpx-aiohttp")

    def __init__(self, max_body_bytes: int = MAX_BODY_BYTES, *, backend: str = "httpx-aiohttp",
                 max_keepalive: int = 100, trust_env: bool = False,
                 allowed_hosts: tuple[HostRule, ...] | None = None):
        import httpx    # here, not at the top: the default (aiohttp) transport never pays its import
        if backend not in self.BACKENDS:
            raise ValueError(f"backend must be one of {', '.join(self.BACKENDS)}, not {backend!r}")
        self.max_body_bytes, self.backend = max_body_bytes, backend
        self.trust_env, self.allowed_hosts = trust_env, allowed_hosts
        self._limits = httpx.Limits(max_connections=None, max_keepalive_connections=max_keepalive)
        self._clients = _PerLoop(self._new_client, lambda c: c.aclose())

    def _new_client(self) -> httpx.AsyncClient:
        import httpx
        transport = None
        if self.backend == "httpx-aiohttp":
            from httpx_aiohttp import AiohttpTransport
            transport = AiohttpTransport(limits=self._limits, trust_env=self.trust_env)
        return httpx.AsyncClient(transport=transport, limits=self._limits, timeout=None, trust_env=self.trust_env,
                                 follow_redirects=False, headers={"User-Agent": "goflow"})

    async def call(self, request: dict, worker: Worker, timeout: float) -> Response:
        import httpx
        client: httpx.AsyncClient = self._clients.get()
        endpoint = safe_endpoint(worker.endpoint)
        self._check_host(worker, endpoint)
        try:
            async with attempt_timeout(timeout):
                async with client.stream(worker.method, worker.endpoint, content=encode_request(request),
                                         headers=request_headers(request, worker)) as resp:
                    length = resp.headers.get("content-length")
                    self._too_large(worker, resp.status_code, int(length) if length and length.isdigit() else None)
                    chunks, size = [], 0
                    async for chunk in resp.aiter_bytes():
                        size += len(chunk)
                        self._too_large(worker, resp.status_code, size)
                        chunks.append(chunk)
                    return Response(resp.status_code, b"".join(chunks),
                                    {k.lower(): v for k, v in resp.headers.items()})
        except asyncio.TimeoutError:
            raise CallTimedOut(endpoint, timeout) from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
            raise WorkerFailed(endpoint, f"bad endpoint: {exc}", retryable=False, outcome="bad-endpoint") from exc
        except httpx.TimeoutException as exc:
            # httpx-aiohttp maps every aiohttp connection error (even a dropped connection) to
            # ConnectTimeout: only a real timeout underneath is a timeout.
            if isinstance(exc.__cause__, (asyncio.TimeoutError, aiohttp.ServerTimeoutError)) or exc.__cause__ is None:
                raise CallTimedOut(endpoint, timeout) from None
            raise ConnectFailed(endpoint, f"{type(exc.__cause__).__name__}: {exc.__cause__}") from exc
        except (httpx.TransportError, OSError) as exc:
            log.debug("%s: %s", endpoint, exc)
            raise ConnectFailed(endpoint, f"{type(exc).__name__}: {exc}") from exc
