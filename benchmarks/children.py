"""Fan-out through child workflows (SPEC §8) against the same work as top-level instances, in one run.

    python -m benchmarks.children [--parents 10] [--children 1000] [--shards 2] [--concurrency 200]
        [--embedded] [--timeout S] [--json PATH]

Both rows run the same one-step child flow against the same HTTP worker server (``benchmarks._server``:
a minimal aiohttp app in its own process on 127.0.0.1), each on a fresh daemon (``--embedded``: an
embedded engine) with the durable SQLite store:

* ``fan-out``: ``--parents`` parents, each with a ``forEach`` workflow action over ``--children`` items
  -- the children are created by the hosts, routed by their own ids, and joined by their parents;
* ``top-level``: the same number of children started by the client as ordinary instances
  (``start_many``, 1,000 per call) and waited for (``wait_all``).

Children completed per second is the number of children that completed divided by the wall time from
the first start to the last parent (or instance) seen ended. The worker server's count checks that
every child made its call. Prints a table; ``--json`` writes the rows.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time

from ._common import free_port
from ._server import WorkerServer

__all__ = ["child_flow", "parent_flow", "run", "main"]

CHUNK = 1000


def child_flow(url: str) -> dict:
    """One worker step (``work``), then done."""
    return {"project": "bench", "activity": "child", "states": ["work"],
            "actions": [{"name": "work", "type": "sync"}],
            "transitions": [{"current": "init", "event": "start", "action": "work", "next": "work"},
                            {"current": "work", "event": "success", "action": "continue", "next": "done"}],
            "workers": [{"name": "work", "workerEndpoint": f"{url}/work", "retryCount": 2,
                         "responseTimeout": 30, "priority": 1}]}


def parent_flow() -> dict:
    """One child of ``bench/child`` per item of ``xs``, joined, then done."""
    return {"project": "bench", "activity": "parent", "states": ["fan"],
            "actions": [{"name": "fan", "type": "workflow", "blueprint": "bench/child", "forEach": "xs"}],
            "transitions": [{"current": "init", "event": "start", "action": "fan", "next": "fan"},
                            {"current": "fan", "event": "success", "action": "continue", "next": "done"}]}


def _engine(workdir: str, bps, args):
    from actors.api import Engine
    from actors.daemon import start_daemon
    data = os.path.join(workdir, "data")
    if args.embedded:
        return Engine.embedded(data, blueprints=bps, shards=1, concurrency=args.concurrency, timeout=args.timeout)
    return start_daemon(data, port=free_port(), shards=args.shards, blueprints=bps,
                        concurrency=max(1, args.concurrency // args.shards), timeout=args.timeout,
                        log_path=os.path.join(workdir, "daemon.log"))


def _row(name: str, kids: int, done: int, seconds: float, calls: int) -> dict:
    return {"scenario": name, "children": kids, "completed": done, "seconds": round(seconds, 3),
            "children_per_s": round(done / seconds, 1) if seconds else None, "worker_calls": calls}


def run(parents: int, children: int, args) -> list[dict]:
    """Both scenarios, fan-out first; a row each."""
    rows = []
    kids = parents * children
    with WorkerServer() as server:
        for name in ("fan-out", "top-level"):
            workdir = tempfile.mkdtemp(prefix=f"goflow-bench-children-{name}-")
            before = server.count()
            eng = _engine(workdir, [child_flow(server.url), parent_flow()], args)
            try:
                t0 = time.perf_counter()
                if name == "fan-out":
                    ids = eng.start_many("bench/parent", [{"xs": list(range(children))}] * parents,
                                         ids=[f"p{i}" for i in range(parents)])
                    views = eng.wait_all(ids, timeout=args.timeout)
                    elapsed = time.perf_counter() - t0
                    done = sum(len(v["context"].get("fan") or []) for v in views if v["status"] == "completed")
                else:
                    ids = []
                    for i in range(0, kids, CHUNK):
                        n = min(CHUNK, kids - i)
                        ids += eng.start_many("bench/child", [{"item": j} for j in range(i, i + n)],
                                              ids=[f"c{j}" for j in range(i, i + n)])
                    views = []
                    for i in range(0, kids, CHUNK):
                        views += eng.wait_all(ids[i:i + CHUNK], timeout=args.timeout)
                    elapsed = time.perf_counter() - t0
                    done = sum(1 for v in views if v["status"] == "completed")
            finally:
                eng.shutdown()
                shutil.rmtree(workdir, ignore_errors=True)
            rows.append(_row(name, kids, done, elapsed, server.count() - before))
    return rows


def render(rows: list[dict], args) -> str:
    mode = "embedded (1 shard)" if args.embedded else f"daemon ({args.shards} hosts)"
    out = [f"child workflows: {args.parents} parents x {args.children} children through HTTP workers, {mode}, "
           f"concurrency {args.concurrency}",
           f"{'scenario':12} {'children':>9} {'completed':>10} {'seconds':>9} {'children/s':>11} {'calls':>7}"]
    for r in rows:
        out.append(f"{r['scenario']:12} {r['children']:>9} {r['completed']:>10} {r['seconds']:>9.2f} "
                   f"{r['children_per_s'] or 0:>11.1f} {r['worker_calls']:>7}")
    if len(rows) == 2 and rows[1]["children_per_s"]:
        out.append(f"fan-out / top-level: {rows[0]['children_per_s'] / rows[1]['children_per_s']:.2f}x")
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.children", description=__doc__.split("\n\n")[0])
    p.add_argument("--parents", type=int, default=10)
    p.add_argument("--children", type=int, default=1000, help="children per parent (at most limits.children)")
    p.add_argument("--shards", type=int, default=2)
    p.add_argument("--concurrency", type=int, default=200, help="worker calls in flight at most, in all")
    p.add_argument("--embedded", action="store_true", help="an embedded engine instead of a daemon")
    p.add_argument("--timeout", type=float, default=600.0)
    p.add_argument("--json", default=None, help="write the rows here")
    args = p.parse_args(argv)
    rows = run(args.parents, args.children, args)
    print(render(rows, args))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"args": vars(args), "rows": rows, "python": sys.version.split()[0]}, f, indent=1)
    return 0 if all(r["completed"] == r["children"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
