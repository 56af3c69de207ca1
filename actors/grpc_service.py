"""The Engine gRPC service (``goflow.engine.v1.Engine``, SPEC §9): every operation of the HTTP API over
the same engine bridge and event batcher (:mod:`actors.bridge`), with token authentication (SPEC §10)
and the status-code mapping of docs/grpc.md. The process around it is :mod:`actors.grpc_server`.

Errors: a refused event is FAILED_PRECONDITION (its message names the state and the events accepted),
a finished instance FAILED_PRECONDITION, an unknown instance or blueprint NOT_FOUND, an existing id
ALREADY_EXISTS, a retry or rewind that does not apply FAILED_PRECONDITION, a bad id, name or data
INVALID_ARGUMENT, data over ``limits.event_bytes`` or a full postponed queue RESOURCE_EXHAUSTED, no or a wrong token UNAUTHENTICATED, a daemon that does not answer UNAVAILABLE.
"""
from __future__ import annotations

import functools
import json
import logging
from typing import Any, Callable

import grpc
from google.protobuf import json_format, struct_pb2

from goflow.auth import matches
from goflow.errors import (BlueprintNotFound, EventRefused, InstanceExists, InstanceFinished,
                           InstanceNotFound, InvalidInput, NotVisited, QueueFull, RequestTimeout, RuntimeUnavailable,
                           WrongStatus)
from goflow.fsm import STATUSES
from goflow.paging import DEFAULT_LIMIT, MAX_LIMIT, check_order
from goflow.proto import engine_pb2, engine_pb2_grpc
from goflow.transports.grpc import from_message, to_struct

from . import http_requests as req
from .bridge import EngineBridge, EventBatcher
from .http_errors import BadRequest
from .watch_hub import WatchHub

__all__ = ["EngineService", "code_for", "MAX_INT"]

log = logging.getLogger("goflow.grpc_api")

MAX_INT = 2**31 - 1

_CODES: list[tuple[type, grpc.StatusCode]] = [
    (InvalidInput, grpc.StatusCode.INVALID_ARGUMENT),
    (InstanceNotFound, grpc.StatusCode.NOT_FOUND), (BlueprintNotFound, grpc.StatusCode.NOT_FOUND),
    (QueueFull, grpc.StatusCode.RESOURCE_EXHAUSTED),
    (EventRefused, grpc.StatusCode.FAILED_PRECONDITION), (InstanceFinished, grpc.StatusCode.FAILED_PRECONDITION),
    (WrongStatus, grpc.StatusCode.FAILED_PRECONDITION), (NotVisited, grpc.StatusCode.FAILED_PRECONDITION),
    (InstanceExists, grpc.StatusCode.ALREADY_EXISTS),
    (RuntimeUnavailable, grpc.StatusCode.UNAVAILABLE), (RequestTimeout, grpc.StatusCode.UNAVAILABLE),
]


def code_for(exc: BaseException) -> grpc.StatusCode:
    """The status code of an error (INTERNAL for anything unexpected)."""
    if isinstance(exc, BadRequest):
        return grpc.StatusCode.RESOURCE_EXHAUSTED if exc.http_status == 413 else grpc.StatusCode.INVALID_ARGUMENT
    for cls, code in _CODES:
        if isinstance(exc, cls):
            return code
    return grpc.StatusCode.INTERNAL


def _value(value: Any) -> struct_pb2.Value:
    out = struct_pb2.Value()
    json_format.ParseDict(json.loads(json.dumps(value, default=str)), out)
    return out


def _instance(view: dict) -> engine_pb2.Instance:
    msg = engine_pb2.Instance(
        id=view.get("id") or "", project=view.get("project") or "", activity=view.get("activity") or "",
        version=view.get("version") or 0, status=view.get("status") or "", state=view.get("state") or "",
        step=view.get("step") or 0, reason=view.get("reason") or "", created=view.get("created") or 0.0,
        updated=view.get("updated") or 0.0, result=view.get("result") or "",
        postponed=[str(e) for e in view.get("postponed") or ()], visited=[str(v) for v in view.get("visited") or ()])
    for name in ("context", "input", "pending", "parent"):
        value = view.get(name)
        if isinstance(value, dict):
            getattr(msg, name).CopyFrom(to_struct(value))
    return msg


def _record(position: int, rec: dict) -> engine_pb2.HistoryRecord:
    msg = engine_pb2.HistoryRecord(position=position, time=rec.get("time") or 0.0)
    for name in ("state", "event", "action", "next", "endpoint", "outcome"):
        if rec.get(name) is not None:
            setattr(msg, name, str(rec[name]))
    for name in ("step", "attempt", "latency"):
        if rec.get(name) is not None:
            setattr(msg, name, rec[name])
    if rec.get("detail") is not None:
        msg.detail.CopyFrom(_value(rec["detail"]))
    return msg


def authenticated(method: Callable) -> Callable:
    """Check the ``authorization: Bearer <token>`` metadata first (UNAUTHENTICATED otherwise), then map
    errors to status codes. Works for unary methods and server streams."""
    async def check(self: "EngineService", context) -> None:
        given = dict(context.invocation_metadata() or ()).get("authorization", "")
        scheme, _sep, token = given.strip().partition(" ")
        if scheme.lower() != "bearer" or not matches(self.token, token.strip()):
            await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                "send the daemon's token as 'authorization: Bearer <token>' metadata "
                                "(the token is in <data dir>/api.token)")

    async def fail(context, exc: BaseException):
        code = code_for(exc)
        if code == grpc.StatusCode.INTERNAL:
            log.error("grpc_api.error method=%s error=%r", method.__name__, exc, exc_info=True)
            message = "internal error; see the gRPC server's log"
        else:
            message = " ".join(str(exc).split())
        await context.abort(code, message)

    if method.__name__ == "WatchInstance":
        @functools.wraps(method)
        async def stream(self, request, context):
            await check(self, context)
            try:
                async for item in method(self, request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as exc:  # noqa: BLE001 - every error becomes a status code
                await fail(context, exc)
        return stream

    @functools.wraps(method)
    async def unary(self, request, context):
        await check(self, context)
        try:
            return await method(self, request, context)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - every error becomes a status code (INTERNAL: logged)
            await fail(context, exc)
    return unary


class EngineService(engine_pb2_grpc.EngineServicer):
    """``goflow.engine.v1.Engine`` over ``bridge`` (one engine thread) and ``batcher`` (SendEvent)."""

    def __init__(self, bridge: EngineBridge, batcher: EventBatcher, token: str, limits: req.Limits,
                 hub: WatchHub | None = None):
        self.bridge, self.batcher, self.token, self.limits = bridge, batcher, token, limits
        self.hub = hub          # the WatchInstance streams (actors.watch_hub); None: not served

    def _data(self, msg, field: str) -> Any:
        if not msg.HasField(field):
            return None
        value = from_message(getattr(msg, field))
        return req.bounded(value, field, self.limits)

    @authenticated
    async def StartInstance(self, request, context):
        blueprint = req.blueprint(request.blueprint)
        input_doc = self._data(request, "input") or {}
        iid = req.name(request.id or None, "id", required=False)
        version = req.integer(request.version, "version", 1, MAX_INT) if request.version else None
        iid = await self.bridge.call(lambda eng: eng.start(blueprint, input_doc, id=iid, version=version))
        return engine_pb2.StartInstanceResponse(id=iid)

    @authenticated
    async def SendEvent(self, request, context):
        iid = req.name(request.instance_id, "instance_id")
        event = req.name(request.event, "event")
        data = self._data(request, "data")
        event_id = req.name(request.event_id or None, "event_id", required=False)
        ack = await self.batcher.send(iid, event, data, event_id)
        return engine_pb2.EventAck(id=ack.get("id") or iid, state=ack.get("state") or "",
                                   status=ack.get("status") or "", duplicate=bool(ack.get("duplicate")))

    @authenticated
    async def GetInstance(self, request, context):
        iid = req.name(request.instance_id, "instance_id")
        return _instance(await self.bridge.call(lambda eng: eng.status(iid)))

    @authenticated
    async def ListInstances(self, request, context):
        """One page by cursor (goflow.paging, SPEC §12), as the HTTP API's ``GET /instances``; no offset."""
        blueprint = req.blueprint(request.blueprint) if request.blueprint else None
        status = request.status or None
        if status is not None and status not in STATUSES + ("quarantined",):
            raise BadRequest(f"'status' must be one of {', '.join(STATUSES + ('quarantined',))}")
        if request.offset:
            raise BadRequest("'offset' is not supported: pass the 'next' of the previous page as 'cursor'")
        limit = req.integer(request.limit or DEFAULT_LIMIT, "limit", 1, MAX_LIMIT)
        order = check_order(request.order or "latest")
        cursor = request.cursor or None
        end_state = req.name(request.end_state or None, "end_state", required=False)
        parent = req.identifier(request.parent or None, "parent", required=False)
        rows = await self.bridge.call(lambda eng: eng.list(blueprint, status, limit=limit, order=order,
                                                           cursor=cursor, end_state=end_state, parent=parent))
        return engine_pb2.ListInstancesResponse(instances=[_instance(r) for r in rows], limit=limit,
                                                next=rows.next or "")

    @authenticated
    async def GetHistory(self, request, context):
        """One page by cursor, as the HTTP API's ``GET /instances/{id}/history``, each record with its
        position: the cursor carries the position of the record it names, so only a first page
        latest-first (or a plain HTTP cursor) has the store count records on its index (docs/grpc.md)."""
        iid = req.name(request.instance_id, "instance_id")
        limit = req.integer(request.limit or DEFAULT_LIMIT, "limit", 1, MAX_LIMIT)
        order = check_order(request.order or "latest")
        cursor = request.cursor or None
        records = await self.bridge.call(lambda eng: eng.history(iid, limit=limit, order=order, cursor=cursor,
                                                                 positions=True))
        return engine_pb2.GetHistoryResponse(id=iid, history=[_record(r.pop("position"), r) for r in records],
                                             limit=limit, next=records.next or "")

    async def _manage(self, iid: str, op: str, *args, **kwargs) -> engine_pb2.ManageResponse:
        iid = req.name(iid, "instance_id")
        res = await self.bridge.call(lambda eng: getattr(eng, op)(iid, *args, **kwargs))
        return engine_pb2.ManageResponse(id=iid, result=to_struct(res if isinstance(res, dict) else {"result": res}))

    @authenticated
    async def PauseInstance(self, request, context):
        return await self._manage(request.instance_id, "pause")

    @authenticated
    async def ResumeInstance(self, request, context):
        return await self._manage(request.instance_id, "resume")

    @authenticated
    async def TerminateInstance(self, request, context):
        reason = req.bounded(request.reason, "reason", self.limits) if request.reason else None
        return await self._manage(request.instance_id, "terminate", reason, force=request.force)

    @authenticated
    async def RetryInstance(self, request, context):
        return await self._manage(request.instance_id, "retry", by="api")

    @authenticated
    async def RewindInstance(self, request, context):
        state = req.name(request.state, "state")
        return await self._manage(request.instance_id, "rewind", state, by="api")

    @authenticated
    async def WatchInstance(self, request, context):
        """Every record from ``position`` on, then each one as it is committed (the instance's host
        answers the stream's held request when the instance commits: no polling), until nothing more
        can come: the instance ended and its completion hook's outcome, if any, is recorded."""
        iid = req.name(request.instance_id, "instance_id")
        if request.position < 0:
            raise BadRequest("'position' must be at least 0")
        if self.hub is None:
            raise RuntimeUnavailable("this server does not serve WatchInstance")
        async for position, rec in self.hub.watch(iid, request.position):
            yield _record(position, rec)
