"""Test support: a real gRPC worker server on 127.0.0.1 (grpc.aio in a thread of its own), told by the
step's input what to do.

``input["plan"]`` is a list: attempt *n* of a step follows ``plan[n-1]`` (the last entry once the plan
runs out; no plan: ``"ok"``). Entries:

* ``"ok"`` — ``PerformResponse(output={"echo": input})``; ``"event:<name>"`` names the event;
  ``"accept"`` answers ``accepted=true``;
* ``"<CODE>"`` — aborts with that status code (``"UNAVAILABLE"``, ``"INVALID_ARGUMENT"``...);
  ``"<CODE>@<ms>"`` adds ``grpc-retry-pushback-ms: <ms>`` to the trailing metadata;
* ``"hang"`` — holds the call until the client gives up (its deadline) or ``HOLD`` passes;
* ``"gate:<name>"`` — holds the call until the test calls ``server.open(name)``;
* ``"big:<bytes>"`` — an output of about that many bytes.

Every call is recorded (``seen``: method, metadata dict, request as a dict). The server serves the
standard method and ``/custom.Pkg/Run`` (same messages). ``tls=(cert, key, client_ca)`` serves TLS
(client certificates required when ``client_ca`` is given).
"""
from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from dataclasses import dataclass, field

import grpc
from google.protobuf import json_format

from goflow.proto import worker_pb2, worker_pb2_grpc

HOLD = 30.0
CUSTOM = "custom.Pkg/Run"


@dataclass
class Seen:
    method: str
    metadata: dict
    request: dict


@dataclass
class GrpcWorkerServer:
    port: int = 0
    seen: list = field(default_factory=list)
    loop: object = None
    gates: dict = field(default_factory=dict)

    @property
    def target(self) -> str:
        return f"127.0.0.1:{self.port}"

    def url(self, path: str = "", scheme: str = "grpc") -> str:
        return f"{scheme}://127.0.0.1:{self.port}{path}"

    def _gate(self, name: str) -> asyncio.Event:
        return self.gates.setdefault(name, asyncio.Event())

    def open(self, name: str) -> None:
        self.loop.call_soon_threadsafe(lambda: self._gate(name).set())

    def reset(self) -> None:
        def release():
            for ev in self.gates.values():
                ev.set()
            self.gates.clear()
        if self.loop is not None:
            self.loop.call_soon_threadsafe(release)
        self.seen.clear()

    def keys(self) -> list[str]:
        return [s.metadata.get("idempotency-key") for s in self.seen]

    async def handle(self, request: worker_pb2.PerformRequest, context, method: str):
        doc = json_format.MessageToDict(request, preserving_proto_field_name=True)
        self.seen.append(Seen(method, {k: v for k, v in context.invocation_metadata()}, doc))
        plan = list(doc.get("input", {}).get("plan") or ["ok"])
        what = plan[min(len(plan), max(1, request.attempt)) - 1]
        kind, _sep, arg = what.partition(":")
        if what == "ok":
            return worker_pb2.PerformResponse(output=_struct({"echo": doc.get("input", {})}))
        if kind == "event":
            return worker_pb2.PerformResponse(event=arg, output=_struct({"said": arg}))
        if what == "accept":
            return worker_pb2.PerformResponse(accepted=True)
        if kind == "big":
            return worker_pb2.PerformResponse(output=_struct({"blob": "x" * int(arg)}))
        if what == "hang":
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.Event().wait(), HOLD)
            return worker_pb2.PerformResponse()
        if kind == "gate":
            await asyncio.wait_for(self._gate(arg).wait(), HOLD)
            return worker_pb2.PerformResponse(output=_struct({"gate": arg}))
        code, _at, pushback = what.partition("@")
        if pushback:
            context.set_trailing_metadata((("grpc-retry-pushback-ms", pushback),))
        await context.abort(getattr(grpc.StatusCode, code), f"planned {code}")


def _struct(value: dict):
    from google.protobuf import struct_pb2
    s = struct_pb2.Struct()
    s.update(value)
    return s


class _Servicer(worker_pb2_grpc.WorkerServicer):
    def __init__(self, server: GrpcWorkerServer):
        self.server = server

    async def Perform(self, request, context):
        return await self.server.handle(request, context, "/goflow.worker.v1.Worker/Perform")


def _custom_handler(server: GrpcWorkerServer) -> grpc.GenericRpcHandler:
    async def run(request, context):
        return await server.handle(request, context, f"/{CUSTOM}")
    service, _sep, method = CUSTOM.partition("/")
    return grpc.method_handlers_generic_handler(service, {method: grpc.unary_unary_rpc_method_handler(
        run, request_deserializer=worker_pb2.PerformRequest.FromString,
        response_serializer=worker_pb2.PerformResponse.SerializeToString)})


@contextlib.contextmanager
def serving(tls: tuple[bytes, bytes, bytes | None] | None = None, port: int = 0):
    """A :class:`GrpcWorkerServer` running in a thread until the block ends."""
    srv = GrpcWorkerServer()
    started = threading.Event()
    stop: dict = {}

    def run():
        loop = asyncio.new_event_loop()
        srv.loop = loop
        asyncio.set_event_loop(loop)

        async def main():
            server = grpc.aio.server(options=[("grpc.max_send_message_length", -1)])
            worker_pb2_grpc.add_WorkerServicer_to_server(_Servicer(srv), server)
            server.add_generic_rpc_handlers((_custom_handler(srv),))
            address = f"127.0.0.1:{port}"
            if tls is None:
                srv.port = server.add_insecure_port(address)
            else:
                cert, key, client_ca = tls
                creds = grpc.ssl_server_credentials([(key, cert)], root_certificates=client_ca,
                                                    require_client_auth=client_ca is not None)
                srv.port = server.add_secure_port(address, creds)
            await server.start()
            stop["event"] = asyncio.Event()
            started.set()
            await stop["event"].wait()
            await server.stop(0)

        try:
            loop.run_until_complete(main())
        finally:
            loop.close()

    thread = threading.Thread(target=run, name="grpc-worker-server", daemon=True)
    thread.start()
    if not started.wait(30):
        raise RuntimeError("the gRPC worker server did not start")
    try:
        yield srv
    finally:
        srv.reset()
        srv.loop.call_soon_threadsafe(stop["event"].set)
        thread.join(30)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
