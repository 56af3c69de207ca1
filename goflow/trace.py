"""W3C trace context for worker calls (SPEC §10 "Trace context"; https://www.w3.org/TR/trace-context/).

Each worker call attempt carries ``traceparent: 00-<trace id>-<span id>-01``:

* the **trace id** (32 hex digits) is derived from the instance id (the first 128 bits of
  SHA-256 of ``goflow-trace:<instance id>``): the same for every call of an instance, across
  restarts, on every host, without storing it — and an operator can compute it from the id
  (:func:`trace_id`);
* the **span id** (16 hex digits) is new for each attempt (random), so a retry and a fallback are
  spans of their own. It comes from :mod:`random` (reseeded from the OS in every forked process),
  not :mod:`secrets`: a span id is an identifier, not a secret, and ``os.urandom`` per call cost a
  system call per attempt (in the embedded engine, also a GIL hand-off; docs/benchmarks.md).

:func:`goflow.calls.perform_step` makes one per attempt (:func:`new_traceparent`), sets it in
:data:`CURRENT` while the transport runs (the HTTP transport sends it as a header; a transport
without headers ignores it) and keeps it in the attempt's history record (``detail["traceparent"]``).
"""
from __future__ import annotations

import contextvars
import functools
import hashlib
import random

__all__ = ["CURRENT", "trace_id", "new_span_id", "new_traceparent", "parse"]

VERSION, SAMPLED = "00", "01"
CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("goflow_traceparent", default=None)
_getrandbits = random.getrandbits      # the module's generator: CPython reseeds it after fork


@functools.lru_cache(maxsize=4096)      # once per instance in flight, not per attempt (a SHA-256 each)
def trace_id(instance_id: str) -> str:
    """The trace id of an instance: 32 lower-case hex digits, never all zero."""
    digest = hashlib.sha256(f"goflow-trace:{instance_id}".encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return digest if digest.strip("0") else "0" * 31 + "1"


def new_span_id() -> str:
    """A random span id: 16 lower-case hex digits, never all zero."""
    while True:
        bits = _getrandbits(64)
        if bits:
            return f"{bits:016x}"


def new_traceparent(instance_id: str) -> str:
    """``00-<trace id of the instance>-<new span id>-01``."""
    return f"{VERSION}-{trace_id(instance_id)}-{new_span_id()}-{SAMPLED}"


def parse(value: str) -> tuple[str, str] | None:
    """``(trace id, span id)`` of a version-00 ``traceparent`` value, or None when it is not one."""
    parts = value.strip().split("-")
    if len(parts) != 4 or parts[0] != VERSION or len(parts[1]) != 32 or len(parts[2]) != 16 or len(parts[3]) != 2:
        return None
    hexdigits = set("0123456789abcdef")
    if not all(set(p) <= hexdigits for p in parts) or not parts[1].strip("0") or not parts[2].strip("0"):
        return None
    return parts[1], parts[2]
