"""The blueprint model: frozen dataclasses, built by :mod:`goflow.loading` after validation.

A blueprint is identified by ``(project, activity, version)``. Its FSM is the set of transitions
``(current, event) -> (action, next, delay)``; its workers name the endpoints that perform each
action, tried in ``priority`` order. Reserved names: the states ``init`` and ``done`` and the action
``continue``; the events ``start``, ``success``, ``error`` and ``timeout`` (and ``cancel``, which
``terminate`` delivers first where the state handles it, SPEC §8).

SPEC §8 adds: *postponed* events (a transition with ``postpone`` marks its event as kept, not taken,
in its state; the blueprint's ``postpone`` list names events kept wherever they cannot be taken now)
and *end states* (``end``: a state name -> the status an instance ending there gets; ``done`` is
the implicit end state of status ``completed``).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from .redact import MASK, redact_url

__all__ = [
    "INIT", "DONE", "CONTINUE", "START", "SUCCESS", "ERROR", "TIMEOUT", "CANCEL", "END_STATUSES",
    "RESERVED_STATES", "RESERVED_EVENTS", "SYNC", "ASYNC", "WORKFLOW", "BACKOFFS", "METHODS",
    "Action", "Transition", "Worker", "Blueprint",
]

INIT = "init"
DONE = "done"
CONTINUE = "continue"
START = "start"
SUCCESS = "success"
ERROR = "error"
TIMEOUT = "timeout"
CANCEL = "cancel"
END_STATUSES = ("completed", "failed")      # what an end state may give an instance
RESERVED_STATES = frozenset({INIT, DONE})
RESERVED_EVENTS = frozenset({START, SUCCESS, ERROR, TIMEOUT})
SYNC = "sync"
ASYNC = "async"
WORKFLOW = "workflow"       # an action that starts child instances (SPEC §8, docs/blueprints.md)

# Default of the optional worker field ``method`` (docs/blueprints.md). The backoff fields have no
# default here: unset (None), they take the engine's ``retry.*`` settings (goflow.config.RetrySection).
DEFAULT_METHOD = "POST"
BACKOFFS = ("fixed", "exponential")                  # the values of Worker.backoff
METHODS = ("POST", "PUT", "PATCH", "GET", "DELETE")  # the values of Worker.method


@dataclass(frozen=True, slots=True)
class Action:
    name: str
    type: str = SYNC            # "sync" | "async" | "workflow"
    timeout: float | None = None  # async only: seconds to wait for the outcome event
    # workflow only (SPEC §8): the child blueprint "project/activity", its version (None: the latest
    # deployed when the child starts), the context key whose value is the child's input (None: the
    # whole context) and the context key holding the list to fan out over (one child per item)
    blueprint: str | None = None
    version: int | None = None
    input: str | None = None
    for_each: str | None = None

    @property
    def child(self) -> tuple[str, str]:
        """The child blueprint's (project, activity) of a workflow action."""
        project, _, activity = (self.blueprint or "").partition("/")
        return project, activity


@dataclass(frozen=True, slots=True)
class Transition:
    current: str
    event: str
    action: str = ""            # empty on a postponing transition
    next: str = ""              # empty on a postponing transition
    delay: float = 0.0          # seconds, on a durable timer, before the action runs
    postpone: bool = False      # the event is kept in ``current``, not taken (no action, no next)


@dataclass(frozen=True, slots=True)
class Worker:
    name: str                   # the action (or terminal state, for a completion hook) it serves
    endpoint: str               # URL; its scheme picks the transport
    retry_count: int = 0        # retries after the first attempt, per endpoint
    response_timeout: float = 30.0
    priority: int = 1           # 1 is tried first
    retry_delay: float | None = None      # None: the engine's retry.retry_delay
    backoff: str | None = None            # "fixed" | "exponential"; None: retry.backoff
    max_retry_delay: float | None = None  # None: retry.max_retry_delay
    jitter: float | None = None           # fraction of the delay, 0..1; None: retry.jitter
    method: str = DEFAULT_METHOD
    headers: tuple[tuple[str, str], ...] = ()
    tls: tuple[tuple[str, str], ...] = ()  # grpcs://: ca, cert, key (PEM file paths), server_name

    def __repr__(self) -> str:   # reprs reach logs: secrets masked (goflow.redact)
        headers = tuple((name, MASK) for name, _value in self.headers)
        return (f"Worker(name={self.name!r}, endpoint={redact_url(self.endpoint)!r}, "
                f"priority={self.priority!r}, headers={headers!r})")


@dataclass(frozen=True, slots=True)
class Blueprint:
    project: str
    activity: str
    version: int = 1
    states: tuple[str, ...] = ()
    actions: tuple[Action, ...] = ()
    transitions: tuple[Transition, ...] = ()
    workers: tuple[Worker, ...] = ()
    postpone: tuple[str, ...] = ()             # events kept wherever they cannot be taken now
    end: tuple[tuple[str, str], ...] = ()      # (end state, status), in document order
    source: tuple[str, ...] = field(default=(), compare=False)
    # Derived lookups, built once.
    _table: Mapping = field(init=False, repr=False, compare=False, default=None)
    _actions: Mapping = field(init=False, repr=False, compare=False, default=None)
    _workers: Mapping = field(init=False, repr=False, compare=False, default=None)
    _accepts: Mapping = field(init=False, repr=False, compare=False, default=None)
    _kept: frozenset = field(init=False, repr=False, compare=False, default=None)
    _ends: Mapping = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        table = {(t.current, t.event): t for t in self.transitions if not t.postpone}
        accepts: dict[str, tuple[str, ...]] = {}
        for t in self.transitions:
            if not t.postpone:
                accepts[t.current] = accepts.get(t.current, ()) + (t.event,)
        object.__setattr__(self, "_kept", frozenset((t.current, t.event) for t in self.transitions if t.postpone))
        object.__setattr__(self, "_ends", {DONE: "completed", **dict(self.end)})
        workers: dict[str, list[Worker]] = {}
        for w in self.workers:
            workers.setdefault(w.name, []).append(w)
        object.__setattr__(self, "_table", table)
        object.__setattr__(self, "_actions", {a.name: a for a in self.actions})
        object.__setattr__(self, "_workers",
                           {k: tuple(sorted(v, key=lambda w: w.priority)) for k, v in workers.items()})
        object.__setattr__(self, "_accepts", {k: tuple(sorted(v)) for k, v in accepts.items()})

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.project, self.activity, self.version)

    @property
    def name(self) -> str:
        return f"{self.project}/{self.activity}"

    def transition(self, state: str, event: str) -> Transition | None:
        return self._table.get((state, event))

    def accepts(self, state: str) -> tuple[str, ...]:
        """The events ``state`` has transitions for, sorted."""
        return self._accepts.get(state, ())

    def postpones(self, state: str, event: str, busy: bool = False) -> bool:
        """Whether ``event`` is kept (postponed) in ``state`` rather than taken or refused: a
        postponing transition says so, or the event is in the blueprint's ``postpone`` list and
        ``state`` cannot take it now (it has no transition for it, or ``busy``: a step runs)."""
        if (state, event) in self._kept:
            return True
        return event in self.postpone and (busy or (state, event) not in self._table)

    def end_status(self, state: str) -> str | None:
        """The status an instance ending in ``state`` gets (``done``: completed), or None."""
        return self._ends.get(state)

    @property
    def end_states(self) -> tuple[str, ...]:
        """The declared end states (``done`` aside), in document order."""
        return tuple(name for name, _ in self.end)

    def action(self, name: str) -> Action | None:
        return self._actions.get(name)

    def workers_for(self, name: str) -> tuple[Worker, ...]:
        """The workers serving ``name`` (an action, or ``done`` for the completion hook), by priority."""
        return self._workers.get(name, ())

    @property
    def all_states(self) -> tuple[str, ...]:
        return (INIT,) + tuple(self.states) + self.end_states + (DONE,)
