"""The dispatcher: routes batches of items to instance hosts by instance id, fans queries out.

Routing is ``crc32(instance_id) % hosts``: the number of hosts is fixed when a data directory is
created (each host owns one store file). Hosts reply to the caller directly, so an event costs three
process hops: caller -> dispatcher -> host -> caller.
"""
from __future__ import annotations

import heapq
import os
import zlib

from thespian.actors import Actor

from goflow.requests import Item

from .messages import Batch, Deploy, HostBatch, Query, QueryReply, Routes

__all__ = ["Dispatcher", "shard_of", "merge_list", "merge_counts"]


def shard_of(instance_id: str, n: int) -> int:
    return zlib.crc32(instance_id.encode()) % n


def merge_list(parts, args) -> list:
    # each part is a host's first offset+limit rows, newest first (created DESC, then its rowid DESC):
    # a stable k-way merge keeps each host's order, so the first N merged rows only need each host's
    # first N rows and pages neither repeat nor skip rows; equal times are ordered by shard (replies
    # arrive in any order)
    n = args.get("shards") or 1
    rows = list(heapq.merge(*parts, key=lambda r: (-r.created, shard_of(r.id, n))))
    offset, limit = args.get("offset", 0), args.get("limit", 100)
    return rows[offset:offset + limit]


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
        for idx, item in enumerate(batch.items):
            iid = item.instance
            per[shard_of(iid, n)].append(Item(iid, item.request, idx))
        for host, items in zip(self.hosts, per):
            if items:
                self.send(host, HostBatch(items, sender, batch.rid))

    def _query(self, q: Query, sender) -> None:
        reply_to = q.reply_to or sender
        if q.kind in ("status", "history"):
            host = self.hosts[shard_of(q.args["id"], len(self.hosts))]
            self.send(host, Query(q.rid, q.kind, q.args, reply_to))
        elif q.kind == "blueprints":          # every host has every blueprint deployed: ask one
            self.send(self.hosts[0], Query(q.rid, q.kind, q.args, reply_to))
        elif q.kind in ("list", "counts", "tick"):
            self.next_qid += 1
            merge = merge_list if q.kind == "list" else merge_counts
            args = dict(q.args)
            part_args = dict(args, offset=0, limit=args.get("offset", 0) + args.get("limit", 100))
            args["shards"] = len(self.hosts)
            self.gathers[self.next_qid] = _Gather(q.rid, reply_to, len(self.hosts), merge, args)
            for host in self.hosts:
                self.send(host, Query(self.next_qid, q.kind, part_args, self.myAddress))
        elif q.kind == "pids":
            self.send(self.root, Query(q.rid, "pids", dict(q.args, dispatcher=os.getpid()), reply_to))
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
