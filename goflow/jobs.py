"""Worker jobs: the call a shard asks for once its transition is committed, and its result coming back.

One shape each way (docs/runtime.md walks them)::

    Shard ──Job──▶ step runner (perform_step)           one worker call to make: who, what, to whom
    step runner ──StepResult──▶ proxy                   the event, the output, every attempt made
    proxy ──Item(instance, StepDone(step, mode, result))──▶ Shard ──Outcome/HookOutcome──▶ fsm.react

Plain frozen dataclasses, picklable (the runtime sends them between processes); nothing here does I/O.
Each pickles as its fields (``__reduce__``), several times cheaper than a slots dataclass's default.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from .fsm import HookOutcome, Outcome
from .history import Record
from .model import Worker

__all__ = ["HOOK", "Job", "StepResult", "StepDone"]

HOOK = "hook"   # the mode of a completion hook's call (sync and async are the FSM's step kinds)


@dataclass(frozen=True, slots=True)
class Job:
    """One worker call to make once its transition is committed: step ``step`` of ``instance``.

    ``mode`` is ``"sync"``, ``"async"`` or ``"hook"``; ``request`` is the SPEC §4 request body
    (``attempt`` is set per attempt by the step runner); ``workers`` are the action's workers in
    priority order (empty: the blueprint has none, the step fails with a ``no-worker`` record)."""

    instance: str
    step: int
    mode: str
    action: str
    request: dict
    workers: Sequence[Worker] = ()

    @property
    def key(self) -> tuple[str, int, str]:
        """What identifies the call: a re-dispatched job has the key of the one already in flight."""
        return (self.instance, self.step, self.mode)

    def done(self, result: "StepResult") -> "StepDone":
        """The request that carries ``result`` back to this job's instance."""
        return StepDone(self.step, self.mode, result)

    def __reduce__(self):
        return (Job, (self.instance, self.step, self.mode, self.action, self.request, self.workers))


@dataclass(frozen=True, slots=True)
class StepResult:
    """The outcome of one step: the event to deliver, the output, and every attempt made.
    ``accepted``: the worker's answer means "accepted, the outcome comes later" (a 202, a body
    ``{"accepted": true}``, or a 2xx naming no event; SPEC §8): what an async step waits on."""

    event: str
    output: Any
    attempts: tuple[Record, ...]
    accepted: bool = False

    def __reduce__(self):
        return (StepResult, (self.event, self.output, self.attempts, self.accepted))


@dataclass(frozen=True, slots=True)
class StepDone:
    """A worker step's result on its way back to its instance (the request is addressed by an
    :class:`~goflow.requests.Item`). The shard records ``result.attempts`` in the history and
    applies :meth:`input` through :func:`goflow.fsm.react`."""

    step: int
    mode: str
    result: StepResult

    def input(self) -> Outcome | HookOutcome:
        """The FSM input this result is: a completion hook's outcome, or a step's."""
        r = self.result
        if self.mode == HOOK:
            return HookOutcome(self.step, r.event)
        return Outcome(self.step, r.event, r.output, r.accepted)

    def __reduce__(self):
        return (StepDone, (self.step, self.mode, self.result))
