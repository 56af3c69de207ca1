"""The request/reply exchange of an :class:`actors.api.Engine` with the actor system: one message out,
its reply (or its batch's item results) back, within a deadline; a daemon client also notices an
actor that died before it answered. The caller holds the engine's lock.
"""
from __future__ import annotations

import socket
import time

from thespian.actors import PoisonMessage

from goflow.errors import RequestFailed, RequestTimeout

from .messages import Replies

PROBE_AFTER = 1.0   # seconds without an answer before a daemon client checks that the actor still lives


def exchange(asys, target, msg, rid: int, *, want: int | None, timeout: float, owned: bool):
    """Tell ``target`` ``msg`` and listen for its reply (request id ``rid``): the reply, or with ``want``
    the ``want`` item results of its :class:`Replies`, in order. Raises :class:`RequestTimeout` past
    ``timeout`` seconds, or, for a client that does not own the system (``owned`` False: a daemon
    client), as soon as the target's port refuses connections (its actor is gone); raises
    :class:`RequestFailed` when the target could not handle ``msg`` (Thespian's PoisonMessage)."""
    deadline = time.monotonic() + timeout
    probe_at = time.monotonic() + PROBE_AFTER
    asys.tell(target, msg)
    got: dict[int, tuple] = {}
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise RequestTimeout(f"no reply from the engine within {timeout:g}s "
                               f"({type(msg).__name__}, {len(got)}/{want or 1} answered)")
        if not owned and time.monotonic() >= probe_at:
            # Thespian says nothing about a message to a dead actor: a daemon client whose
            # answer is late checks that the actor's port is still open
            probe_at = time.monotonic() + PROBE_AFTER
            if _gone(target):
                exc = RequestTimeout(f"the engine's actor is gone before it answered ({type(msg).__name__}, "
                                     f"{len(got)}/{want or 1} answered); the request may have been applied")
                exc.gone = True       # not a deadline: Engine.wait raises it as it is
                raise exc
        # blocks until a message for this client arrives (embedded: the engine thread hands it
        # over, actors.embedded), at most a second so that the deadline and the probe are checked
        reply = asys.listen(min(left, 1.0))
        if isinstance(reply, PoisonMessage):
            if getattr(reply.poisonMessage, "rid", None) == rid:
                raise RequestFailed(type(msg).__name__, reply.details)
            continue                  # a late one, about an abandoned request
        if reply is None or getattr(reply, "rid", None) != rid:
            continue                  # nothing yet, or a late reply to an abandoned request
        if want is None:
            return reply
        if isinstance(reply, Replies):
            for r in reply.replies:
                got[r.token] = (r.ok, r.value)
            if len(got) >= want:
                return [got[i] for i in range(want)]


def _gone(addr) -> bool:
    """Whether the actor at ``addr`` (a multiprocTCPBase address) is gone: its port refuses
    connections (the kernel closed it with the process). Anything else -- unknown address kind,
    another error -- is not taken as gone."""
    sockname = getattr(getattr(addr, "addressDetails", None), "sockname", None)
    if not (isinstance(sockname, tuple) and len(sockname) >= 2):
        return False
    try:
        socket.create_connection(sockname[:2], timeout=0.5).close()
    except ConnectionRefusedError:
        return True
    except OSError:
        return False
    return False
