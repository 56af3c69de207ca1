"""Request parsing of the HTTP API: bounded JSON bodies and checked fields.

Untrusted input: request bodies are bounded (``limits.event_bytes`` plus room for the envelope),
parsed with :func:`json.loads` (no ``NaN``/``Infinity``), and never evaluated. Every refusal is a
:class:`~actors.http_errors.BadRequest` (400, or 413 for a body over the bound).
"""
from __future__ import annotations

import json
import re
from typing import Any

from aiohttp import web

from goflow import ids
from goflow.paging import DEFAULT_LIMIT, MAX_LIMIT, check_order

from .http_errors import BadRequest, dumps

__all__ = ["ENVELOPE_BYTES", "MAX_NAME", "Limits", "LIMITS", "read_body", "name", "identifier", "blueprint",
           "integer", "page", "bounded", "known"]

_INTEGER = re.compile(r"-?[0-9]{1,18}")

ENVELOPE_BYTES = 4096          # room in a request body for the fields around `data`/`input`
MAX_NAME = 256                 # characters of an id, event name, event id, blueprint name
MIN_NUMBER, MAX_NUMBER = -2**63, 2**63 - 1   # the numbers of input and data (64-bit integers)


class Limits:
    def __init__(self, event_bytes: int):
        self.event_bytes = event_bytes
        self.body_bytes = event_bytes + ENVELOPE_BYTES


LIMITS: web.AppKey[Limits] = web.AppKey("limits", Limits)


def name(value: Any, field: str, *, required: bool = True) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{field}' must be a non-empty string")
    if len(value) > MAX_NAME:
        raise BadRequest(f"'{field}' is over {MAX_NAME} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:     # a lone surrogate ("\ud800" in JSON, or bytes that are not UTF-8 in a header)
        raise BadRequest(f"'{field}' is not valid Unicode text (it holds a lone surrogate)") from None
    return value


def identifier(value: Any, field: str, *, required: bool = True) -> str | None:
    """An instance id or event id: the identifier rule of every interface (goflow.ids, SPEC §12);
    a refusal is an InvalidIdentifier (400) before anything reaches the engine."""
    if value is None:
        if required:
            raise BadRequest(f"'{field}' is required")
        return None
    return ids.check_id(value, field.replace("_", " "))


def blueprint(value: Any, field: str = "blueprint") -> str:
    if value is None:
        raise BadRequest(f"'{field}' is required: a blueprint name 'project/activity'")
    ids.check_blueprint(value, field)
    return value


def page(query) -> tuple[int, str, str | None]:
    """``(limit, order, cursor)`` of a paged GET (goflow.paging): ``limit`` 1 to 1,000 (default
    50), ``order`` latest (default) or oldest, ``cursor`` the ``next`` of the previous page (checked
    by the engine's client, a 400 when it is not one). There is no ``offset``."""
    if "offset" in query:
        raise BadRequest("'offset' is not supported: pass the 'next' cursor of the previous page as 'cursor'")
    limit = integer(query.get("limit", str(DEFAULT_LIMIT)), "limit", 1, MAX_LIMIT)
    return limit, check_order(query.get("order", "latest")), query.get("cursor")


def integer(value: Any, field: str, minimum: int, maximum: int | None = None) -> int:
    """A JSON number with no fraction (``3`` or ``3.0``, as JSON Schema has it), or a query
    parameter's text of ASCII digits; within the bounds."""
    if isinstance(value, str):
        if not _INTEGER.fullmatch(value):
            raise BadRequest(f"'{field}' must be an integer")
        value = int(value)
    elif isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise BadRequest(f"'{field}' must be an integer")
    if value < minimum or (maximum is not None and value > maximum):
        raise BadRequest(f"'{field}' must be between {minimum} and {maximum}" if maximum is not None
                         else f"'{field}' must be at least {minimum}")
    return value


def _no_constants(text: str):
    raise ValueError(f"{text} is not JSON")


async def read_body(request: web.Request, *, required: bool = True) -> dict:
    """The request's JSON object, bounded; ``{}`` for an empty body when not ``required``."""
    limits: Limits = request.app[LIMITS]
    if request.content_length is not None and request.content_length > limits.body_bytes:
        raise _too_large(f"the request body is {request.content_length} bytes", limits)
    chunks, size = [], 0
    while True:                       # read() returns what has arrived: read up to the bound + 1
        chunk = await request.content.read(limits.body_bytes + 1 - size)
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
        if size > limits.body_bytes:
            raise _too_large("the request body is too large", limits)
    raw = b"".join(chunks)
    if not raw.strip():
        if required:
            raise BadRequest("the request needs a JSON object body")
        return {}
    try:
        value = json.loads(raw.decode("utf-8"), parse_constant=_no_constants)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc) or type(exc).__name__
        raise BadRequest(f"the request body is not valid JSON: {why}") from None
    if not isinstance(value, dict):
        raise BadRequest(f"the request body must be a JSON object, not {type(value).__name__}")
    return value


def _too_large(what: str, limits: Limits) -> BadRequest:
    return BadRequest(f"{what}, over the limit of {limits.body_bytes} bytes (limits.event_bytes "
                      f"{limits.event_bytes} + {ENVELOPE_BYTES} for the envelope)", 413, "PayloadTooLarge")


def bounded(value: Any, field: str, limits: Limits) -> Any:
    """``value`` (any JSON) when its JSON is within ``limits.event_bytes`` (else 413) and each of its
    numbers within the 64-bit integer range (else 400: the engine stores integers in 64 bits; the
    bound applies to every number so that the OpenAPI document can say it exactly)."""
    size = len(dumps(value).encode())
    if size > limits.event_bytes:
        raise BadRequest(f"'{field}' is {size} bytes of JSON, over the limit of {limits.event_bytes} "
                         f"(limits.event_bytes)", 413, "PayloadTooLarge")
    stack = [value]
    while stack:
        v = stack.pop()
        if isinstance(v, dict):
            stack.extend(v.values())
        elif isinstance(v, list):
            stack.extend(v)
        elif isinstance(v, (int, float)) and not isinstance(v, bool) and not MIN_NUMBER <= v <= MAX_NUMBER:
            raise BadRequest(f"'{field}' holds a number outside the 64-bit integer range "
                             f"({MIN_NUMBER} to {MAX_NUMBER})")
    return value


def known(body: dict, allowed: tuple[str, ...]) -> None:
    extra = sorted(k for k in body if k not in allowed)
    if extra:
        raise BadRequest(f"unknown field(s) {', '.join(map(repr, extra))}; expected {', '.join(allowed)}")
