"""The messages GoFlow's actors exchange. Plain picklable classes: Thespian pickles them between
processes. Everything that crosses a process boundary travels in batches (SPEC §5)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Boot", "Booted", "HostInit", "ProxyInit", "Routes", "Deploy", "Blueprints", "Batch", "HostBatch",
    "Replies", "Query", "QueryReply", "Jobs", "Results", "ProxyChanged", "WhereIsDispatcher",
    "DispatcherIs", "Token",
]


@dataclass
class Boot:
    """Client -> root: start the engine with this configuration (a plain dict, see actors.system)."""
    config: dict
    rid: int = 0


@dataclass
class Booted:
    rid: int
    dispatcher: Any
    recovered: int = 0
    error: Any = None


@dataclass
class HostInit:
    index: int
    config: dict
    blueprints: list
    proxy: Any


@dataclass
class ProxyInit:
    index: int
    config: dict
    blueprints: list


@dataclass
class Routes:
    hosts: list
    root: Any = None


@dataclass
class Deploy:
    """Client -> dispatcher -> root: validate, store and serve these blueprint documents."""
    rid: int
    documents: list
    reply_to: Any = None


@dataclass
class Blueprints:
    """Root -> everyone: the deployed blueprints (model objects)."""
    blueprints: list


@dataclass
class Token:
    """Where a host sends the reply for one item."""
    reply_to: Any
    rid: int
    index: int


@dataclass
class Batch:
    """Client -> dispatcher: items ``(op, instance_id, payload)``; replies come back as Replies."""
    rid: int
    items: list


@dataclass
class HostBatch:
    items: list                 # goflow.shard.Item, token = Token


@dataclass
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


@dataclass
class Jobs:
    jobs: list                  # goflow.shard.Job


@dataclass
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
