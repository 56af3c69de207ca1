"""Length-prefixed frames over a byte stream: a 4-byte big-endian length, then the body (a pickle).

The one framing of GoFlow's private streams: the embedded engine and its call process
(:mod:`goflow.steps.frames`) and a daemon client and its hosts (``actors.direct``). Pure: no I/O.
"""
from __future__ import annotations

import pickle
import struct
from typing import Any, Callable

__all__ = ["HEADER", "pack", "Unframer"]

HEADER = struct.Struct("!I")


def pack(msg: Any) -> bytes:
    """One frame carrying the pickle of ``msg``."""
    body = pickle.dumps(msg, pickle.HIGHEST_PROTOCOL)
    return HEADER.pack(len(body)) + body


class Unframer:
    """Bytes in (:meth:`feed`), whole messages out, in order, each frame's body given to ``decode``
    (a memoryview of it, valid during the call); a partial frame waits for its rest. A frame that
    announces more than ``max_size`` bytes raises :class:`ValueError`."""
    __slots__ = ("_buf", "_decode", "_max")

    def __init__(self, decode: Callable[[memoryview], Any] = pickle.loads,
                 max_size: int = (1 << 32) - 1) -> None:
        self._buf = bytearray()
        self._decode, self._max = decode, max_size

    def feed(self, data: bytes) -> list:
        buf = self._buf
        buf += data
        out, at = [], 0
        while len(buf) - at >= HEADER.size:
            (size,) = HEADER.unpack_from(buf, at)
            if size > self._max:
                raise ValueError(f"a frame of {size} bytes (at most {self._max})")
            start = at + HEADER.size
            if len(buf) - start < size:
                break
            out.append(self._decode(memoryview(buf)[start:start + size]))
            at = start + size
        if at:
            del buf[:at]
        return out

    @property
    def buffered(self) -> int:
        """Bytes of a frame not complete yet."""
        return len(self._buf)
