"""Test your blueprints and workers without sleeping: a manual clock, a fake sleep, a mock
transport and a driver of the FSM core (the way trio ships ``MockClock`` and httpx ``MockTransport``).

* :class:`ManualClock` — time that moves only when told (``clock.advance(5)``); pass it wherever a
  ``clock`` is taken: :func:`goflow.calls.perform_step`, :class:`goflow.shard.Shard`, the call pools,
  ``Engine.embedded(..., clock=clock)`` (then ``engine.advance(5)`` fires the timers that came due).
* :class:`FakeSleep` — a ``sleep`` that records each delay and advances its clock instead of waiting;
  :func:`no_sleep` does not wait at all.
* :class:`MockTransport` — an in-memory transport that answers each worker call with a function of
  yours; register it for a scheme (``with MockTransport(handler).installed("mock"): ...``).
* :class:`FlowDriver` / :func:`run_script` — drive :func:`goflow.fsm.react` over events (and clock
  advances that fire the durable timers) and read the history an engine would record.

See docs/testing.md.
"""
from __future__ import annotations

import contextlib
import dataclasses
import inspect
import json
from typing import Any, Callable, Iterable, Iterator, Mapping

from .errors import GoflowError
from .fsm import (CallWorker, CancelTimer, HookOutcome, Instance, Outcome, Pause, Resume, Retry, Rewind, Signal,
                  StartTimer, Terminate, TimerFired, new_instance, react)
from .history import Record
from .model import Blueprint, Worker
from .transports.base import Registry, Response, default_registry

__all__ = ["ManualClock", "FakeSleep", "no_sleep", "MockTransport", "FlowDriver", "Turn", "run_script",
           "input_of", "command_dict"]


class ManualClock:
    """A clock that stands still until :meth:`advance` moves it. Calling it reads it, so the clock
    itself is the ``clock=`` argument (``clock()`` == ``clock.now()``)."""

    def __init__(self, start: float = 1_000_000.0):
        self._now = float(start)

    def now(self) -> float:
        return self._now

    __call__ = now

    def advance(self, dt: float) -> float:
        """Move the clock ``dt`` seconds forward (never back); returns the new time."""
        if dt < 0:
            raise ValueError(f"a clock does not go back: advance({dt!r})")
        self._now += float(dt)
        return self._now

    def __repr__(self) -> str:
        return f"ManualClock({self._now!r})"


async def no_sleep(delay: float) -> None:
    """A ``sleep`` that does not wait."""
    return None


class FakeSleep:
    """A ``sleep`` that records each requested delay and advances :attr:`clock` by it instead of
    waiting. ``clock`` (a :class:`ManualClock`, its own unless one is given) is the matching
    ``clock=`` argument, so attempt records carry the times the waits lead to."""

    def __init__(self, start: float = 1_000_000.0, *, clock: ManualClock | None = None):
        self.clock = clock if clock is not None else ManualClock(start)
        self.delays: list[float] = []

    @property
    def now(self) -> float:
        return self.clock.now()

    async def __call__(self, delay: float) -> None:
        self.delays.append(delay)
        self.clock.advance(max(0.0, delay))


# ------------------------------------------------------------------------------------- transport
class MockTransport:
    """A transport answered by ``handler(request, worker)`` (plain or async) in memory.

    The handler returns a :class:`~goflow.transports.base.Response`, a dict (a 200 with that JSON
    body) or an int (that status, empty body); it may raise the transport errors
    (:class:`~goflow.transports.base.ConnectFailed`, ``CallTimedOut``, ...) to play a failure.
    :attr:`requests` lists every request received (with its ``attempt``), in order.
    """

    def __init__(self, handler: Callable[[dict, Worker], Any]):
        self.handler = handler
        self.requests: list[dict] = []

    async def call(self, request: dict, worker: Worker, timeout: float) -> Response:
        self.requests.append(request)
        answer = self.handler(request, worker)
        if inspect.isawaitable(answer):
            answer = await answer
        if isinstance(answer, Response):
            return answer
        if isinstance(answer, dict):
            return Response(200, json.dumps(answer).encode(), {"content-type": "application/json"})
        if isinstance(answer, int) and not isinstance(answer, bool):
            return Response(answer, b"", {})
        raise TypeError(f"a MockTransport handler returns a Response, a dict or a status, not {answer!r}")

    @contextlib.contextmanager
    def installed(self, scheme: str = "mock", registry: Registry | None = None) -> Iterator["MockTransport"]:
        """Serve ``scheme`` with this transport (in ``registry``, default the process-wide one that an
        embedded engine calls through) for the ``with`` block."""
        registry = default_registry if registry is None else registry
        registry.register(scheme, self)
        try:
            yield self
        finally:
            registry.unregister(scheme)


# ------------------------------------------------------------------------------------ FSM driver
def input_of(entry: Any, inst: Instance):
    """An FSM input from a script entry: an input object as it is, or a JSON-like dict:

    ``{"send": name, "data": ..., "event_id": ...}``, ``{"outcome": event, "output": ..., "step": n,
    "accepted": bool}`` (default step: the pending one; ``accepted``: an async call's "accepted" answer), ``{"hook": event, "step": n}`` (default: the hook in flight),
    ``{"timer": step}``, ``{"pause": null}``, ``{"resume": null}``, ``{"terminate": reason, "force": bool}``,
    ``{"retry": by}``, ``{"rewind": state, "by": by}``.
    """
    if not isinstance(entry, Mapping):
        return entry
    if "send" in entry:
        return Signal(entry["send"], entry.get("data"), entry.get("event_id"))
    if "outcome" in entry:
        step = entry.get("step", inst.pending.step if inst.pending else inst.step)
        return Outcome(step, entry["outcome"], entry.get("output"), bool(entry.get("accepted", False)))
    if "hook" in entry:
        return HookOutcome(entry.get("step", inst.hook_step), entry["hook"])
    if "timer" in entry:
        return TimerFired(entry["timer"])
    if "pause" in entry:
        return Pause()
    if "resume" in entry:
        return Resume()
    if "terminate" in entry:
        return Terminate(entry["terminate"] or "terminated", bool(entry.get("force", False)))
    if "retry" in entry:
        return Retry(entry["retry"] or "code")
    if "rewind" in entry:
        return Rewind(entry["rewind"], entry.get("by", "code"))
    raise ValueError(f"not a script entry: {entry!r}")


def command_dict(cmd) -> dict:
    """A command as plain data: ``{"command": "CallWorker", "step": 1, ...}`` (without the instance id)."""
    fields = {k: v for k, v in dataclasses.asdict(cmd).items() if k != "instance"}
    return {"command": type(cmd).__name__, **fields}


@dataclasses.dataclass
class Turn:
    """What one script entry did: the input applied (or, for an advance, each timer it fired)."""

    entry: Any
    records: list = dataclasses.field(default_factory=list)
    commands: list = dataclasses.field(default_factory=list)
    error: GoflowError | None = None
    duplicate: bool = False


class FlowDriver:
    """One instance of ``blueprint`` driven through :func:`goflow.fsm.react`, with a manual clock.

    :meth:`apply` applies one input; :meth:`advance` moves the clock and fires, earliest first, the
    durable timers (delays, async timeouts) that came due, as a host does. :attr:`history` is what an
    engine would record for the instance (without worker attempt records); :attr:`calls` the
    :class:`~goflow.fsm.CallWorker` commands given, in order. A refused input leaves the instance as it
    was and is kept in its :class:`Turn`'s ``error``.
    """

    def __init__(self, blueprint: Blueprint, input: Mapping[str, Any] | None = None, *,
                 instance_id: str = "test", clock: ManualClock | None = None):
        self.blueprint = blueprint
        self.clock = clock if clock is not None else ManualClock()
        now = self.clock()
        self.instance = new_instance(blueprint, instance_id, input, now)
        self.history: list[Record] = [Record(now, None, None, None, "init", None, outcome="created")]
        self.calls: list[CallWorker] = []
        self.timers: dict[int, float] = {}
        self.turns: list[Turn] = []

    def apply(self, entry) -> Turn:
        turn = Turn(entry)
        self._react(input_of(entry, self.instance), turn)
        self.turns.append(turn)
        return turn

    def advance(self, dt: float) -> Turn:
        turn = Turn({"advance": dt})
        now = self.clock.advance(dt)
        for step, due in sorted(self.timers.items(), key=lambda kv: (kv[1], kv[0])):
            if due <= now and self.timers.get(step) == due:
                del self.timers[step]
                self._react(TimerFired(step), turn)
        self.turns.append(turn)
        return turn

    def run(self, script: Iterable) -> list[Turn]:
        """Apply each entry of ``script`` (``{"advance": seconds}`` moves the clock); returns the turns."""
        out = []
        for entry in script:
            if isinstance(entry, Mapping) and "advance" in entry:
                out.append(self.advance(entry["advance"]))
            else:
                out.append(self.apply(entry))
        return out

    def _react(self, inp, turn: Turn) -> None:
        try:
            r = react(self.blueprint, self.instance, inp, self.clock())
        except GoflowError as exc:
            turn.error = exc
            return
        self.instance = r.instance
        self.history.extend(r.records)
        turn.records.extend(r.records)
        turn.commands.extend(r.commands)
        turn.duplicate = turn.duplicate or r.duplicate
        for cmd in r.commands:
            if isinstance(cmd, CallWorker):
                self.calls.append(cmd)
            elif isinstance(cmd, StartTimer):
                self.timers[cmd.step] = cmd.due
            elif isinstance(cmd, CancelTimer):
                self.timers.pop(cmd.step, None)


def run_script(blueprint: Blueprint, script: Iterable, input: Mapping[str, Any] | None = None, *,
               clock: ManualClock | None = None, instance_id: str = "test") -> FlowDriver:
    """Drive a new instance of ``blueprint`` over ``script`` (see :func:`input_of`); returns the driver
    (``driver.instance``, ``driver.history``, ``driver.turns``)."""
    driver = FlowDriver(blueprint, input, instance_id=instance_id, clock=clock)
    driver.run(script)
    return driver
