"""Frames between the embedded engine and its call process: typed messages, length-prefixed pickles.

One frame is a 4-byte big-endian length and a pickle of one message, a ``(kind, payload)`` tuple::

    INIT     parent -> child   (settings, concurrency)     once, first: how to call workers
    JOBS     parent -> child   [Job, ...]                  steps to perform, in submission order
    READY    child -> parent   pid                         once, after INIT: the child calls now
    RESULTS  child -> parent   [(Job.key, StepResult), ...] steps performed, as they finish

Both ends are the same program (the parent starts the child from its own ``sys.executable`` over a
socketpair only they hold), so pickle is the encoding: :class:`goflow.jobs.Job` and
:class:`goflow.jobs.StepResult` pickle as their fields. :class:`FrameReader` splits a byte stream
into messages. Pure: no I/O here.
"""
from __future__ import annotations

import pickle
from typing import Any

from ..errors import GoflowError
from ..framing import HEADER, Unframer

__all__ = ["INIT", "JOBS", "READY", "RESULTS", "KINDS", "HEADER", "FrameError", "encode", "FrameReader"]

INIT, JOBS, READY, RESULTS = "init", "jobs", "ready", "results"
KINDS = frozenset((INIT, JOBS, READY, RESULTS))
MAX_FRAME = (1 << 32) - 1


class FrameError(GoflowError):
    """A frame that is no message of this protocol (a bug or a foreign writer on the socket)."""

    def __init__(self, detail: str):
        super().__init__(f"call process frame: {detail}")
        self.detail = detail


def encode(kind: str, payload: Any) -> bytes:
    """One frame carrying ``(kind, payload)``."""
    if kind not in KINDS:
        raise FrameError(f"unknown kind {kind!r}")
    body = pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL)
    if len(body) > MAX_FRAME:
        raise FrameError(f"{kind} message of {len(body)} bytes is larger than a frame")
    return HEADER.pack(len(body)) + body


def decode(body: bytes | memoryview) -> tuple[str, Any]:
    """The ``(kind, payload)`` of one frame's body; :class:`FrameError` if it is none."""
    try:
        msg = pickle.loads(body)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure is a bad frame
        raise FrameError(f"cannot decode {len(body)} bytes: {type(exc).__name__}: {exc}") from None
    if not (isinstance(msg, tuple) and len(msg) == 2 and msg[0] in KINDS):
        raise FrameError(f"not a (kind, payload) message: {type(msg).__name__}")
    return msg


def FrameReader() -> Unframer:
    """Bytes in (``feed``), whole messages out, in order; a partial frame waits for its rest."""
    return Unframer(decode)
