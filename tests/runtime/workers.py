"""python:// workers for runtime tests. Each call appends ``<Idempotency-Key> <action>`` (the key is
``<instance>:<step>``) to the file named by GOFLOW_TEST_CALLS (when set) with one O_APPEND write, so
calls are counted across processes and crashes."""
import asyncio
import os
import threading

from goflow.transports import idempotency_key


def _count(request):
    path = os.environ.get("GOFLOW_TEST_CALLS")
    if path:
        line = f"{idempotency_key(request)} {request['action']}\n".encode()
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
        try:
            os.write(fd, line)
        finally:
            os.close(fd)


def ok(request):
    _count(request)
    return {"action": request["action"], "step": request["step"]}


async def slow(request):
    """Counts the call, then takes GOFLOW_TEST_SLOW seconds (default 0.05) on the event loop, so
    many calls are really in flight at once (a kill finds them mid-step)."""
    _count(request)
    await asyncio.sleep(float(os.environ.get("GOFLOW_TEST_SLOW", "0.05")))
    return {"action": request["action"], "step": request["step"]}


def fail(request):
    _count(request)
    raise RuntimeError("worker failure")


def unencodable(request):
    _count(request)
    return {"bad": {1, 2, 3}}      # a set: msgpack cannot encode it, so the host's handler crashes


def flaky(request):
    """Fails while the file named by GOFLOW_TEST_DOWN exists (the worker is "down"), else as ``ok``."""
    _count(request)
    down = os.environ.get("GOFLOW_TEST_DOWN")
    if down and os.path.exists(down):
        raise RuntimeError("worker down")
    return {"action": request["action"], "step": request["step"]}


# instance id -> threading.Event set by ``reached`` (embedded engines call it in this process)
REACHED: dict = {}
_reached_lock = threading.Lock()


def event_for(instance_id: str) -> threading.Event:
    with _reached_lock:
        return REACHED.setdefault(instance_id, threading.Event())


def reached(request):
    """Counts the call and sets the instance's :func:`event_for` event (a test waits on it without
    calling the engine)."""
    _count(request)
    event_for(request["instance"]).set()
    return {"action": request["action"], "step": request["step"]}


def picky(request):
    """Fails for a forEach child whose ``item`` is listed (one per line) in the file named by
    GOFLOW_TEST_BAD (when it exists), else as ``ok``."""
    _count(request)
    bad = os.environ.get("GOFLOW_TEST_BAD")
    if bad and os.path.exists(bad):
        with open(bad) as f:
            if str(request["context"].get("item")) in f.read().split():
                raise RuntimeError(f"item {request['context'].get('item')} refused")
    return {"action": request["action"], "item": request["context"].get("item")}
