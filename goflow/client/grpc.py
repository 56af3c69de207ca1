"""A thin typed client of the daemon's gRPC Engine service (``goflow.engine.v1.Engine``, docs/grpc.md).

    from goflow.client.grpc import EngineClient

    with EngineClient("127.0.0.1:7533", data_dir="goflow-data") as client:   # token: GOFLOW_TOKEN or the file
        iid = client.start("goflow/inquiry", {"customer": 42})
        client.send(iid, "approved", {"by": "ann"}, event_id="approval-1")
        for record in client.watch(iid):          # every history record, then live ones, until it ends
            print(record["state"], record["event"], record["outcome"])

Results are plain data (dicts and lists, as :class:`actors.api.Engine` returns them); a refused call
raises :class:`EngineCallError` with the status code's name (``NOT_FOUND``, ``FAILED_PRECONDITION``...)
and the server's message. Blocking calls on a ``grpc`` channel; one client may serve many threads.
"""
from __future__ import annotations

from typing import Any, Iterator

import grpc
from google.protobuf import json_format, struct_pb2

from ..auth import client_token
from ..errors import GoflowError
from ..paging import DEFAULT_LIMIT, Page
from ..proto import engine_pb2 as pb
from ..proto import engine_pb2_grpc
from ..transports.grpc import from_message

__all__ = ["EngineClient", "EngineCallError", "DEFAULT_TARGET"]

DEFAULT_TARGET = "127.0.0.1:7533"


class EngineCallError(GoflowError):
    """The Engine service refused a call: ``code`` (e.g. ``"NOT_FOUND"``) and ``details`` say why."""

    def __init__(self, method: str, code: str, details: str):
        self.method, self.code, self.details = method, code, details
        super().__init__(f"{method}: {code}: {details}")


def _struct(value: Any) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    if value:
        out.update(value)
    return out


def _dict(msg, name: str) -> Any:
    return from_message(getattr(msg, name)) if msg.HasField(name) else None


def instance_dict(msg: pb.Instance) -> dict:
    """An ``Instance`` message as the dict ``Engine.status`` returns."""
    return {"id": msg.id, "project": msg.project, "activity": msg.activity, "version": msg.version,
            "status": msg.status, "state": msg.state, "context": _dict(msg, "context"),
            "input": _dict(msg, "input"), "step": msg.step, "reason": msg.reason or None,
            "created": msg.created, "updated": msg.updated, "pending": _dict(msg, "pending"),
            "result": msg.result or None, "postponed": list(msg.postponed), "visited": list(msg.visited),
            "parent": _dict(msg, "parent")}


def record_dict(msg: pb.HistoryRecord) -> dict:
    """A ``HistoryRecord`` as the dict ``Engine.history`` returns, plus its ``position``."""
    out = {"position": msg.position, "time": msg.time}
    for name in ("state", "event", "action", "next", "endpoint", "outcome"):
        out[name] = getattr(msg, name) or None
    for name in ("step", "attempt", "latency"):
        out[name] = getattr(msg, name) if msg.HasField(name) else None
    out["detail"] = _dict(msg, "detail")
    return out


class EngineClient:
    """Blocking client of one daemon's gRPC API. ``token``: default ``GOFLOW_TOKEN`` or
    ``<data_dir>/api.token``. ``root_certificates`` (PEM bytes) or ``tls=True`` (the system's roots)
    for a server with ``grpc.tls_cert``."""

    def __init__(self, target: str = DEFAULT_TARGET, *, token: str | None = None, data_dir: str | None = None,
                 tls: bool = False, root_certificates: bytes | None = None, timeout: float = 30.0):
        self.target, self.timeout = target, timeout
        self.token = token if token is not None else client_token(data_dir)
        if tls or root_certificates is not None:
            self._channel = grpc.secure_channel(target, grpc.ssl_channel_credentials(root_certificates))
        else:
            self._channel = grpc.insecure_channel(target)
        self._stub = engine_pb2_grpc.EngineStub(self._channel)

    def _metadata(self) -> tuple:
        return (("authorization", f"Bearer {self.token}"),) if self.token else ()

    def _call(self, method: str, request, timeout: float | None = None):
        try:
            return getattr(self._stub, method)(request, timeout=timeout or self.timeout, metadata=self._metadata())
        except grpc.RpcError as exc:
            raise EngineCallError(method, exc.code().name, exc.details() or "") from None

    # ------------------------------------------------------------------------------ operations
    def start(self, blueprint: str, input: dict | None = None, *, id: str | None = None,
              version: int | None = None) -> str:
        return self._call("StartInstance", pb.StartInstanceRequest(blueprint=blueprint, input=_struct(input),
                                                                   id=id or "", version=version or 0)).id

    def send(self, instance_id: str, event: str, data: Any = None, *, event_id: str | None = None) -> dict:
        request = pb.SendEventRequest(instance_id=instance_id, event=event, event_id=event_id or "")
        if data is not None:
            json_format.ParseDict(data, request.data)
        ack = self._call("SendEvent", request)
        return {"id": ack.id, "state": ack.state, "status": ack.status, "duplicate": ack.duplicate}

    def status(self, instance_id: str) -> dict:
        return instance_dict(self._call("GetInstance", pb.InstanceRequest(instance_id=instance_id)))

    def list(self, blueprint: str | None = None, status: str | None = None, *, limit: int = DEFAULT_LIMIT,
             order: str = "latest", cursor: str | None = None, end_state: str | None = None,
             parent: str | None = None) -> Page:
        """One page of instances (dicts) ordered by creation, ``latest`` or ``oldest`` first; its
        ``next`` is the cursor of the following page (None on the last): pass it as ``cursor``.
        ``parent``: the child instances of that instance."""
        reply = self._call("ListInstances", pb.ListInstancesRequest(
            blueprint=blueprint or "", status=status or "", limit=limit, order=order, cursor=cursor or "",
            end_state=end_state or "", parent=parent or ""))
        return Page([instance_dict(m) for m in reply.instances], reply.next or None)

    def history(self, instance_id: str, *, limit: int = DEFAULT_LIMIT, order: str = "latest",
                cursor: str | None = None) -> Page:
        """One page of the instance's history records (dicts with their ``position``), ``latest`` or
        ``oldest`` first; its ``next`` is the cursor of the following page (None on the last): pass
        it as ``cursor`` with the same ``order``."""
        reply = self._call("GetHistory", pb.GetHistoryRequest(instance_id=instance_id, limit=limit,
                                                              order=order, cursor=cursor or ""))
        return Page([record_dict(m) for m in reply.history], reply.next or None)

    def _manage(self, method: str, request) -> dict:
        reply = self._call(method, request)
        return _dict(reply, "result") or {"id": reply.id}

    def pause(self, instance_id: str) -> dict:
        return self._manage("PauseInstance", pb.InstanceRequest(instance_id=instance_id))

    def resume(self, instance_id: str) -> dict:
        return self._manage("ResumeInstance", pb.InstanceRequest(instance_id=instance_id))

    def terminate(self, instance_id: str, reason: str | None = None, *, force: bool = False) -> dict:
        return self._manage("TerminateInstance", pb.TerminateInstanceRequest(instance_id=instance_id,
                                                                             reason=reason or "", force=force))

    def retry(self, instance_id: str) -> dict:
        return self._manage("RetryInstance", pb.InstanceRequest(instance_id=instance_id))

    def rewind(self, instance_id: str, state: str) -> dict:
        return self._manage("RewindInstance", pb.RewindInstanceRequest(instance_id=instance_id, state=state))

    def watch(self, instance_id: str, position: int = 0, timeout: float | None = None) -> Iterator[dict]:
        """Every history record from ``position`` on, then the live ones, until the instance ends
        (``timeout``: the whole stream's deadline, default none)."""
        stream = self._stub.WatchInstance(pb.WatchInstanceRequest(instance_id=instance_id, position=position),
                                          timeout=timeout, metadata=self._metadata())
        try:
            for msg in stream:
                yield record_dict(msg)
        except grpc.RpcError as exc:
            raise EngineCallError("WatchInstance", exc.code().name, exc.details() or "") from None
        finally:
            stream.cancel()

    # ------------------------------------------------------------------------------ life cycle
    def close(self) -> None:
        self._channel.close()

    def __enter__(self) -> "EngineClient":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
