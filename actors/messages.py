"""The messages GoFlow's actors exchange. Plain picklable classes: Thespian pickles them between
processes. Everything that crosses a process boundary travels in batches (SPEC §5)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from goflow.config import Config


def _short(field_name: str):
    """A ``__repr__`` that names the class and the size of its batch: Thespian calls ``str()`` on
    every message it transmits (``TransmitIntent.identify``), and a full dataclass repr of a batch of
    thousands of items costs more than sending it."""
    def __repr__(self) -> str:
        return f"{type(self).__name__}({field_name}={len(getattr(self, field_name))})"
    return __repr__

__all__ = [
    "Boot", "Booted", "HostInit", "ProxyInit", "Routes", "Deploy", "Blueprints", "Batch", "HostBatch",
    "Replies", "Query", "QueryReply", "Jobs", "Results", "ProxyChanged", "WhereIsDispatcher",
    "DispatcherIs", "Token",
]


@dataclass
class Boot:
    """Client -> root: start the engine with these settings (``Config.for_engine``) and deploy
    ``blueprints`` (documents) too."""
    config: Config
    rid: int = 0
    blueprints: list = field(default_factory=list)


@dataclass
class Booted:
    rid: int
    dispatcher: Any
    recovered: int = 0
    error: Any = None


@dataclass
class HostInit:
    index: int
    config: Config
    blueprints: list
    proxy: Any


@dataclass
class ProxyInit:
    index: int
    config: Config
    blueprints: list


@dataclass(repr=False)
class Routes:
    hosts: list
    root: Any = None


@dataclass
class Deploy:
    """Client -> dispatcher -> root: validate, store and serve these blueprint documents."""
    rid: int
    documents: list
    reply_to: Any = None


@dataclass(repr=False)
class Blueprints:
    """Root -> everyone: the deployed blueprints (model objects)."""
    blueprints: list


@dataclass
class Token:
    """Where a host sends the reply for one item."""
    reply_to: Any
    rid: int
    index: int


@dataclass(repr=False)
class Batch:
    """Client -> dispatcher: items ``(op, instance_id, payload)``; replies come back as Replies."""
    rid: int
    items: list


@dataclass(repr=False)
class HostBatch:
    items: list                 # goflow.shard.Item, token = Token


@dataclass(repr=False)
class Replies:
    rid: int
    results: list               # (index, ok, value)


@dataclass
class Query:
    """Read-only questions: status/history (routed by id), list/counts/pids (fanned out)."""
    rid: int
    kind: str
    args: dict = field(default_factory=dict)
    reply_to: Any = None


@dataclass
class QueryReply:
    rid: int
    ok: bool
    value: Any


@dataclass(repr=False)
class Jobs:
    jobs: list                  # goflow.shard.Job


@dataclass(repr=False)
class Results:
    results: list               # (instance, step, mode, event, output, attempts)


@dataclass
class ProxyChanged:
    proxy: Any


@dataclass
class WhereIsDispatcher:
    rid: int = 0


@dataclass
class DispatcherIs:
    rid: int
    dispatcher: Any

Batch.__repr__ = Batch.__str__ = _short('items')  # type: ignore[method-assign]
HostBatch.__repr__ = HostBatch.__str__ = _short('items')  # type: ignore[method-assign]
Replies.__repr__ = Replies.__str__ = _short('results')  # type: ignore[method-assign]
Jobs.__repr__ = Jobs.__str__ = _short('jobs')  # type: ignore[method-assign]
Results.__repr__ = Results.__str__ = _short('results')  # type: ignore[method-assign]
Blueprints.__repr__ = Blueprints.__str__ = _short('blueprints')  # type: ignore[method-assign]
Routes.__repr__ = Routes.__str__ = _short('hosts')  # type: ignore[method-assign]
