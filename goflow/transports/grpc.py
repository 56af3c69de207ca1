"""``grpc``/``grpcs`` worker transport: one ``Perform`` call per attempt over grpc.aio (SPEC §9).

``grpc://host:port`` calls ``/goflow.worker.v1.Worker/Perform``; ``grpc://host:port/pkg.Service/Method``
calls that method instead (same messages, :mod:`goflow.proto.worker_pb2`). ``grpcs://`` uses TLS: the
worker's ``tls`` options name PEM files (``ca``, ``cert`` + ``key`` for mutual TLS) and may set
``server_name``; without ``ca`` the system's roots are used.

* One grpc.aio channel per (event loop, target, TLS options), made on first use and reused; the
  calls run on the caller's event loop (the worker proxy's own loop on the daemon) — no thread per
  call. gRPC's own core thread serves every channel of the process.
* Deadline = the ``timeout`` given (the worker's ``responseTimeout``), gRPC's own (``keeps_deadline``: no
  asyncio timer around the call in :func:`goflow.calls.perform_step`). Metadata: the worker's
  ``headers`` (names in lower case) then ``idempotency-key: <instance>:<step>`` and the attempt's W3C
  ``traceparent`` (:mod:`goflow.trace`), which nothing overrides.
* The answer's raw bytes are bounded by ``max_body_bytes`` (:class:`BodyTooLarge`), then decoded.
  ``PerformResponse.event`` names the outcome event (empty: ``success``), ``output`` is the action's
  output, ``accepted`` marks an async call as accepted (status 202 instead of 200; both are success).
* Status codes: OK is the record outcome ``OK``. DEADLINE_EXCEEDED is ``timeout`` (retryable).
  UNAVAILABLE, RESOURCE_EXHAUSTED, ABORTED and INTERNAL are retryable, with ``grpc-retry-pushback-ms``
  (trailing metadata) honoured as a Retry-After; every other code ends the endpoint's attempts. The
  record outcome is the code's name (``UNAVAILABLE``...).

Imported only when a ``grpc``/``grpcs`` endpoint is first called (:func:`goflow.transports.lazy_grpc`).
"""
from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Mapping
from urllib.parse import urlsplit

import grpc
from google.protobuf import struct_pb2

from ..model import Worker
from ..proto import worker_pb2
from .. import trace
from .base import (MAX_BODY_BYTES, BodyTooLarge, CallTimedOut, Response, WorkerFailed, idempotency_key, log,
                   safe_endpoint)
from .policy import HostRule, host_refusal

__all__ = ["GrpcTransport", "DEFAULT_METHOD", "RETRYABLE", "PUSHBACK", "parse_endpoint", "to_struct",
           "from_struct", "perform_request"]

DEFAULT_METHOD = "/goflow.worker.v1.Worker/Perform"
RETRYABLE = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                       grpc.StatusCode.RESOURCE_EXHAUSTED, grpc.StatusCode.ABORTED, grpc.StatusCode.INTERNAL})
PUSHBACK = "grpc-retry-pushback-ms"
TLS_KEYS = frozenset({"ca", "cert", "key", "server_name"})
_TOO_LARGE = "larger than max"     # grpc core's text when a message is over max_receive_message_length


def parse_endpoint(url: str) -> tuple[str, str, bool]:
    """``(target, method, tls)`` of ``grpc[s]://host:port[/pkg.Service/Method]``; ValueError if malformed."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("grpc", "grpcs"):
        raise ValueError(f"not a grpc:// or grpcs:// endpoint: {safe_endpoint(url)}")
    if not parts.hostname or parts.port is None or parts.query or parts.fragment or parts.username:
        raise ValueError(f"expected {scheme}://host:port[/package.Service/Method], got {safe_endpoint(url)}")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    path = parts.path.strip("/")
    if not path:
        method = DEFAULT_METHOD
    else:
        service, sep, name = path.partition("/")
        if not sep or not service or not name or "/" in name:
            raise ValueError(f"the path of {safe_endpoint(url)} must be /package.Service/Method")
        method = f"/{service}/{name}"
    return f"{host}:{parts.port}", method, scheme == "grpcs"


def to_struct(value: Any) -> struct_pb2.Struct:
    """``value`` (a dict, or None) as a ``google.protobuf.Struct``: numbers become doubles, values
    that are not JSON (bytes, sets, objects) become what :func:`json.dumps` makes of them as text."""
    out = struct_pb2.Struct()
    _fill(out, value)
    return out


def _fill(out: struct_pb2.Struct, value: Any) -> None:
    """Fill the empty Struct ``out`` in place with ``value`` (as :func:`to_struct` says): a message's
    own Struct field filled in place is not copied, which a Struct given to its constructor is."""
    if value is None:
        return
    if type(value) is not dict and not isinstance(value, Mapping):
        value = {"value": value}
    try:
        out.update(value)
    except (ValueError, TypeError, AttributeError):
        out.Clear()
        out.update(json.loads(json.dumps(value, default=_text)))


def _text(obj: Any) -> Any:
    if isinstance(obj, (bytes, bytearray, memoryview)):
        return bytes(obj).decode("utf-8", "replace")
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    return str(obj)


def from_struct(struct: struct_pb2.Struct) -> dict:
    """A ``Struct`` as plain data; the integral doubles it carries (every number is one) as ints again.
    (About 3x faster than ``json_format.MessageToDict``, which it replaces on every answer.)"""
    return {key: _from_value(value) for key, value in struct.fields.items()}


def from_message(msg: struct_pb2.Struct | struct_pb2.Value) -> Any:
    """A ``Struct`` or a ``Value`` as plain data (:func:`from_struct`; a Value's null as None)."""
    return from_struct(msg) if isinstance(msg, struct_pb2.Struct) else _from_value(msg)


def _from_value(value: struct_pb2.Value) -> Any:
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        number = value.number_value
        return int(number) if number.is_integer() and abs(number) <= 2**53 else number
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        return from_struct(value.struct_value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [_from_value(v) for v in value.list_value.values]
    return None


def perform_request(request: Mapping[str, Any], key: str | None = None) -> worker_pb2.PerformRequest:
    """The ``PerformRequest`` of a step's request document (SPEC §4 fields); ``key``: its
    idempotency key when already known."""
    def num(key: str) -> int:
        value = request.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    def text(key: str) -> str:
        value = request.get(key)
        return value if isinstance(value, str) else "" if value is None else str(value)

    msg = worker_pb2.PerformRequest(
        instance=text("instance"), project=text("project"), activity=text("activity"), version=num("version"),
        action=text("action"), state=text("state"), step=num("step"), attempt=num("attempt"),
        idempotency_key=idempotency_key(request) if key is None else key)
    _fill(msg.input, request.get("input"))
    _fill(msg.context, request.get("context"))
    return msg


def _tls_options(worker: Worker) -> tuple[tuple[str, str], ...]:
    options = tuple(sorted(worker.tls))
    unknown = sorted({k for k, _v in options} - TLS_KEYS)
    if unknown:
        raise ValueError(f"unknown tls option(s) {', '.join(unknown)}; known: {', '.join(sorted(TLS_KEYS))}")
    return options


def _read(path: str | None) -> bytes | None:
    if not path:
        return None
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as exc:
        raise ValueError(f"cannot read the TLS file {path}: {exc.strerror or exc}") from None


class GrpcTransport:
    """``grpc``/``grpcs`` through grpc.aio; see the module docstring."""

    # The call's deadline is gRPC's own (DEADLINE_EXCEEDED: CallTimedOut), so perform_step does not
    # also wrap the call in an asyncio timeout (a timer armed and cancelled per call: ~10 us).
    keeps_deadline = True

    def __init__(self, max_body_bytes: int = MAX_BODY_BYTES, *, allowed_hosts: tuple[HostRule, ...] | None = None):
        self.max_body_bytes, self.allowed_hosts = max_body_bytes, allowed_hosts
        self._channels: dict[tuple, grpc.aio.Channel] = {}
        self._loops: dict[asyncio.AbstractEventLoop, set[tuple]] = {}
        self._routes: dict[tuple, tuple] = {}         # (endpoint, tls) -> (shown, target, method, tls, options)
        self._headers: dict[tuple, tuple] = {}        # a worker's headers -> its metadata (names in lower case)
        self._rpcs: dict[tuple, Any] = {}             # channel key + method -> its multi-callable
        self._lock = threading.Lock()

    def _route(self, worker: Worker) -> tuple:
        """What a worker's endpoint and tls options say, parsed once (ValueError when malformed)."""
        route = self._routes.get((worker.endpoint, worker.tls))
        if route is None:
            target, method, tls = parse_endpoint(worker.endpoint)
            options = _tls_options(worker)
            if options and not tls:
                raise ValueError("tls options are for grpcs:// endpoints")
            route = (safe_endpoint(worker.endpoint), target, method, tls, options)
            if len(self._routes) > 10_000:            # endpoints come from blueprints: bound the cache
                self._routes.clear()
            self._routes[(worker.endpoint, worker.tls)] = route
        return route

    def _metadata(self, headers: tuple) -> tuple:
        """A worker's ``headers`` as metadata, names in lower case, made once per headers (the
        idempotency key and traceparent, which nothing overrides, are left out: they come after)."""
        metadata = self._headers.get(headers)
        if metadata is None:
            lowered = {name.lower(): value for name, value in headers}
            lowered.pop("idempotency-key", None)
            lowered.pop("traceparent", None)
            metadata = tuple(lowered.items())
            if len(self._headers) > 10_000:           # headers come from blueprints: bound the cache
                self._headers.clear()
            self._headers[headers] = metadata
        return metadata

    def _rpc(self, target: str, method: str, tls: bool, options: tuple[tuple[str, str], ...]):
        """The multi-callable of ``method`` on this loop's channel to ``target`` (both made once)."""
        key = (asyncio.get_running_loop(), target, tls, options, method)
        rpc = self._rpcs.get(key)
        if rpc is None:
            # no (de)serializers: bytes in, bytes out, bounded here
            rpc = self._rpcs[key] = self._channel(target, tls, options).unary_unary(method)
        return rpc

    def _channel(self, target: str, tls: bool, options: tuple[tuple[str, str], ...]) -> grpc.aio.Channel:
        loop = asyncio.get_running_loop()
        key = (loop, target, tls, options)
        with self._lock:
            channel = self._channels.get(key)
            if channel is not None:
                return channel
            for dead in [lp for lp in self._loops if lp.is_closed()]:
                log.warning("gRPC channels of a closed event loop were not closed (call aclose())")
                for k in self._loops.pop(dead):
                    self._channels.pop(k, None)
                for k in [k for k in self._rpcs if k[0] is dead]:
                    del self._rpcs[k]
        # Room for the message framing over the body bound: the bound itself is checked on the bytes.
        args = [("grpc.max_receive_message_length", self.max_body_bytes + 1024),
                ("grpc.max_send_message_length", -1), ("grpc.enable_retries", 0),
                ("grpc.primary_user_agent", "goflow")]
        if tls:
            opts = dict(options)
            creds = grpc.ssl_channel_credentials(root_certificates=_read(opts.get("ca")),
                                                 private_key=_read(opts.get("key")),
                                                 certificate_chain=_read(opts.get("cert")))
            if opts.get("server_name"):
                args.append(("grpc.ssl_target_name_override", opts["server_name"]))
            channel = grpc.aio.secure_channel(target, creds, options=args)
        else:
            channel = grpc.aio.insecure_channel(target, options=args)
        with self._lock:
            self._channels[key] = channel
            self._loops.setdefault(loop, set()).add(key)
        return channel

    async def call(self, request: dict, worker: Worker, timeout: float) -> Response:
        if self.allowed_hosts is not None:              # workers.allowed_hosts (SSRF)
            refused = host_refusal(worker.endpoint, self.allowed_hosts)
            if refused is not None:
                raise WorkerFailed(safe_endpoint(worker.endpoint), refused, retryable=False,
                                   outcome="host-not-allowed")
        try:
            endpoint, target, method, tls, options = self._route(worker)
            rpc = self._rpc(target, method, tls, options)
            key = idempotency_key(request)
            message = perform_request(request, key).SerializeToString()
        except ValueError as exc:
            raise WorkerFailed(safe_endpoint(worker.endpoint), f"bad endpoint: {exc}", retryable=False,
                               outcome="bad-endpoint") from None
        metadata = self._metadata(worker.headers) + (("idempotency-key", key),)
        traceparent = trace.CURRENT.get()
        if traceparent is not None:             # W3C trace context of this attempt (goflow.trace)
            metadata += (("traceparent", traceparent),)
        try:
            raw = await rpc(message, timeout=timeout, metadata=metadata)
        except grpc.aio.AioRpcError as exc:
            raise self._failure(exc, endpoint, timeout) from None
        if len(raw) > self.max_body_bytes:
            raise BodyTooLarge(endpoint, self.max_body_bytes)
        try:
            answer = worker_pb2.PerformResponse.FromString(raw)
        except Exception as exc:  # noqa: BLE001 - protobuf's DecodeError and friends
            raise WorkerFailed(endpoint, f"the answer is not a PerformResponse: {exc}", retryable=False,
                               outcome="bad-response") from None
        output = from_struct(answer.output) if answer.HasField("output") else None
        return Response(202 if answer.accepted else 200, output, {}, answer.event or None, "OK")

    def _failure(self, exc: grpc.aio.AioRpcError, endpoint: str, timeout: float) -> Exception:
        code, details = exc.code(), exc.details() or ""
        log.debug("%s: %s %s", endpoint, code.name, details)
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return CallTimedOut(endpoint, timeout)
        if code == grpc.StatusCode.RESOURCE_EXHAUSTED and _TOO_LARGE in details and "Received" in details:
            return BodyTooLarge(endpoint, self.max_body_bytes)
        pushback = None
        for key, value in exc.trailing_metadata() or ():
            if key == PUSHBACK:
                try:
                    pushback = max(0.0, int(value) / 1000)
                except (TypeError, ValueError):
                    pushback = None
        return WorkerFailed(endpoint, f"{code.name}: {details}"[:500], retryable=code in RETRYABLE,
                            outcome=code.name, retry_after=pushback if code in RETRYABLE else None)

    async def aclose(self) -> None:
        """Close the channels of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            keys = self._loops.pop(loop, set())
            channels = [self._channels.pop(k) for k in keys if k in self._channels]
            for key in [k for k in self._rpcs if k[0] is loop]:
                del self._rpcs[key]
        for channel in channels:
            await channel.close()

    def __repr__(self) -> str:
        return f"GrpcTransport(max_body_bytes={self.max_body_bytes})"
