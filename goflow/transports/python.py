"""``python://module:function`` — call a Python callable in-process (SPEC §4; tests, embedded use).

The callable gets the step's request document (a dict, the same as the HTTP body) and returns the
output. A ``dict`` with an ``"event"`` key names the outcome event, as an HTTP worker's JSON body
does; any other return value (``None`` included) is the output of ``success``.

* ``async def`` callables (and callables returning an awaitable) run on the event loop; plain ones
  run in a thread (``asyncio.to_thread``) so they cannot block other steps. Both are bounded by the
  response timeout; a sync callable that overruns is abandoned, not killed (Python cannot), and its
  thread finishes on its own.
* An exception is a *retryable* failure, outcome ``exception`` (as a 5xx: the callable may depend on
  something that comes back). Raise :class:`PermanentFailure` to refuse the step instead (as a 4xx:
  that endpoint's attempts end at once); its ``status`` (default 422) is what the records show.
* ``function`` may be dotted (``module:Class.method``). Resolved callables are cached.

Security: a blueprint is untrusted data (SPEC §7) and ``python://`` names code to run. Pass
``allowed=("myapp.workers", ...)`` to accept only those modules (and their submodules); the daemon
should configure this. The default accepts any module.
"""
from __future__ import annotations

import asyncio
import importlib
import inspect
import threading
from typing import Any, Callable, Iterable

from ..model import Worker
from .base import CallTimedOut, Response, WorkerFailed, attempt_timeout, log, safe_endpoint

__all__ = ["PythonTransport", "PermanentFailure", "resolve"]


class PermanentFailure(Exception):
    """Raised by a ``python://`` worker to refuse a step: no retry on that endpoint (like a 4xx)."""

    def __init__(self, message: str = "refused", status: int = 422, output: Any = None):
        self.status, self.output = status, output
        super().__init__(message)


def resolve(url: str) -> Callable[..., Any]:
    """The callable a ``python://module:function`` URL names; ValueError if it cannot be found."""
    _, sep, target = url.partition("://")
    module_name, colon, attr = target.partition(":")
    if not sep or not colon or not module_name or not attr:
        raise ValueError(f"expected python://module:function, got {url!r}")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import module {module_name!r}: {exc}") from exc
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ValueError(f"module {module_name!r} has no attribute {attr!r}") from None
    if not callable(obj):
        raise ValueError(f"{module_name}:{attr} is not callable")
    return obj


class PythonTransport:
    """Calls ``python://module:function`` callables; see the module docstring."""

    def __init__(self, allowed: Iterable[str] | None = None):
        self.allowed = None if allowed is None else tuple(allowed)
        self._cache: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def _allows(self, module: str) -> bool:
        return self.allowed is None or any(module == m or module.startswith(m + ".") for m in self.allowed)

    def _callable(self, url: str) -> Callable[..., Any]:
        with self._lock:
            fn = self._cache.get(url)
        if fn is None:
            module = url.partition("://")[2].partition(":")[0]
            if not self._allows(module):
                raise ValueError(f"module {module!r} is not among the allowed python:// modules")
            fn = resolve(url)
            with self._lock:
                self._cache[url] = fn
        return fn

    async def call(self, request: dict, worker: Worker, timeout: float) -> Response:
        endpoint = safe_endpoint(worker.endpoint)
        try:
            fn = self._callable(worker.endpoint)
        except ValueError as exc:
            raise WorkerFailed(endpoint, str(exc), retryable=False, outcome="bad-endpoint") from None
        arg = dict(request)   # the callable may keep or change it; the caller's copy stays as it was
        try:
            async with attempt_timeout(timeout):
                if inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None)):
                    result = await fn(arg)
                else:
                    result = await asyncio.to_thread(fn, arg)
                    if inspect.isawaitable(result):
                        result = await result
        except asyncio.TimeoutError:
            raise CallTimedOut(endpoint, timeout) from None
        except PermanentFailure as exc:
            return Response(exc.status, exc.output if exc.output is not None else {"error": str(exc)})
        except Exception as exc:  # noqa: BLE001 - the worker's failure is an outcome, not our crash
            log.debug("%s raised %r", endpoint, exc)
            raise WorkerFailed(endpoint, f"{type(exc).__name__}: {exc}", retryable=True) from exc
        return Response(200, result)

    def __repr__(self) -> str:
        return f"PythonTransport(allowed={self.allowed!r})"
