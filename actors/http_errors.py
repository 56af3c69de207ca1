"""Error mapping of the HTTP API: every error becomes a JSON body with an HTTP status.

``{"error": {"type": "EventRefused", "message": ..., "instance_id": ..., "state": ..., "accepted": [...]}}``
(docs/http_api.md lists the statuses). Anything that is not a :class:`GoflowError` is a 500 with a
generic message; its details go to the server's log only.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import web

from goflow.errors import (BlueprintNotFound, EventRefused, GoflowError, InstanceExists, InstanceFinished,
                           InstanceNotFound, InvalidInput, NotVisited, RequestTimeout, RuntimeUnavailable,
                           WrongStatus)

__all__ = ["BadRequest", "status_for", "error_body", "dumps", "json_response", "error_response",
           "errors_middleware"]

log = logging.getLogger("goflow.http_api")

_STATUS: list[tuple[type, int]] = [
    (InvalidInput, 400),
    (InstanceNotFound, 404), (BlueprintNotFound, 404),
    (EventRefused, 409), (InstanceFinished, 409), (InstanceExists, 409), (WrongStatus, 409), (NotVisited, 409),
    (RuntimeUnavailable, 503), (RequestTimeout, 503),
]
_CONTEXT = ("instance_id", "state", "event", "accepted", "status", "project", "activity", "version", "field")
_HTTP_TYPES = {401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
               413: "PayloadTooLarge", 415: "UnsupportedMediaType", 421: "MisdirectedRequest"}


class BadRequest(GoflowError):
    """A request the API refuses before the engine sees it (HTTP 400, or ``status``)."""

    def __init__(self, message: str, status: int = 400, type_name: str = "InvalidInput",
                 headers: dict[str, str] | None = None):
        self.http_status, self.type_name, self.headers = status, type_name, headers or {}
        super().__init__(message)


def status_for(exc: BaseException) -> int:
    """The HTTP status of an error (500 for anything unexpected)."""
    if isinstance(exc, BadRequest):
        return exc.http_status
    for cls, code in _STATUS:
        if isinstance(exc, cls):
            return code
    return 500


def error_body(exc: BaseException) -> dict:
    """``{"error": {"type", "message", <context fields>}}`` of an error."""
    name = exc.type_name if isinstance(exc, BadRequest) else type(exc).__name__
    if not isinstance(exc, GoflowError):
        name, message = "InternalError", "internal error; see the API server's log"
    else:
        message = " ".join(str(exc).split())
    err: dict[str, Any] = {"type": name, "message": message}
    for key in _CONTEXT:
        value = getattr(exc, key, None) if isinstance(exc, GoflowError) else None
        if value is None:
            continue
        if isinstance(value, (str, int, float, bool)) or (isinstance(value, list)
                                                          and all(isinstance(v, str) for v in value)):
            err[key] = value
    return {"error": err}


def dumps(value: Any) -> str:
    return json.dumps(value, default=str, separators=(",", ":"))


def json_response(value: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(text=dumps(value), status=status, content_type="application/json", headers=headers)


def error_response(exc: BaseException) -> web.Response:
    status = status_for(exc)
    if status >= 500 and not isinstance(exc, (RuntimeUnavailable, RequestTimeout)):
        log.error("api.error type=%s error=%s", type(exc).__name__, exc,
                  exc_info=not isinstance(exc, GoflowError))
    return json_response(error_body(exc), status, headers=exc.headers if isinstance(exc, BadRequest) else None)


@web.middleware
async def errors_middleware(request: web.Request, handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except web.HTTPException as exc:      # routing: 404 no such path, 405 method, 413 from aiohttp
        if exc.status < 400:
            raise
        kind = _HTTP_TYPES.get(exc.status, "HTTPError")
        headers = {k: v for k, v in exc.headers.items() if k.lower() == "allow"}
        return json_response({"error": {"type": kind, "message": f"{exc.reason}: {request.method} "
                                                                 f"{request.path}"}},
                             exc.status, headers=headers)
    except asyncio.CancelledError:
        raise
    except Exception as exc:  # noqa: BLE001 - every error becomes a JSON error body
        return error_response(exc)
