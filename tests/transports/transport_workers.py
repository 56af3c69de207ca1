"""python:// worker functions for the transport tests."""
import asyncio
import threading

from goflow.transports import PermanentFailure

calls: dict[str, int] = {}
_lock = threading.Lock()


def _count(name: str) -> int:
    with _lock:
        calls[name] = calls.get(name, 0) + 1
        return calls[name]


def echo(request):
    _count("echo")
    return {"got": request["input"], "attempt": request["attempt"], "thread": threading.current_thread().name}


async def aecho(request):
    _count("aecho")
    await asyncio.sleep(0)
    return {"event": "approved", "got": request["input"]}


def plain(request):
    return "just text"


def boom(request):
    _count("boom")
    raise RuntimeError("kaput")


def flaky(request):
    """Fails the first two attempts of each step, then succeeds."""
    if request["attempt"] < 3:
        raise ConnectionError("not yet")
    return {"ok": request["attempt"]}


def refuse(request):
    _count("refuse")
    raise PermanentFailure("no such customer", status=404, output={"reason": "unknown"})


#: ``slow`` blocks until a test sets this (or HOLD seconds pass): only a timeout can end its attempt early
release = threading.Event()
HOLD = 30.0


def slow(request):
    release.wait(HOLD)
    return {"late": True}


async def aslow(request):
    await asyncio.sleep(HOLD)
    return {"late": True}


class Service:
    @staticmethod
    def method(request):
        return {"from": "method"}


not_callable = 42


def exits(request):
    _count("exits")
    raise SystemExit(3)


async def ainterrupt(request):
    _count("ainterrupt")
    raise KeyboardInterrupt


echo_alias = echo                      # an alias: its __qualname__ is "echo" (refused: not defined as that name)
from os.path import join as joined     # noqa: E402 - a re-export: defined in posixpath (refused)
