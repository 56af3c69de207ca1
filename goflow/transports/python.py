"""``python://module:function`` — call a Python function in-process (SPEC §4, §12; tests, embedded use).

The function gets the step's request document (a dict, the same as the HTTP body) and returns the
output. A ``dict`` with an ``"event"`` key names the outcome event, as an HTTP worker's JSON body
does; any other return value (``None`` included) is the output of ``success``.

* ``async def`` functions (and functions returning an awaitable) run on the event loop; plain ones
  run in a thread (``asyncio.to_thread``) so they cannot block other steps. Both are bounded by the
  response timeout; a sync function that overruns is abandoned, not killed (Python cannot), and its
  thread finishes on its own.
* An exception is a *retryable* failure, outcome ``exception`` (as a 5xx: the function may depend on
  something that comes back). Raise :class:`PermanentFailure` to refuse the step instead (as a 4xx:
  that endpoint's attempts end at once); its ``status`` (default 422) is what the records show.
  ``SystemExit``, ``KeyboardInterrupt`` and any other ``BaseException`` end the endpoint at once
  (outcome ``exception``, not retried): they never reach the worker proxy, so ``python://sys:exit``
  cannot stop it.

What may be called (SPEC §12; a blueprint is untrusted data and ``python://`` names code to run):
``module`` must be one of the allowed modules (or a submodule of one: ``workers.python_modules``,
default :data:`DEFAULT_MODULES`, ``goflow.examples`` only) and ``function`` a public function
*defined at the top level of that module*: one name, no dots (``os:path.join`` style paths are
refused), its ``__module__`` the module itself (``from os import system`` in an allowed module does not
make ``system`` callable) and its ``__qualname__`` the name. :func:`refusal` checks a URL without
importing anything (deploy time, in any process); :func:`resolve` imports the (allowed) module and
checks the function (deploy time in the engine, and before the first call). Resolved functions are
cached per transport.
"""
from __future__ import annotations

import asyncio
import importlib
import inspect
import threading
from typing import Any, Callable, Iterable

from ..model import Worker
from .base import CallTimedOut, Response, WorkerFailed, attempt_timeout, log, safe_endpoint

__all__ = ["PythonTransport", "PermanentFailure", "resolve", "refusal", "split", "allows", "DEFAULT_MODULES"]

#: The modules ``python://`` may call unless configured otherwise (``workers.python_modules``).
DEFAULT_MODULES = ("goflow.examples",)


class PermanentFailure(Exception):
    """Raised by a ``python://`` worker to refuse a step: no retry on that endpoint (like a 4xx)."""

    def __init__(self, message: str = "refused", status: int = 422, output: Any = None):
        self.status, self.output = status, output
        super().__init__(message)


def split(url: str) -> tuple[str, str]:
    """``(module, function)`` of ``python://module:function``; ValueError when it is not that shape."""
    scheme, sep, target = url.partition("://")
    module, colon, name = target.partition(":")
    if not sep or scheme.lower() != "python" or not colon:
        raise ValueError(f"expected python://module:function, got {url!r}")
    if not module or not all(part.isidentifier() for part in module.split(".")):
        raise ValueError(f"{module!r} is not a module name (python://module:function)")
    if "." in name:
        raise ValueError(f"{name!r} is a dotted path: python:// names a function defined at the top "
                         f"level of its module (python://{module}:function)")
    if not name.isidentifier() or name.startswith("_"):
        raise ValueError(f"{name!r} is not the name of a public function (python://{module}:function)")
    return module, name


def allows(allowed: Iterable[str], module: str) -> bool:
    """Whether ``module`` is one of ``allowed`` or a submodule of one."""
    return any(module == m or module.startswith(m + ".") for m in allowed)


def refusal(url: str, allowed: Iterable[str] = DEFAULT_MODULES) -> str | None:
    """Why ``url`` may not be called (its shape or its module), or None; imports nothing."""
    try:
        module, _ = split(url)
    except ValueError as exc:
        return str(exc)
    allowed = tuple(allowed)
    if not allows(allowed, module):
        shown = ", ".join(allowed) if allowed else "none: workers.python_modules is empty"
        return (f"module {module!r} is not among the allowed python:// modules ({shown}); "
                f"an operator adds it to workers.python_modules")
    return None


def resolve(url: str, allowed: Iterable[str] = DEFAULT_MODULES) -> Callable[..., Any]:
    """The function ``python://module:function`` names, checked as the module docstring says; imports
    the module (only once :func:`refusal` passed). ValueError says why it cannot be called."""
    why = refusal(url, allowed)
    if why is not None:
        raise ValueError(why)
    module_name, name = split(url)
    try:
        module = importlib.import_module(module_name)
    except BaseException as exc:  # noqa: BLE001 - a module whose import fails or exits is a bad endpoint
        raise ValueError(f"cannot import module {module_name!r}: {type(exc).__name__}: {exc}") from None
    fn = getattr(module, name, None)
    if fn is None:
        raise ValueError(f"module {module_name!r} has no function {name!r}")
    if inspect.isclass(fn) or not inspect.isroutine(fn):
        raise ValueError(f"{module_name}:{name} is not a function")
    if getattr(fn, "__module__", None) != module_name or getattr(fn, "__qualname__", name) != name:
        where = f"{getattr(fn, '__module__', '?')}:{getattr(fn, '__qualname__', '?')}"
        raise ValueError(f"{module_name}:{name} is {where}, not a function defined at the top level of "
                         f"{module_name!r} (re-exported or aliased functions are refused)")
    return fn


class PythonTransport:
    """Calls ``python://module:function`` callables; see the module docstring."""

    def __init__(self, allowed: Iterable[str] = DEFAULT_MODULES):
        if isinstance(allowed, str):
            allowed = [allowed]
        self.allowed = tuple(allowed)
        self._cache: dict[str, Callable[..., Any]] = {}
        self._lock = threading.Lock()

    def _callable(self, url: str) -> Callable[..., Any]:
        with self._lock:
            fn = self._cache.get(url)
        if fn is None:
            fn = resolve(url, self.allowed)
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
        except asyncio.CancelledError:
            raise                 # the step is cancelled (its timeout, a closing pool): not the worker's doing
        except BaseException as exc:  # noqa: BLE001 - SystemExit, KeyboardInterrupt...: never the proxy's exit
            log.warning("%s raised %s: the step's endpoint ends here", endpoint, type(exc).__name__)
            raise WorkerFailed(endpoint, f"{type(exc).__name__}: {exc}", retryable=False) from None
        return Response(200, result)

    def __repr__(self) -> str:
        return f"PythonTransport(allowed={self.allowed!r})"
