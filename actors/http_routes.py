"""The routes of the HTTP API: one handler per endpoint over the engine bridge (docs/http_api.md).

    POST /instances                        {blueprint, input?, id?, version?}   -> 201 {id}
    POST /instances/{id}/events            {event, data?, event_id?}   -> 200 {id, state, status, duplicate}
    GET  /instances/{id}                   status
    GET  /instances/{id}/history?limit=&order=&cursor=  {id, history: [...], next}
    GET  /instances?blueprint=&status=&end_state=&parent=&limit=&order=&cursor=   {instances: [...], next}
    POST /instances/{id}/pause|resume|terminate    terminate: {reason?, force?}
    POST /instances/{id}/retry                        (SPEC §8; recorded as asked by "api")
    POST /instances/{id}/rewind            {to}
    GET  /health                           (no token)
    GET  /openapi.json                     the OpenAPI 3.1 document of all this (no token)
    GET  /metrics                          Prometheus text format (docs/metrics.md)

Every request passes the guard of :mod:`actors.http_security` first (Host, Origin, token, content type).
"""
from __future__ import annotations

import time
from importlib import resources
from urllib.parse import quote

from aiohttp import web

from goflow import metrics
from goflow.config import LimitsSection
from goflow.fsm import STATUSES
from goflow.store import status as store_status

from . import http_requests as req
from .bridge import DEFAULT_WINDOW, MAX_BATCH, EngineBridge, EventBatcher
from .daemon import processes
from .http_errors import BadRequest, errors_middleware, json_response
from .http_requests import LIMITS, Limits
from .http_security import Guard

__all__ = ["BRIDGE", "BATCHER", "DATA_DIR", "make_app", "openapi_document"]

MAX_INT = 2**31 - 1      # bound of a version (OpenAPI too)

BRIDGE: web.AppKey[EngineBridge] = web.AppKey("bridge", EngineBridge)
BATCHER: web.AppKey[EventBatcher] = web.AppKey("batcher", EventBatcher)
DATA_DIR: web.AppKey[str] = web.AppKey("data_dir", str)


async def create_instance(request: web.Request) -> web.Response:
    body = await req.read_body(request)
    req.known(body, ("blueprint", "input", "id", "version"))
    blueprint = req.blueprint(body.get("blueprint"))
    input_doc = body.get("input")
    if input_doc is None:
        input_doc = {}
    if not isinstance(input_doc, dict):
        raise BadRequest(f"'input' must be a JSON object, not {type(input_doc).__name__}")
    req.bounded(input_doc, "input", request.app[LIMITS])
    iid = req.identifier(body.get("id"), "id", required=False)
    version = body.get("version")
    if version is not None:
        if isinstance(version, str):
            raise BadRequest("'version' must be an integer, not a string")
        version = req.integer(version, "version", 1, MAX_INT)
    iid = await request.app[BRIDGE].call(lambda eng: eng.start(blueprint, input_doc, id=iid, version=version))
    return json_response({"id": iid}, 201, headers={"Location": f"/instances/{quote(iid, safe='')}"})


async def send_event(request: web.Request) -> web.Response:
    t0 = time.perf_counter()
    iid = req.identifier(request.match_info["id"], "id")
    body = await req.read_body(request)
    req.known(body, ("event", "data", "event_id"))
    event = req.name(body.get("event"), "event")
    data = req.bounded(body.get("data"), "data", request.app[LIMITS])
    event_id = body.get("event_id")
    if event_id is None:
        event_id = request.headers.get("Idempotency-Key") or None
    event_id = req.identifier(event_id, "event_id", required=False)
    ack = await request.app[BATCHER].send(iid, event, data, event_id)
    metrics.event_ack(time.perf_counter() - t0)
    return json_response(ack)


async def get_status(request: web.Request) -> web.Response:
    iid = req.identifier(request.match_info["id"], "id")
    return json_response(await request.app[BRIDGE].call(lambda eng: eng.status(iid)))


async def get_history(request: web.Request) -> web.Response:
    iid = req.identifier(request.match_info["id"], "id")
    limit, order, cursor = req.page(request.query)
    records = await request.app[BRIDGE].call(lambda eng: eng.history(iid, limit=limit, order=order, cursor=cursor))
    return json_response({"id": iid, "history": records, "next": records.next})


async def list_instances(request: web.Request) -> web.Response:
    q = request.query
    blueprint = req.blueprint(q["blueprint"]) if "blueprint" in q else None
    status = q.get("status")
    if status is not None and status not in STATUSES + ("quarantined",):
        raise BadRequest(f"'status' must be one of {', '.join(STATUSES + ('quarantined',))}")
    end_state = req.name(q.get("end_state"), "end_state", required=False)
    parent = req.identifier(q.get("parent"), "parent", required=False)
    limit, order, cursor = req.page(q)
    rows = await request.app[BRIDGE].call(lambda eng: eng.list(blueprint, status, limit=limit, order=order,
                                                               cursor=cursor, end_state=end_state, parent=parent))
    return json_response({"instances": rows, "next": rows.next})


def _management(op: str):
    async def handler(request: web.Request) -> web.Response:
        iid = req.identifier(request.match_info["id"], "id")
        body = await req.read_body(request, required=False)
        if op == "terminate":
            req.known(body, ("reason", "force"))
            reason, force = body.get("reason"), body.get("force", False)
            if reason is not None and not isinstance(reason, str):
                raise BadRequest("'reason' must be a string")
            if not isinstance(force, bool):
                raise BadRequest("'force' must be true or false")
            if reason is not None:
                req.bounded(reason, "reason", request.app[LIMITS])
            res = await request.app[BRIDGE].call(lambda eng: eng.terminate(iid, reason, force=force))
        elif op == "retry":
            req.known(body, ())
            res = await request.app[BRIDGE].call(lambda eng: eng.retry(iid, by="api"))
        elif op == "rewind":
            req.known(body, ("to",))
            target = req.name(body.get("to"), "to")
            res = await request.app[BRIDGE].call(lambda eng: eng.rewind(iid, target, by="api"))
        else:
            req.known(body, ())
            res = await request.app[BRIDGE].call(lambda eng: getattr(eng, op)(iid))
        return json_response(res if isinstance(res, dict) else {"id": iid, "result": res})
    handler.__name__ = op
    return handler


async def health(request: web.Request) -> web.Response:
    down = store_status.unavailable(request.app[DATA_DIR]) if request.app[DATA_DIR] else {}
    if down:   # its hosts are blocked retrying the store: do not wait for them
        shards = ", ".join(str(k) for k in sorted(down))
        return json_response({"error": {"type": "StoreUnavailable",
                                        "message": f"the store of shard(s) {shards} is unavailable (retrying): "
                                                   f"{down[min(down)]}"},
                              "status": "store-unavailable",
                              "store": {"unavailable": {str(k): v for k, v in sorted(down.items())}}},
                             status=503)
    # the same process list as `goflow daemon status` (actors.daemon.processes)
    pids, _info = await request.app[BRIDGE].call(processes)
    return json_response({"status": "ok", "daemon_port": request.app[BRIDGE].daemon_port,
                          "processes": len(pids), "batching": request.app[BATCHER].stats()})


async def get_metrics(request: web.Request) -> web.Response:
    if store_status.unavailable(request.app[DATA_DIR]):   # the hosts are blocked retrying: no counts now
        counts = {}
    else:
        counts = await request.app[BRIDGE].call(lambda eng: eng.counts())
    body, content_type = metrics.exposition(request.app[DATA_DIR], counts)
    return web.Response(body=body, headers={"Content-Type": content_type})


def openapi_document() -> bytes:
    """The OpenAPI 3.1 document of this API (``goflow/schemas/openapi.json``, package data)."""
    return resources.files("goflow").joinpath("schemas", "openapi.json").read_bytes()


def make_app(bridge: EngineBridge, guard: Guard, *, event_bytes: int = LimitsSection.event_bytes,
             window: float = DEFAULT_WINDOW, max_batch: int = MAX_BATCH, data_dir: str = "",
             console: bool = True) -> web.Application:
    """The aiohttp application over ``bridge``, behind ``guard``; ``data_dir`` is the daemon's (its
    metrics samples)."""
    limits = Limits(event_bytes)
    app = web.Application(middlewares=[errors_middleware, guard.middleware], client_max_size=limits.body_bytes)
    app[BRIDGE], app[LIMITS], app[DATA_DIR] = bridge, limits, data_dir
    app[BATCHER] = EventBatcher(bridge, window, max_batch)

    async def on_startup(app):
        app[BATCHER].start()

    async def on_cleanup(app):
        await app[BATCHER].stop()

    app.on_startup.append(on_startup)
    app.on_cleanup.append(on_cleanup)
    app.router.add_post("/instances", create_instance)
    app.router.add_get("/instances", list_instances)
    app.router.add_post("/instances/{id}/events", send_event)
    app.router.add_get("/instances/{id}", get_status)
    app.router.add_get("/instances/{id}/history", get_history)
    for op in ("pause", "resume", "terminate", "retry", "rewind"):
        app.router.add_post(f"/instances/{{id}}/{op}", _management(op))
    app.router.add_get("/health", health)
    app.router.add_get("/metrics", get_metrics)
    spec = openapi_document()

    async def openapi(request: web.Request) -> web.Response:
        return web.Response(body=spec, content_type="application/json")

    app.router.add_get("/openapi.json", openapi)
    if console:
        from . import console as ui
        ui.setup(app, guard.token, tls=guard.tls)
    return app
