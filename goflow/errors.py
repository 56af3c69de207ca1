"""The GoFlow exception hierarchy, drawn in one place.

Every error GoFlow raises on purpose derives from :class:`GoflowError` and carries the context a
person needs to act on it (file, JSON pointer, line:column, instance id, state)::

    GoflowError
    ├── BlueprintError            a blueprint did not load; ``.problems`` lists every problem
    ├── BlueprintNotFound         no deployed blueprint has that (project, activity, version)
    ├── SnapshotError             an instance snapshot could not be encoded or decoded
    ├── InvalidInput              an input document or event data that cannot be taken (``.instance_id``)
    │   └── InvalidIdentifier     an id or name that breaks the identifier rule (``.field``, ``.reason``)
    ├── InstanceError             about one running instance (``.instance_id``, ``.state``)
    │   ├── InstanceNotFound
    │   ├── InstanceExists
    │   ├── InstanceFinished      the instance is completed, failed or terminated
    │   └── EventRefused          the current state does not accept the event
    │       └── QueueFull         a postponed queue (or, PausedQueueFull, a paused one) is full
    ├── StoreError                the durable store failed or is unusable
    ├── ConfigError               a configuration key or value is wrong (``.key``)
    ├── TransportError            a worker transport could not be used (``.endpoint``)
    │   └── UnknownScheme
    ├── RuntimeUnavailable        no actor system / daemon answers
    ├── RequestFailed             an actor of the engine failed on the request itself (``.request``)
    └── RequestTimeout            no answer in time (also a TimeoutError); e.g. ``wait`` ran out
"""
from __future__ import annotations

from typing import Iterable, Sequence

__all__ = [
    "GoflowError",
    "BlueprintError",
    "BlueprintNotFound",
    "SnapshotError",
    "InvalidInput",
    "InvalidIdentifier",
    "InstanceError",
    "QueueFull",
    "PausedQueueFull",
    "WrongStatus",
    "NotVisited",
    "InstanceNotFound",
    "InstanceExists",
    "InstanceFinished",
    "EventRefused",
    "StoreError",
    "ConfigError",
    "TransportError",
    "UnknownScheme",
    "RuntimeUnavailable",
    "RequestFailed",
    "RequestTimeout",
]


def _restore(cls, args, state):
    exc = cls.__new__(cls)
    Exception.__init__(exc, *args)
    exc.__dict__.update(state)
    return exc


class GoflowError(Exception):
    """Root of every error GoFlow raises on purpose.

    Errors cross process boundaries (a host's refusal reaches the caller's process), so every
    subclass pickles with its context attributes, whatever its ``__init__`` signature.
    """

    def __reduce__(self):
        return (_restore, (type(self), self.args, dict(self.__dict__)))


class BlueprintError(GoflowError):
    """A blueprint (or a set of blueprint files) did not load.

    ``problems`` holds every :class:`goflow.problems.Problem` found, errors and warnings alike;
    the message lists the errors, one per line.
    """

    def __init__(self, problems: Sequence["object"], message: str | None = None):
        self.problems = list(problems)
        if message is None:
            errors = [p for p in self.problems if getattr(p, "level", "error") == "error"]
            shown = errors or self.problems
            message = "blueprint did not load:\n" + "\n".join(f"  {p}" for p in shown)
        super().__init__(message)


class BlueprintNotFound(GoflowError):
    def __init__(self, project: str, activity: str, version: int | None = None):
        self.project, self.activity, self.version = project, activity, version
        which = f"{project}/{activity}" + (f" version {version}" if version is not None else "")
        super().__init__(f"no blueprint {which} is deployed")


class SnapshotError(GoflowError):
    """A snapshot is corrupt, truncated, of an unknown format version, or not encodable."""

    def __init__(self, instance_id: str | None, reason: str):
        self.instance_id, self.reason = instance_id, reason
        super().__init__(f"snapshot of instance {instance_id or '?'}: {reason}")


class InvalidInput(GoflowError):
    """Untrusted input refused before it reaches an instance: not JSON-like data, or over the size
    bound (SPEC §7). Nothing was applied."""

    def __init__(self, instance_id: str | None, message: str):
        self.instance_id = instance_id
        super().__init__(f"instance {instance_id!r}: {message}" if instance_id else message)


class InvalidIdentifier(InvalidInput):
    """An instance id, event id or blueprint name that breaks the identifier rule (SPEC §12,
    :mod:`goflow.ids`). ``field`` names what was given (``"instance id"``, ``"event id"``, ...),
    ``reason`` says what is wrong; the message shows the value, shortened and escaped."""

    def __init__(self, field: str, value: object, reason: str):
        self.field, self.reason = field, reason
        shown = repr(value) if len(repr(value)) <= 60 else repr(value)[:57] + "..."
        super().__init__(None, f"invalid {field} {shown}: {reason} (an identifier is 1 to 256 bytes "
                               f"of printable UTF-8 without '/')")


class InstanceError(GoflowError):
    """An error about one instance; carries its id and, where known, its state."""

    def __init__(self, instance_id: str, message: str, state: str | None = None):
        self.instance_id, self.state = instance_id, state
        super().__init__(message)


class InstanceNotFound(InstanceError):
    def __init__(self, instance_id: str):
        super().__init__(instance_id, f"no instance {instance_id!r}")


class InstanceExists(InstanceError):
    def __init__(self, instance_id: str):
        super().__init__(instance_id, f"an instance {instance_id!r} already exists")


class InstanceFinished(InstanceError):
    def __init__(self, instance_id: str, status: str, state: str | None = None, what: str = "event"):
        self.status = status
        super().__init__(instance_id, f"instance {instance_id!r} is {status} (in state {state!r}) "
                                      f"and takes no more {what}s", state)


class EventRefused(InstanceError):
    """The instance's current state has no transition for the event; the instance is unchanged."""

    def __init__(self, instance_id: str, state: str, event: str, accepted: Iterable[str],
                 why: str | None = None):
        self.event = event
        self.accepted = sorted(accepted)
        acc = ", ".join(repr(e) for e in self.accepted) or "no events"
        because = f" now ({why})" if why else ""
        super().__init__(instance_id, f"instance {instance_id!r} in state {state!r} does not accept "
                                      f"event {event!r}{because}; it accepts {acc}", state)


class QueueFull(EventRefused):
    """A postponable event found the instance's postponed queue full (``limits.postponed``)."""

    def __init__(self, instance_id: str, state: str, event: str, limit: int):
        self.limit = limit
        InstanceError.__init__(self, instance_id, f"instance {instance_id!r} in state {state!r} cannot "
                               f"postpone event {event!r}: its postponed queue is full ({limit} events, "
                               f"limits.postponed); the event is refused", state)
        self.event, self.accepted = event, []


class PausedQueueFull(QueueFull):
    """A paused instance already holds ``limits.paused_events`` outside events; one more is refused
    (a :class:`QueueFull`, so every interface answers it as it answers a full postponed queue)."""

    def __init__(self, instance_id: str, state: str, event: str, limit: int):
        self.limit = limit
        InstanceError.__init__(self, instance_id, f"instance {instance_id!r} is paused (in state {state!r}) "
                               f"and already holds {limit} events (limits.paused_events); event {event!r} "
                               "is refused: resume the instance, or raise limits.paused_events", state)
        self.event, self.accepted = event, []


class WrongStatus(InstanceError):
    """A management operation (retry, rewind) that does not apply to the instance's status; the
    instance is unchanged."""

    def __init__(self, instance_id: str, operation: str, status: str, state: str | None, why: str):
        self.operation, self.status = operation, status
        super().__init__(instance_id, f"cannot {operation} instance {instance_id!r}: it is {status} in state "
                                      f"{state!r}; {why}", state)


class NotVisited(InstanceError):
    """A rewind to a state the instance never entered (or cannot be rewound to)."""

    def __init__(self, instance_id: str, target: str, state: str | None, why: str):
        self.target = target
        super().__init__(instance_id, f"cannot rewind instance {instance_id!r} to {target!r}: {why}", state)


class StoreError(GoflowError):
    def __init__(self, message: str, path: str | None = None):
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


class ConfigError(GoflowError):
    def __init__(self, key: str, message: str, source: str | None = None):
        self.key, self.source = key, source
        where = f" (from {source})" if source else ""
        super().__init__(f"config {key}{where}: {message}")


class TransportError(GoflowError):
    def __init__(self, endpoint: str, message: str):
        self.endpoint = endpoint
        super().__init__(f"{endpoint}: {message}")


class UnknownScheme(TransportError):
    def __init__(self, endpoint: str, scheme: str, known: Iterable[str]):
        self.scheme = scheme
        super().__init__(endpoint, f"no transport for scheme {scheme!r} (known: {', '.join(sorted(known))})")


class RuntimeUnavailable(GoflowError):
    """No actor system or daemon answered."""


class RequestFailed(GoflowError):
    """An actor of the engine failed while handling the request (Thespian returned it as a
    PoisonMessage): the request was not carried out, or not all of it. ``request`` names the
    message, ``details`` is what the actor system said."""

    def __init__(self, request: str, details: object = None):
        self.request, self.details = request, None if details is None else str(details)
        why = f": {' '.join(self.details.split())[:300]}" if self.details else ""
        super().__init__(f"the engine failed on the {request} request{why}")


class RequestTimeout(GoflowError, TimeoutError):
    """A request got no (complete) answer within its timeout: the engine is overloaded or gone, or,
    for ``wait``, the instance did not finish in time."""
