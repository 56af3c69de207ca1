"""What a shard is asked, and what it answers: one :class:`Item` per request to one instance.

A request is one of:

* an FSM input (:mod:`goflow.fsm`): :class:`~goflow.fsm.Signal` (an outside event),
  :class:`~goflow.fsm.Pause`, :class:`~goflow.fsm.Resume`, :class:`~goflow.fsm.Terminate`,
  :class:`~goflow.fsm.TimerFired` (the shard's own timers), or ``Outcome``/``HookOutcome``;
* a worker step's result, :class:`goflow.jobs.StepDone` (an FSM outcome plus its attempt records);
* one of the requests that are not FSM inputs: :class:`Create` (a new instance),
  :class:`Wait` (answered when its condition holds: the instance is in a state, has a status, or
  has ended) and :class:`Watch` (answered with the history records committed after a position).

Each is answered by one :class:`Reply` (none for results and timers, which have no caller). Plain
picklable dataclasses: the runtime sends them between processes in batches.
Each pickles as its fields (``__reduce__``): the default pickling of a slots dataclass costs several
times as much, and Thespian pickles every message. Those built by the thousand when a batch is
unpickled (:class:`Item`, :class:`Create`, :class:`Reply`) are not frozen: a frozen dataclass's
``__init__`` costs three times as much. Treat them as values all the same.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Union

from .fsm import FINAL_STATUSES, Input, Instance, Parent
from .jobs import StepDone

__all__ = ["Create", "Wait", "Watch", "Request", "Item", "Reply"]


@dataclass(slots=True)
class Create:
    """Create the instance (the :class:`Item`'s id) of ``project/activity`` at ``version`` (None:
    the latest deployed) with the ``input`` document, and start it (``Signal("start")``)."""

    project: str
    activity: str
    input: Mapping[str, Any]
    version: int | None = None
    parent: Parent | None = None    # a child's link to its parent (SPEC §8): creating it again is no error

    def __reduce__(self):
        return (Create, (self.project, self.activity, self.input, self.version, self.parent))


@dataclass(frozen=True, slots=True)
class Wait:
    """Answer with the instance's status once it is in ``state``, or has ``status`` (any of those
    given), or has ended (completed, failed, terminated) — at once if it already does. Without
    conditions: once it has ended. The host answers when the condition holds (no polling); an
    instance that ends without meeting the condition is answered too (its status tells)."""

    state: str | None = None
    status: str | None = None

    def holds(self, inst: Instance) -> bool:
        return (inst.status in FINAL_STATUSES or (self.state is not None and inst.state == self.state)
                or (self.status is not None and inst.status == self.status))

    def __reduce__(self):
        return (Wait, (self.state, self.status))


@dataclass(frozen=True, slots=True)
class Watch:
    """Answer with the instance's history records after a position, once there are any or once
    nothing more can come (the instance is no longer live: ended with no completion hook in
    flight) — at once if so, else on the instance's next commit (the host holds it, no timer).

    The position is a history key and a count: the records after the record whose key is ``after``
    (None: from the first), less the first ``skip`` of them (already seen). The answer
    (:func:`goflow._shard_watch.page`) holds at most ``limit`` records and the position after them.
    ``key`` names the watcher: a new Watch with the same key replaces one still held for that
    instance (a watcher that asks again, after its reply was lost, leaves nothing behind)."""

    after: int | None = None
    skip: int = 0
    limit: int = 100
    key: str | None = None

    def __reduce__(self):
        return (Watch, (self.after, self.skip, self.limit, self.key))


Request = Union[Input, StepDone, Create, Wait, Watch]


@dataclass(slots=True)
class Item:
    """One request to one instance. ``token`` is the caller's opaque reply address (None: no reply)."""

    instance: str
    request: Request
    token: Any = None

    def __reduce__(self):
        return (Item, (self.instance, self.request, self.token))


@dataclass(slots=True)
class Reply:
    """The answer to one item: ``value`` is a result, or the :class:`~goflow.errors.GoflowError`
    when not ``ok``. ``token`` is the item's (on the way back to a client, the item's index in its batch)."""

    token: Any
    ok: bool
    value: Any

    def __reduce__(self):
        return (Reply, (self.token, self.ok, self.value))
