"""The request/reply exchange of an :class:`actors.api.Engine` with the actor system: one message out,
its reply (or its batch's item results) back, within a deadline; a daemon client also notices an
actor that died before it answered. The caller holds the engine's lock.

:func:`exchange_batches` pipelines a request of many batches: up to ``window`` of them in flight at
once (``client.batches_in_flight``), so that every host of a daemon has work while the client waits
for the others' answers. The replies are matched by request id, as one batch's are. A batch that
names an instance an earlier batch still in flight names waits until that one is answered: the
items of one instance reach its host in the order the caller gave them, whatever the transport
does with two messages in flight.
"""
from __future__ import annotations

import socket
import time

from thespian.actors import PoisonMessage

from goflow.errors import RequestFailed, RequestTimeout

from .messages import Batch, Replies

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


def exchange_batches(asys, target, batches: list[Batch], *, window: int, timeout: float,
                     owned: bool) -> list[tuple]:
    """Send ``batches`` to ``target``, at most ``window`` unanswered at once; each item's
    ``(ok, value)``, batch after batch, in order. Each batch has ``timeout`` seconds from when it was
    sent. On a timeout or failure the batches not yet sent are not sent (those in flight may have been
    applied) and the error is raised, as :func:`exchange` raises it."""
    if len(batches) == 1 or window <= 1:
        out: list[tuple] = []
        for b in batches:
            out.extend(exchange(asys, target, b, b.rid, want=len(b.items), timeout=timeout, owned=owned))
        return out
    results: dict[int, dict[int, tuple]] = {}       # rid -> {item index: (ok, value)} of a batch in flight
    done: dict[int, list] = {}
    flight: dict[int, tuple] = {}                   # rid -> (batch, deadline, its instance ids)
    busy: dict[str, int] = {}                       # instance id -> batches in flight that name it
    nxt = 0
    probe_at = time.monotonic() + PROBE_AFTER
    while len(done) < len(batches):
        # send while there is room and the next batch names no instance of a batch in flight
        while nxt < len(batches) and len(flight) < window:
            b = batches[nxt]
            ids = {i.instance for i in b.items}
            if not busy.keys().isdisjoint(ids):
                break                 # it waits for the batch in flight that names one of its instances
            asys.tell(target, b)
            flight[b.rid] = (b, time.monotonic() + timeout, ids)
            results[b.rid] = {}
            for i in ids:
                busy[i] = busy.get(i, 0) + 1
            nxt += 1
        now = time.monotonic()
        first = min(d for _b, d, _ids in flight.values())
        if now >= first:
            late = next(b for b, d, _ids in flight.values() if d == first)
            raise RequestTimeout(f"no reply from the engine within {timeout:g}s (Batch {late.rid}, "
                                 f"{len(results[late.rid])}/{len(late.items)} answered; "
                                 f"{len(done)}/{len(batches)} batches answered)")
        if not owned and now >= probe_at:
            probe_at = now + PROBE_AFTER
            if _gone(target):
                raise RequestTimeout(f"the engine's actor is gone before it answered ({len(done)}/"
                                     f"{len(batches)} batches answered); the request may have been applied")
        reply = asys.listen(min(first - now, 1.0))
        if isinstance(reply, PoisonMessage):
            rid = getattr(reply.poisonMessage, "rid", None)
            if rid in flight:
                raise RequestFailed("Batch", reply.details)
            continue
        if not isinstance(reply, Replies) or reply.rid not in flight:
            continue                  # nothing yet, or a late reply to an abandoned request
        got = results[reply.rid]
        for r in reply.replies:
            got[r.token] = (r.ok, r.value)
        b, _deadline, ids = flight[reply.rid]
        if len(got) >= len(b.items):
            del flight[b.rid], results[b.rid]
            done[b.rid] = [got[i] for i in range(len(b.items))]
            for i in ids:
                if busy[i] == 1:
                    del busy[i]
                else:
                    busy[i] -= 1
    out = []
    for b in batches:
        out.extend(done[b.rid])
    return out


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
