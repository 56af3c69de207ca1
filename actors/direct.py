"""The direct path between a daemon client and the instance hosts (issue 16): one round trip per
request instead of three Thespian TCP hops (client -> dispatcher -> host -> client).

Each host of a daemon listens on a Unix socket in the data directory (``host-<i>.sock``; the
directory is 0700 and the socket 0600, so only the daemon's user can connect), watched with
``ThespianWatch`` in the host's own receive loop. A daemon client (:class:`actors.api.Engine`
from ``Engine.connect``) keeps one connection per host and sends each batch's items straight to
the hosts that own them (``shard_of``, the dispatcher's rule) as length-prefixed frames of the same
typed messages: a :class:`HostBatch` out (each item's token its index in the client's batch), the
host's :class:`Replies` back. The host turns a frame's items into ``Token(connection, rid, index)``
and handles them like the dispatcher's ``HostBatch``: the same ``Shard.handle``, the same commit,
dedup and errors; it writes the replies on the connection instead of sending them to an actor.

Failure rules (the client's side, :class:`Links`):

* no connection can be made to a host (no socket yet, a stale one after a ``kill -9``, a daemon
  without the direct path, a data directory whose socket path is too long for ``AF_UNIX``): the
  request goes the old way, through the dispatcher, before anything was sent directly;
* the connection ends (EOF, reset) while an answer is awaited: the host died; the request fails at
  once with :class:`RequestTimeout` ("may have been applied": not resent, as on the dispatcher
  path) and the next request connects again (to the restarted host, or falls back meanwhile);
* the deadline passes: :class:`RequestTimeout`, and the connections it waited on are closed (the
  host drops its late answers; the next request connects again); any other reply that is not the
  awaited one is dropped by its request id.

A host that cannot write a reply within ``SEND_TIMEOUT`` (a client that stopped reading) closes that
connection; the client sees the end of it.
"""
from __future__ import annotations

import logging
import os
import pickle
import select
import socket
import time

from goflow.errors import InvalidIdentifier, RequestTimeout
from goflow.files import private_dir
from goflow.framing import Unframer, pack as frame
from goflow.ids import is_id, problem
from goflow.requests import Item

from .dispatcher import refusal, shard_of
from .messages import HostBatch, Query, QueryReply, Replies

__all__ = ["socket_path", "Listener", "Conn", "Links", "links_for", "direct_batches", "direct_query", "frame", "gone"]

log = logging.getLogger("goflow.direct")

MAX_FRAME = 256 << 20       # bytes: a frame announcing more is a broken peer; the connection is closed
SEND_TIMEOUT = 5.0          # seconds a host waits for a client to take a reply before giving it up
RECV = 1 << 20
SUN_PATH = 107              # AF_UNIX path bytes on Linux (108 with the final NUL)


def socket_path(data_dir: str, index: int) -> str | None:
    """Host ``index``'s socket in ``data_dir``; None when the path is too long for AF_UNIX (the
    direct path is then off: everything goes through the dispatcher)."""
    path = os.path.join(os.path.abspath(data_dir), f"host-{index}.sock")
    return path if len(os.fsencode(path)) <= SUN_PATH else None


def _frames() -> Unframer:
    """The incremental decoder of one connection's frames (goflow.framing), at most MAX_FRAME each."""
    return Unframer(max_size=MAX_FRAME)


# ------------------------------------------------------------------------------------- host side
class Conn:
    """A client's connection to a host: the ``reply_to`` of the tokens of the items it brought."""
    __slots__ = ("sock", "frames", "closed")

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.frames, self.closed = sock, _frames(), False

    def send(self, msg) -> None:
        """Write ``msg`` (a :class:`Replies`); a connection that is gone or does not take it within
        SEND_TIMEOUT is closed (its client hears the end of it)."""
        if self.closed:
            return
        try:
            self.sock.sendall(frame(msg))
        except OSError as exc:      # socket.timeout is an OSError
            log.info("direct.reply_dropped error=%s", exc)
            self.close()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.sock.close()


class Listener:
    """A host's socket and its clients' connections. :meth:`filenos` is what the host watches
    (``ThespianWatch``); :meth:`ready` takes the ready ones and returns the messages that arrived."""

    def __init__(self, path: str) -> None:
        private_dir(os.path.dirname(path))
        try:
            os.unlink(path)           # a socket left by a host that was killed
        except FileNotFoundError:
            pass
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            old = os.umask(0o177)     # the socket file is 0600 from the start
            try:
                sock.bind(path)
            finally:
                os.umask(old)
            sock.listen(128)
            sock.setblocking(False)
        except BaseException:
            sock.close()
            raise
        self.path, self.sock = path, sock
        self.conns: dict[int, Conn] = {}

    def filenos(self) -> list[int]:
        # a connection the host closed on a failed reply (Conn.send) leaves the watch list here: its
        # fd number may already belong to another socket of this process (one of Thespian's, which
        # its selector would then be asked to register twice)
        for fd in [fd for fd, conn in self.conns.items() if conn.closed]:
            del self.conns[fd]
        return [self.sock.fileno(), *self.conns]

    def ready(self, fds) -> list[tuple[Conn, object]]:
        """Accept new connections, read the ready ones; ``(connection, message)`` in arrival order.
        A connection that ended or sent a broken frame is closed."""
        out: list = []
        for fd in fds:
            if fd == self.sock.fileno():
                self._accept()
                continue
            conn = self.conns.get(fd)
            if conn is None:
                continue
            try:
                data = conn.sock.recv(RECV)
                msgs = conn.frames.feed(data) if data else None
            except (OSError, ValueError, pickle.UnpicklingError, EOFError) as exc:
                log.info("direct.connection_broken error=%s", exc)
                msgs = None
            if msgs is None:
                del self.conns[fd]
                conn.close()
                continue
            out.extend((conn, m) for m in msgs)
        return out

    def _accept(self) -> None:
        while True:
            try:
                sock, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:
                log.warning("direct.accept_failed error=%s", exc)
                return
            sock.settimeout(SEND_TIMEOUT)   # reads happen when select says readable: they never wait
            self.conns[sock.fileno()] = Conn(sock)

    def close(self) -> None:
        for conn in self.conns.values():
            conn.close()
        self.conns.clear()
        self.sock.close()
        try:
            os.unlink(self.path)
        except OSError:
            pass


# ----------------------------------------------------------------------------------- client side
def gone(message: str) -> RequestTimeout:
    """The :class:`RequestTimeout` of a request whose actor died before it answered (``gone``
    True: ``Engine.wait`` says so rather than that its condition did not hold in time)."""
    exc = RequestTimeout(message)
    exc.gone = True
    return exc


def links_for(info: dict) -> "Links | None":
    """A daemon client's links to the hosts of the daemon ``info`` describes (the root's ``info``
    answer: its data directory and host count); None when it names none."""
    data_dir, shards = info.get("data_dir"), info.get("shards")
    if not data_dir or not shards:
        return None
    return Links([socket_path(data_dir, i) for i in range(shards)])


def direct_batches(links: "Links", batches: list, window: int, timeout: float) -> list | None:
    """A client's batches (:class:`Batch` es of items without tokens) straight to the hosts, at most
    ``window`` unanswered at once: each item's ``(ok, value)``, batch after batch, in order (an id
    that breaks the rule refused here, as the dispatcher does); None, having sent nothing, when a
    host it needs cannot be reached directly. The items of one instance all go to its host on one
    connection, in order: they are applied in the caller's order."""
    n = len(links.paths)
    parts, got = [], {}
    for b in batches:
        per: dict[int, list] = {}
        replies: dict[int, tuple] = {}
        for idx, item in enumerate(b.items):
            bad = refusal(item)
            if bad is not None:
                replies[idx] = (False, bad)
                continue
            per.setdefault(shard_of(item.instance, n), []).append(Item(item.instance, item.request, idx))
        parts.append((b.rid, per, len(b.items)))
        got[b.rid] = replies
    if any(per for _rid, per, _n in parts) and not links.call(parts, window, timeout, got):
        return None
    return [got[b.rid][i] for b in batches for i in range(len(b.items))]


def direct_query(links: "Links", query: Query, timeout: float) -> QueryReply | None:
    """A ``status`` or ``history`` query straight to the host of its instance (an id that breaks
    the rule refused here, as the dispatcher does); None, having sent nothing, when that host
    cannot be reached directly."""
    iid = query.args.get("id")
    if not is_id(iid):
        return QueryReply(query.rid, False, InvalidIdentifier("instance id", iid, problem(iid)))
    return links.ask(shard_of(iid, len(links.paths)), query, timeout)


class Links:
    """A daemon client's connections to its hosts, one per host, made when first needed. The
    caller (the engine, under its lock) makes one request (of one or more batches) at a time."""

    def __init__(self, paths: list[str | None]) -> None:
        self.paths = paths
        self.socks: list[socket.socket | None] = [None] * len(paths)
        self.frames: list[Unframer] = [_frames() for _ in paths]

    def call(self, parts: list[tuple[int, dict[int, list[Item]], int]], window: int, timeout: float,
             got: dict[int, dict]) -> bool:
        """Send each batch ``(rid, {host: items}, items in the batch)`` its hosts' items (tokens: their
        indexes in the client's batch), at most ``window`` batches unanswered at once, and gather the
        replies into ``got[rid]`` (index -> (ok, value); an index already there is not sent) until
        every batch is whole. Each batch has ``timeout`` seconds from when it was queued. Writes never
        block (a host busy with earlier batches is not waited on while its replies arrive). False,
        having sent nothing, when a host cannot be reached directly: the caller goes through the
        dispatcher."""
        socks: dict[int, socket.socket] = {}
        for _rid, per, _n in parts:
            for i in per:
                if i not in socks:
                    sock = self._link(i)
                    if sock is None:
                        return False
                    socks[i] = sock
        host_of = {sock.fileno(): i for i, sock in socks.items()}
        out = {i: bytearray() for i in socks}       # frames queued for each host, not yet written
        flight: dict[int, tuple[int, float]] = {}   # rid -> (items in the batch, deadline)
        nxt = whole = 0
        while whole < len(parts):
            while nxt < len(parts) and len(flight) < window:
                rid, per, n = parts[nxt]
                nxt += 1
                if len(got[rid]) >= n:              # every item refused here: nothing to send
                    whole += 1
                    continue
                for i, items in per.items():
                    out[i] += frame(HostBatch(items, None, rid))
                flight[rid] = (n, time.monotonic() + timeout)
            if not flight:
                continue
            deadline = min(d for _n, d in flight.values())
            left = deadline - time.monotonic()
            if left <= 0:
                rid = next(r for r, (_n, d) in flight.items() if d == deadline)
                # let go of the connections: the hosts' late answers then have nowhere to go (they
                # drop them at once) instead of waiting in a socket nobody reads
                for i in socks:
                    self._drop(i)
                raise RequestTimeout(f"no reply from the engine within {timeout:g}s "
                                     f"(direct, {len(got[rid])}/{flight[rid][0]} answered)")
            ready, writable, _ = select.select(list(socks.values()), [socks[i] for i in out if out[i]], [], left)
            for sock in writable:
                i = host_of[sock.fileno()]
                try:
                    sent = sock.send(out[i], socket.MSG_DONTWAIT)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as exc:
                    self._drop(i)
                    raise gone(f"host {i} is gone before it answered ({exc}); the request may "
                               f"have been applied") from None
                del out[i][:sent]
            for sock in ready:
                for msg in self._read(host_of[sock.fileno()]):
                    if isinstance(msg, Replies) and msg.rid in flight:
                        replies = got[msg.rid]
                        for r in msg.replies:
                            replies[r.token] = (r.ok, r.value)
                        if len(replies) >= flight[msg.rid][0]:
                            del flight[msg.rid]
                            whole += 1
                    # anything else: a late reply to an abandoned request
        return True

    def ask(self, i: int, query: Query, timeout: float) -> QueryReply | None:
        """``query`` (about one instance) to host ``i``; its reply, or None, having sent nothing,
        when the host cannot be reached directly."""
        sock = self._link(i)
        if sock is None:
            return None
        try:
            sock.sendall(frame(query))
        except OSError as exc:
            self._drop(i)
            raise gone(f"host {i} is gone before it answered ({exc})") from None
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                self._drop(i)         # its late answer then has nowhere to wait
                raise RequestTimeout(f"no reply from the engine within {timeout:g}s (direct, {query.kind} query)")
            if select.select([sock], [], [], left)[0]:
                for msg in self._read(i):
                    if isinstance(msg, QueryReply) and msg.rid == query.rid:
                        return msg
                    # anything else: a late reply to an abandoned request

    def _read(self, i: int) -> list:
        sock = self.socks[i]
        try:
            data = sock.recv(RECV)
            if data:
                return self.frames[i].feed(data)
            err = "the connection ended"
        except (OSError, ValueError, pickle.UnpicklingError, EOFError) as exc:
            err = str(exc)
        self._drop(i)
        raise gone(f"host {i} is gone before it answered ({err}); the request may have been applied")

    def _link(self, i: int) -> socket.socket | None:
        sock = self.socks[i]
        if sock is not None:
            # a host that died since the last request: its end of the connection is closed
            # (readable, EOF); anything else readable is a late reply, kept for _read to drop
            try:
                readable = select.select([sock], [], [], 0)[0]
                if readable:
                    data = sock.recv(RECV, socket.MSG_PEEK)
                    if not data:
                        self._drop(i)
                        sock = None
            except OSError:
                self._drop(i)
                sock = None
        if sock is None:
            path = self.paths[i]
            if path is None:
                return None
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.connect(path)
            except OSError:           # no socket (yet), a stale one, no permission: the old way
                sock.close()
                return None
            self.socks[i], self.frames[i] = sock, _frames()
        return sock

    def _drop(self, i: int) -> None:
        sock, self.socks[i] = self.socks[i], None
        if sock is not None:
            sock.close()

    def close(self) -> None:
        for i in range(len(self.socks)):
            self._drop(i)
