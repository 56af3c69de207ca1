"""The dispatcher: routes batches of items to instance hosts by instance id, fans queries out.

Routing is ``crc32(instance_id) % hosts``: the number of hosts is fixed when a data directory is
created (each host owns one store file). Hosts reply to the caller directly, so an event costs three
process hops: caller -> dispatcher -> host -> caller.
"""
from __future__ import annotations

import heapq
import itertools
import os
import zlib

from thespian.actors import Actor

from goflow.errors import InvalidIdentifier
from goflow.ids import is_id, problem
from goflow.requests import Item, Reply

from .messages import Batch, Deploy, HostBatch, Query, QueryReply, Replies, Routes

__all__ = ["Dispatcher", "shard_of", "refusal", "merge_list", "merge_counts"]


def shard_of(instance_id: str, n: int) -> int:
    return zlib.crc32(instance_id.encode()) % n


def refusal(item) -> InvalidIdentifier | None:
    """Why ``item`` is refused before any host sees it (an instance or event id that breaks the
    identifier rule), else None. The clients check first; this is the router's own check (the
    dispatcher's, and a daemon client's on the direct path, actors/direct.py)."""
    iid = item.instance
    eid = getattr(item.request, "event_id", None)
    if not is_id(iid):
        return InvalidIdentifier("instance id", iid, problem(iid))
    if eid is not None and not is_id(eid):
        return InvalidIdentifier("event id", eid, problem(eid))
    return None


def merge_list(parts, args) -> list:
    # each part is a host's first `limit` rows after the cursor's key, in (created, id) order
    # (descending for "latest"): the key is the same total order on every host, so a k-way merge of
    # the parts gives the first `limit` rows of the whole, and the next page starts after the last
    # one's key on every host (no offset: a host never reads the rows of earlier pages)
    rows = heapq.merge(*parts, key=lambda r: (r.created, r.id), reverse=args["order"] == "latest")
    return list(itertools.islice(rows, args["limit"]))


def merge_counts(parts, args) -> dict:
    total: dict = {}
    for part in parts:
        for k, v in part.items():
            total[k] = total.get(k, 0) + v
    return total


class _Gather:
    __slots__ = ("rid", "reply_to", "expected", "parts", "merge", "args", "error")

    def __init__(self, rid, reply_to, expected, merge, args):
        self.rid, self.reply_to, self.expected, self.merge, self.args = rid, reply_to, expected, merge, args
        self.parts: list = []
        self.error = None


class Dispatcher(Actor):
    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        self.hosts: list = []
        self.root = None
        self.next_qid = 0
        self.gathers: dict[int, _Gather] = {}

    def receiveMessage(self, msg, sender):
        if isinstance(msg, Batch):
            self._route(msg, sender)
        elif isinstance(msg, Query):
            self._query(msg, sender)
        elif isinstance(msg, QueryReply):
            self._gathered(msg)
        elif isinstance(msg, Deploy):
            msg.reply_to = msg.reply_to or sender
            self.send(self.root, msg)
        elif isinstance(msg, Routes):
            self.hosts, self.root = list(msg.hosts), msg.root

    def _route(self, batch: Batch, sender) -> None:
        n = len(self.hosts)
        per: list[list] = [[] for _ in range(n)]
        refused = []
        for idx, item in enumerate(batch.items):
            # the clients check first; a bad id reaching here is refused alone, the batch goes on
            bad = refusal(item)
            if bad is not None:
                refused.append(Reply(idx, False, bad))
                continue
            per[shard_of(item.instance, n)].append(Item(item.instance, item.request, idx))
        if refused:
            self.send(sender, Replies(batch.rid, refused))
        for host, items in zip(self.hosts, per):
            if items:
                self.send(host, HostBatch(items, sender, batch.rid))

    def _query(self, q: Query, sender) -> None:
        reply_to = q.reply_to or sender
        if q.kind in ("status", "history"):
            if not is_id(q.args.get("id")):
                iid = q.args.get("id")
                self.send(reply_to, QueryReply(q.rid, False, InvalidIdentifier("instance id", iid, problem(iid))))
                return
            host = self.hosts[shard_of(q.args["id"], len(self.hosts))]
            self.send(host, Query(q.rid, q.kind, q.args, reply_to))
        elif q.kind == "blueprints":          # every host has every blueprint deployed: ask one
            self.send(self.hosts[0], Query(q.rid, q.kind, q.args, reply_to))
        elif q.kind in ("list", "counts", "tick"):
            self.next_qid += 1
            merge = merge_list if q.kind == "list" else merge_counts
            self.gathers[self.next_qid] = _Gather(q.rid, reply_to, len(self.hosts), merge, q.args)
            for host in self.hosts:
                self.send(host, Query(self.next_qid, q.kind, q.args, self.myAddress))
        elif q.kind == "pids":
            self.send(self.root, Query(q.rid, "pids", dict(q.args, dispatcher=os.getpid()), reply_to))
        elif q.kind == "info":
            self.send(self.root, Query(q.rid, "info", q.args, reply_to))
        else:
            self.send(reply_to, QueryReply(q.rid, False, ValueError(f"unknown query {q.kind!r}")))

    def _gathered(self, r: QueryReply) -> None:
        g = self.gathers.get(r.rid)
        if g is None:
            return
        if r.ok:
            g.parts.append(r.value)
        else:
            g.error = r.value
        g.expected -= 1
        if g.expected == 0:
            del self.gathers[r.rid]
            if g.error is not None:
                self.send(g.reply_to, QueryReply(g.rid, False, g.error))
            else:
                self.send(g.reply_to, QueryReply(g.rid, True, g.merge(g.parts, g.args)))
