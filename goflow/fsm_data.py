"""The FSM's data: an :class:`Instance` (an instance's whole state), the inputs
:func:`goflow.fsm.react` takes, the commands it gives and its :class:`Reaction`. Plain frozen
dataclasses; the semantics are in :mod:`goflow.fsm` (which re-exports every name here)."""
from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as _dc_replace
from typing import Any, Mapping, Union

from ._slots import maker, replacer
from .model import INIT, Blueprint

__all__ = [
    "RUNNING", "WAITING", "DELAYED", "PAUSED", "COMPLETED", "FAILED", "TERMINATED",
    "STATUSES", "FINAL_STATUSES", "EVENT_ID_WINDOW", "POSTPONED_LIMIT", "SYNC_STEP", "WORKFLOW_STEP",
    "CHILDREN_LIMIT",
    "Pending", "Parent", "Join", "Instance", "new_instance",
    "Signal", "Outcome", "TimerFired", "HookOutcome", "Pause", "Resume", "Terminate", "Retry", "Rewind",
    "ChildDone", "ChildAck", "Input",
    "CallWorker", "StartTimer", "CancelTimer", "Finished", "ChildStart", "StartChildren", "CancelChildren",
    "NotifyParent", "Command",
    "Reaction",
]

RUNNING, WAITING, DELAYED, PAUSED = "running", "waiting", "delayed", "paused"
COMPLETED, FAILED, TERMINATED = "completed", "failed", "terminated"
STATUSES = (RUNNING, WAITING, DELAYED, PAUSED, COMPLETED, FAILED, TERMINATED)
FINAL_STATUSES = frozenset({COMPLETED, FAILED, TERMINATED})
EVENT_ID_WINDOW = 32    # recent outside event ids kept in the snapshot (the store keeps them all)
POSTPONED_LIMIT = 100   # default bound of an instance's postponed queue (limits.postponed)
SYNC_STEP = "sync"      # the mode of a sync step's CallWorker (the default)
WORKFLOW_STEP = "workflow"  # the kind of a Pending step whose children run (SPEC §8)
CHILDREN_LIMIT = 1_000  # default bound of the children one workflow action starts (limits.children)


# --------------------------------------------------------------------------------------------- state
@dataclass(frozen=True, slots=True)
class Pending:
    """The step an instance waits on: a worker call, an accepted async call, or a delay timer."""

    step: int
    action: str
    kind: str                   # "sync" | "async" | "delay"
    since: float
    due: float | None = None    # delay: when it fires; async: the timeout deadline
    accepted: bool = False      # async: the worker accepted the call
    enter: bool = False         # delay of a continue: insert ``start`` when it fires


@dataclass(frozen=True, slots=True)
class Parent:
    """A child instance's link to its parent: the parent's id, the workflow step that started it,
    its index among that step's children (0 for a single child) and its depth (1: a child of a
    top-level instance)."""

    id: str
    step: int
    index: int = 0
    depth: int = 1


@dataclass(frozen=True, slots=True)
class Join:
    """The children of a workflow step: ``results[i]`` is None while child ``i`` runs, else its end
    ``(event, status, context, reason)``. ``origins[i]`` is the step whose id child ``i`` has (a
    retry starts new children for the failed indices only); ``each`` says it is a forEach."""

    step: int
    action: str
    results: tuple
    origins: tuple
    each: bool = False

    @property
    def ended(self) -> int:
        return len(self.results) - self.results.count(None)     # C speed: asked at every child's end


@dataclass(frozen=True, slots=True)
class Instance:
    id: str
    project: str
    activity: str
    version: int
    state: str = INIT
    status: str = WAITING
    input: Mapping[str, Any] = field(default_factory=dict)    # the input document, as given
    context: Mapping[str, Any] = field(default_factory=dict)  # input + each action's last output
    step: int = 0               # sequence number of the last step begun
    pending: Pending | None = None
    hook_step: int | None = None  # completion hook in flight
    inbox: tuple = ()           # inputs held while paused
    event_ids: tuple[str, ...] = ()
    reason: str | None = None
    created: float = 0.0
    updated: float = 0.0
    postponed: tuple = ()       # outside events (Signal) kept until the state can take them
    result: str | None = None   # the end state it ended in (done, or a state of the blueprint's end)
    visited: tuple[str, ...] = ()   # every state it has entered, in first-entry order (init implied)
    failed_action: str | None = None  # the action of the step whose outcome failed it (for retry)
    parent: Parent | None = None  # a child instance's parent (SPEC §8)
    notify: bool = False          # a child that ended and whose parent has not acknowledged the notice
    join: Join | None = None      # the children of the last workflow step

    @property
    def finished(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def blueprint_key(self) -> tuple[str, str, int]:
        return (self.project, self.activity, self.version)



# The FSM makes a new Instance per change: ``dataclasses.replace`` walks ``fields()`` and calls
# ``__init__`` with keyword arguments each time, which was the largest item of a host's profile
# (docs/benchmarks.md). :func:`replace` builds the copy through the slots' descriptors instead
# (goflow._slots, about 4x faster); other dataclasses go to ``dataclasses.replace``.
_replace_instance = replacer(Instance)
_make_instance = maker(Instance)


def replace(obj, /, **changes):
    """``dataclasses.replace``, fast for an :class:`Instance` (which has no ``__post_init__``)."""
    if type(obj) is Instance:
        return _replace_instance(obj, **changes)
    return _dc_replace(obj, **changes)


def new_instance(blueprint: Blueprint, instance_id: str, input: Mapping[str, Any] | None, now: float) -> Instance:
    """A new instance of ``blueprint`` in ``init``, its context the input document."""
    return _make_instance(id=instance_id, project=blueprint.project, activity=blueprint.activity,
                          version=blueprint.version, input=dict(input or {}), context=dict(input or {}),
                          created=now, updated=now)


# -------------------------------------------------------------------------------------------- inputs
# Each input pickles as its fields (``__reduce__``): the runtime sends inputs between processes by the
# thousand, and the default pickling of a frozen slots dataclass costs several times as much.
@dataclass(frozen=True, slots=True)
class Signal:
    """An event from outside (code, CLI, HTTP): ``start``, an async outcome, or a user event."""

    name: str
    data: Any = None
    event_id: str | None = None

    def __reduce__(self):
        return (Signal, (self.name, self.data, self.event_id))


@dataclass(frozen=True, slots=True)
class Outcome:
    """The outcome of worker step ``step``: ``success``, a worker-named event, ``error`` or ``timeout``."""

    step: int
    event: str
    output: Any = None
    accepted: bool = False      # an async call's answer meaning "accepted: the outcome comes later"

    def __reduce__(self):
        return (Outcome, (self.step, self.event, self.output, self.accepted))


@dataclass(frozen=True, slots=True)
class TimerFired:
    step: int

    def __reduce__(self):
        return (TimerFired, (self.step,))


@dataclass(frozen=True, slots=True)
class HookOutcome:
    step: int
    event: str

    def __reduce__(self):
        return (HookOutcome, (self.step, self.event))


@dataclass(frozen=True, slots=True)
class Pause:
    def __reduce__(self):
        return (Pause, ())


@dataclass(frozen=True, slots=True)
class Resume:
    def __reduce__(self):
        return (Resume, ())


@dataclass(frozen=True, slots=True)
class Terminate:
    reason: str = "terminated"
    force: bool = False         # terminate at once, without delivering ``cancel``

    def __reduce__(self):
        return (Terminate, (self.reason, self.force))


@dataclass(frozen=True, slots=True)
class Retry:
    """Run the step a failed instance failed in again; ``by`` says who asked (api, cli, code)."""

    by: str = "code"

    def __reduce__(self):
        return (Retry, (self.by,))


@dataclass(frozen=True, slots=True)
class Rewind:
    """Move a failed, terminated or waiting instance back to ``state`` (one it has visited) and
    deliver ``start`` there; ``by`` says who asked."""

    state: str
    by: str = "code"

    def __reduce__(self):
        return (Rewind, (self.state, self.by))


@dataclass(frozen=True, slots=True)
class ChildDone:
    """Child ``child`` (index ``index`` of workflow step ``step``) has ended: ``event`` is the outcome
    it gives (``success`` for done, its end state's name, ``error`` when it failed or was terminated)."""

    step: int
    index: int
    child: str
    event: str
    status: str
    context: Any = None
    reason: str | None = None

    def __reduce__(self):
        return (ChildDone, (self.step, self.index, self.child, self.event, self.status, self.context,
                            self.reason))


@dataclass(frozen=True, slots=True)
class ChildAck:
    """The parent has recorded this child's end: the child's notice is delivered."""

    def __reduce__(self):
        return (ChildAck, ())


Input = Union[Signal, Outcome, TimerFired, HookOutcome, Pause, Resume, Terminate, Retry, Rewind, ChildDone,
              ChildAck]


# ------------------------------------------------------------------------------------------ commands
@dataclass(frozen=True, slots=True)
class CallWorker:
    """Call the workers of ``action`` for step ``step``; ``mode`` is sync, async or hook."""

    instance: str
    step: int
    action: str
    state: str
    mode: str = SYNC_STEP


@dataclass(frozen=True, slots=True)
class StartTimer:
    instance: str
    step: int
    due: float


@dataclass(frozen=True, slots=True)
class CancelTimer:
    instance: str
    step: int


@dataclass(frozen=True, slots=True)
class Finished:
    instance: str
    status: str
    state: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ChildStart:
    """One child to create: its id, blueprint, input and its link to the parent."""

    id: str
    project: str
    activity: str
    version: int | None
    input: Any
    parent: Parent

    def __reduce__(self):
        return (ChildStart, (self.id, self.project, self.activity, self.version, self.input, self.parent))


@dataclass(frozen=True, slots=True)
class StartChildren:
    """Create these children (idempotent: an id that exists is not created again)."""

    instance: str
    step: int
    children: tuple


@dataclass(frozen=True, slots=True)
class CancelChildren:
    """Terminate these children (their ``cancel`` handlers run): their parent's step was left."""

    instance: str
    children: tuple
    reason: str


@dataclass(frozen=True, slots=True)
class NotifyParent:
    """Tell the parent that this child ended (until the parent acknowledges it)."""

    instance: str
    parent: str
    done: ChildDone


Command = Union[CallWorker, StartTimer, CancelTimer, Finished, StartChildren, CancelChildren, NotifyParent]


@dataclass(frozen=True, slots=True)
class Reaction:
    instance: Instance
    commands: tuple = ()
    records: tuple = ()
    duplicate: bool = False     # a Signal whose event_id was seen before: acknowledged, not applied
