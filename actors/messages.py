"""The messages GoFlow's actors exchange. Plain picklable classes: Thespian pickles them between
processes. Everything that crosses a process boundary travels in batches (SPEC §5).

The payloads are GoFlow's own types, one family each way: requests into a shard are
:class:`goflow.requests.Item` s (an FSM input, a worker's :class:`goflow.jobs.StepDone`, a
:class:`~goflow.requests.Create` or a :class:`~goflow.requests.Wait`), answered by
:class:`goflow.requests.Reply` s; worker calls are :class:`goflow.jobs.Job` s; blueprints are
:class:`goflow.model.Blueprint` objects. No tuples, no operation strings."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from goflow.config import Config
from goflow.requests import Item, Reply


def _short(field_name: str):
    """A ``__repr__`` that names the class and the size of its batch: Thespian calls ``str()`` on
    every message it transmits (``TransmitIntent.identify``), and a full dataclass repr of a batch of
    thousands of items costs more than sending it."""
    def __repr__(self) -> str:
        return f"{type(self).__name__}({field_name}={len(getattr(self, field_name))})"
    return __repr__

__all__ = [
    "Boot", "Booted", "HostInit", "ProxyInit", "Routes", "Deploy", "Blueprints", "Batch", "HostBatch",
    "Replies", "Query", "QueryReply", "Jobs", "ProxyChanged", "WhereIsDispatcher",
    "DispatcherIs", "Token",
]


@dataclass
class Boot:
    """Client -> root: start the engine with these settings (``Config.for_engine``),
    deploying ``blueprints`` (:class:`goflow.model.Blueprint`) besides those of its catalog."""
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


@dataclass(repr=False)
class Routes:
    hosts: list
    root: Any = None


@dataclass(repr=False)
class Deploy:
    """Client -> dispatcher -> root: store and serve these blueprints (:class:`goflow.model.Blueprint`,
    validated by the client that loaded them)."""
    rid: int
    blueprints: list
    reply_to: Any = None


@dataclass(repr=False)
class Blueprints:
    """Root -> hosts: the deployed blueprints (:class:`goflow.model.Blueprint`); with ``qid`` the host
    answers ``QueryReply(qid, True, None)`` once they are in place (a deploy is acknowledged after
    every host has them: a client's next request may reach a host directly, actors/direct.py)."""
    blueprints: list
    qid: int = 0


@dataclass
class Token:
    """Where a host sends the reply for one item: the ``index``-th item of batch ``rid`` of ``reply_to``."""
    reply_to: Any
    rid: int
    index: int

    def __reduce__(self):
        return (Token, (self.reply_to, self.rid, self.index))


# On the wire a batch is its columns (ids, requests, tokens; tokens, oks, values): pickling a thousand
# Item or Reply objects one by one costs several times as much as three lists.
def _columns(items: list) -> tuple:
    return [i.instance for i in items], [i.request for i in items], [i.token for i in items]


def _items(instances: list, requests: list, tokens: list) -> list:
    return [Item(i, r, t) for i, r, t in zip(instances, requests, tokens)]


@dataclass(repr=False)
class Batch:
    """Client -> dispatcher: requests (:class:`goflow.requests.Item`, no token); the hosts answer
    with Replies, to the sender."""
    rid: int
    items: list

    def __reduce__(self):
        return (_batch, (self.rid, *_columns(self.items)))


def _batch(rid, instances, requests, tokens) -> Batch:
    return Batch(rid, _items(instances, requests, tokens))


@dataclass(repr=False)
class HostBatch:
    """Dispatcher -> host: items of the client ``reply_to``'s batch ``rid``, each token the item's
    index in that batch. Worker proxy -> host: worker results (items whose request is a
    :class:`goflow.jobs.StepDone`), no reply_to, no tokens, ``rid`` the proxy's sequence number
    of the batch, which the host acknowledges in ``Jobs.done``."""
    items: list
    reply_to: Any = None
    rid: int = 0

    def __reduce__(self):
        return (_host_batch, (*_columns(self.items), self.reply_to, self.rid))


def _host_batch(instances, requests, tokens, reply_to, rid) -> HostBatch:
    return HostBatch(_items(instances, requests, tokens), reply_to, rid)


@dataclass(repr=False)
class Replies:
    """Host -> client: the answers (:class:`goflow.requests.Reply`) to items of batch ``rid``, each
    token the index of its item in that batch."""
    rid: int
    replies: list

    def __reduce__(self):
        rs = self.replies
        return (_replies, (self.rid, [r.token for r in rs], [r.ok for r in rs], [r.value for r in rs]))


def _replies(rid, tokens, oks, values) -> Replies:
    return Replies(rid, [Reply(t, ok, v) for t, ok, v in zip(tokens, oks, values)])


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
    """Host -> its worker proxy: worker calls to make (:class:`goflow.jobs.Job`). ``done``: the
    sequence number of the proxy's result batch the host has just handled (0: none), which lets
    the proxy send the next one (:mod:`actors._send_window`); a ``Jobs`` may carry only that."""
    jobs: list
    done: int = 0


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
Replies.__repr__ = Replies.__str__ = _short('replies')  # type: ignore[method-assign]
Jobs.__repr__ = Jobs.__str__ = _short('jobs')  # type: ignore[method-assign]
Deploy.__repr__ = Deploy.__str__ = _short('blueprints')  # type: ignore[method-assign]
Blueprints.__repr__ = Blueprints.__str__ = _short('blueprints')  # type: ignore[method-assign]
Routes.__repr__ = Routes.__str__ = _short('hosts')  # type: ignore[method-assign]
