"""Where one event's acknowledgement goes, hop by hop (issue 16: ack one at a time p50 < 1 ms).

    python -m benchmarks.ack_breakdown [--n 1000] [--shards 2]

Each row is N requests one at a time, p50/p99 in ms, and the CPU of the client per request:

* ``raw unix round trip`` / ``raw tcp round trip``: a small pickled frame to an echo process and back
  (the floor of any request/reply between two Python processes on this machine);
* ``Shard.handle (in-process)``: one ``go`` applied and committed by a :class:`goflow.shard.Shard` on
  a SQLite store, no actor, no process hop (what a host does per event);
* ``status via dispatcher``: ``engine.status`` on a daemon with the direct path off: client ->
  dispatcher -> host -> client, three Thespian TCP hops, no commit;
* ``send via dispatcher``: ``engine.send`` with the direct path off: the same three hops and a commit;
* ``status direct`` / ``send direct``: the same on the direct path (actors/direct.py): one round
  trip to the host's Unix socket (and a commit for the send).

The daemon rows also give each daemon process's CPU per request (/proc ticks of 10 ms).
"""
from __future__ import annotations

import argparse
import os
import pickle
import socket
import struct
import sys
import tempfile
import time

from ._common import cpu_seconds, free_port, percentile, waiting_flow

HEADER = struct.Struct("!I")
FRAME = pickle.dumps(("k0001", "go", None, 7), pickle.HIGHEST_PROTOCOL)


def _echo(listener: socket.socket) -> None:
    conn, _ = listener.accept()
    while True:
        head = conn.recv(HEADER.size)
        if not head:
            return
        (size,) = HEADER.unpack(head)
        body = b""
        while len(body) < size:
            body += conn.recv(size - len(body))
        pickle.loads(body)
        conn.sendall(head + body)


def _raw(kind: str, n: int, tmp: str) -> list[float]:
    """Round trips of FRAME to a forked echo process over a Unix or a loopback TCP socket."""
    if kind == "unix":
        lst, addr = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM), os.path.join(tmp, "echo.sock")
    else:
        lst, addr = socket.socket(socket.AF_INET, socket.SOCK_STREAM), ("127.0.0.1", free_port())
    lst.bind(addr)
    lst.listen(1)
    pid = os.fork()
    if pid == 0:                          # the echo process
        try:
            _echo(lst)
        finally:
            os._exit(0)
    lst.close()
    cli = socket.socket(lst.family, socket.SOCK_STREAM)
    cli.connect(addr)
    if kind == "tcp":
        cli.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    out = []
    msg = HEADER.pack(len(FRAME)) + FRAME
    try:
        for _ in range(n):
            t = time.perf_counter()
            cli.sendall(msg)
            got = b""
            while len(got) < len(msg):
                got += cli.recv(65536)
            pickle.loads(got[HEADER.size:])
            out.append(time.perf_counter() - t)
    finally:
        cli.close()
        os.waitpid(pid, 0)
    return out


def _shard(n: int, tmp: str) -> tuple[list[float], float]:
    """One ``go`` at a time through a Shard on a SQLite store (create first, then the events)."""
    from goflow.loading import blueprint_from_document
    from goflow.fsm import Signal
    from goflow.requests import Create, Item
    from goflow.shard import Shard
    from goflow.store import open_shard
    store = open_shard(os.path.join(tmp, "shard"), 0)
    bp = blueprint_from_document(waiting_flow())
    shard = Shard(store, [bp])
    try:
        ids = [f"s{i:05d}" for i in range(n)]
        shard.handle([Item(i, Create(bp.project, bp.activity, {}, None), k) for k, i in enumerate(ids)], time.time())
        out = []
        c0 = time.process_time()
        for iid in ids:
            t = time.perf_counter()
            fx = shard.handle([Item(iid, Signal("go", None, None), 0)], time.time())
            out.append(time.perf_counter() - t)
            assert fx.replies and fx.replies[0].ok, fx.replies
        return out, (time.process_time() - c0) * 1e3 / n
    finally:
        store.close()


def _timed(fn, ids) -> tuple[list[float], float]:
    out = []
    c0 = time.process_time()
    for iid in ids:
        t = time.perf_counter()
        fn(iid)
        out.append(time.perf_counter() - t)
    return out, time.process_time() - c0


def _daemon(n: int, shards: int, tmp: str, pids: dict) -> list[tuple]:
    from actors.daemon import start_daemon
    eng = start_daemon(os.path.join(tmp, "d"), port=free_port(), shards=shards, blueprints=[waiting_flow()],
                       log_path=os.path.join(tmp, "daemon.log"), timeout=60.0)
    rows = []
    try:
        pids.update({k: int(v) for k, v in eng.pids().items()})
        ids = eng.start_many("bench/idle", [{}] * (2 * n))
        links = eng._links

        def phase(name, fn, these):
            before = {k: cpu_seconds(p) for k, p in pids.items()}
            lat, client = _timed(fn, these)
            spent = {k: cpu_seconds(p) - before[k] for k, p in pids.items()}
            per = {k: v * 1e3 / len(these) for k, v in spent.items() if v > 0}
            rows.append((name, lat, client * 1e3 / len(these), per))

        eng._links = None                                  # the dispatcher path
        phase("status via dispatcher", eng.status, ids[:n])
        phase("send via dispatcher", lambda i: eng.send(i, "go"), ids[:n])
        eng._links = links
        phase("status direct", eng.status, ids[n:])
        phase("send direct", lambda i: eng.send(i, "go"), ids[n:])
    finally:
        eng.shutdown()
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.ack_breakdown", description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000, help="requests per row")
    p.add_argument("--shards", type=int, default=2)
    args = p.parse_args(argv)
    print(f"load average {os.getloadavg()[0]:.2f}; {args.n:,} requests per row, one at a time")
    print(f"{'row':<28} {'p50 ms':>8} {'p99 ms':>8} {'client CPU ms':>14}  daemon CPU ms per request")
    pids: dict = {}
    with tempfile.TemporaryDirectory(prefix="goflow-ack-") as tmp:
        rows = [(f"raw {k} round trip", *_cpu(lambda k=k: _raw(k, args.n, tmp))) for k in ("unix", "tcp")]
        rows.append(("Shard.handle (in-process)", *_shard(args.n, tmp)))
        rows += _daemon(args.n, args.shards, tmp, pids)
    for name, lat, client, *per in rows:
        daemon = ", ".join(f"{k} {v:.2f}" for k, v in sorted(per[0].items())) if per else ""
        print(f"{name:<28} {percentile(lat, 50) * 1e3:8.3f} {percentile(lat, 99) * 1e3:8.3f} {client:14.3f}  {daemon}")
    print("daemon pids (stopped):", " ".join(str(p) for p in sorted(set(pids.values()))))
    return 0


def _cpu(fn) -> tuple[list[float], float]:
    c0 = time.process_time()
    lat = fn()
    return lat, (time.process_time() - c0) * 1e3 / len(lat)


if __name__ == "__main__":
    sys.exit(main())
