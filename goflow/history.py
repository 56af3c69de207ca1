"""History records: what happened to an instance, appended with each committed transition."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Record"]


@dataclass(frozen=True, slots=True)
class Record:
    """One line of an instance's history.

    FSM records have ``state``/``event``/``action``/``next``/``step`` and an ``outcome`` saying what
    was done with the event (``applied``, ``stale``, ``refused``, ``queued``, ``duplicate``,
    ``failed``, ...). Worker records add ``attempt``, ``endpoint``, ``outcome`` (the HTTP status or
    error) and ``latency`` (seconds).
    """

    time: float
    state: str | None = None
    event: str | None = None
    action: str | None = None
    next: str | None = None
    step: int | None = None
    attempt: int | None = None
    endpoint: str | None = None
    outcome: str | None = None
    latency: float | None = None
    detail: Any = None

    def to_dict(self) -> dict:
        return asdict(self)

    def to_tuple(self) -> tuple:
        return (self.time, self.state, self.event, self.action, self.next, self.step, self.attempt,
                self.endpoint, self.outcome, self.latency, self.detail)

    @classmethod
    def from_tuple(cls, t) -> "Record":
        return cls(*t)

    def __reduce__(self):
        # pickled as its fields: worker results carry their attempt records between processes, and
        # the default pickling of a frozen slots dataclass costs several times as much
        return (Record, self.to_tuple())
