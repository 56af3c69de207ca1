"""gRPC against HTTP, in one run: the 3-step flow with gRPC workers against the raw gRPC limit, next to
the same flow with HTTP workers against the raw HTTP limit; then SendEvent events/s through the gRPC
API next to event posts through the HTTP API.

    python -m benchmarks.grpc_bench [--instances 2000] [--concurrency 200] [--shards 2] [--rounds 1]
        [--events 2000] [--event-concurrency 50] [--timeout S] [--only ROWS] [--base DIR] [--no-events]

Workflows: a gRPC worker server (:mod:`benchmarks._grpc_server`) and the HTTP one
(:mod:`benchmarks._server`), each its own process on 127.0.0.1. Contenders, each in its own process
(``benchmarks._run``, as ``benchmarks.throughput`` runs them; rounds interleaved): ``limit-grpc`` (one
grpc.aio channel making the calls), ``goflow-daemon-grpc`` (the daemon, ``grpc://`` workers),
``limit-aiohttp`` and ``goflow-daemon`` (HTTP). Every contender's calls are counted by its server.

Events: a daemon with ``waiting_flow``; for each API (batched, 2 ms window: the default) ``--events``
instances get one ``go`` event each from ``--event-concurrency`` concurrent clients with the token.

Bounded: fixed counts, per-call timeouts, 127.0.0.1 only; everything started is stopped.
"""
from __future__ import annotations

import argparse
import asyncio
import datetime as _dt
import json
import os
import signal
import sys
import tempfile
import time

from ._common import free_port, percentile, waiting_flow

__all__ = ["main"]

WORKFLOW_ROWS = (("limit-grpc", "grpc"), ("goflow-daemon-grpc", "grpc"), ("limit-aiohttp", "http"),
                 ("goflow-daemon", "http"))


def _workflows(args) -> list[dict]:
    from tqdm import tqdm

    from . import throughput
    from ._grpc_server import GrpcWorkerServer
    from ._server import WorkerServer

    targs = throughput.parse(["--instances", str(args.instances), "--concurrency", str(args.concurrency),
                              "--steps", "3", "--shards", str(args.shards), "--timeout", str(args.timeout),
                              "--no-dbos"])
    servers = {"grpc": GrpcWorkerServer().start(), "http": WorkerServer().start()}
    results = []
    rows = [r for r in WORKFLOW_ROWS if not args.only or r[0] in args.only.split(",")]
    if args.base:                     # the same GoFlow contender from another checkout, right after it
        at = next((i for i, r in enumerate(rows) if r[0] == "goflow-daemon-grpc"), len(rows) - 1)
        rows.insert(at + 1, ("goflow-daemon-grpc@base", "grpc"))
    try:
        plan = [c for _ in range(args.rounds) for c in rows]
        with tqdm(total=len(plan) * args.instances, unit="wf", file=sys.stderr, dynamic_ncols=True,
                  mininterval=10.0) as bar:
            base = 0
            for contender, kind in plan:
                bar.set_description(contender)
                srv = servers[kind]
                if contender.endswith("@base"):
                    res = _run_base(args.base, contender, targs, srv, bar, base)
                else:
                    res = throughput._run_one("http", contender, targs, srv.url, srv, bar, base)
                results.append(res)
                base += args.instances
                bar.write(f"{contender}: {'ok' if res.get('ok') else 'FAILED: ' + str(res.get('error'))}")
    finally:
        for srv in servers.values():
            srv.stop()
    return throughput.merge_rounds(results) if args.rounds > 1 else results


def _run_base(base_dir: str, contender: str, targs, srv, bar, done: int) -> dict:
    """``contender`` (``<name>@base``) run from the checkout ``base_dir``
    (:func:`benchmarks.throughput.run_base`)."""
    from . import throughput
    return throughput.run_base(base_dir, "http", contender, targs, srv.url, srv, bar, done)


# ------------------------------------------------------------------------------------------ events
async def _grpc_sends(target: str, token: str, ids: list[str], concurrency: int):
    import grpc

    from goflow.proto import engine_pb2, engine_pb2_grpc
    latencies, errors, queue = [], 0, list(reversed(ids))
    async with grpc.aio.insecure_channel(target) as channel:
        stub = engine_pb2_grpc.EngineStub(channel)
        meta = (("authorization", f"Bearer {token}"),)

        async def worker():
            nonlocal errors
            while queue:
                iid = queue.pop()
                t0 = time.perf_counter()
                try:
                    await stub.SendEvent(engine_pb2.SendEventRequest(instance_id=iid, event="go"), metadata=meta,
                                         timeout=30)
                except grpc.aio.AioRpcError:
                    errors += 1
                latencies.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0, latencies, errors


def _stop_pid(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    for _ in range(200):
        try:
            os.waitpid(pid, os.WNOHANG)
            os.kill(pid, 0)
        except (ChildProcessError, ProcessLookupError):
            return
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


def _events(args) -> list[dict]:
    from actors import grpc_server, http_api
    from actors.daemon import start_daemon, stop
    from goflow.auth import read_token

    from .http_api import _post_all
    rows = []
    with tempfile.TemporaryDirectory(prefix="goflow-bench-grpc-") as tmp:
        data, port = os.path.join(tmp, "data"), free_port()
        eng = start_daemon(data, port=port, shards=args.shards, blueprints=[waiting_flow()],
                           log_path=os.path.join(tmp, "daemon.log"))
        try:
            for _ in range(args.rounds):
                for api in ("grpc-api", "http-api"):
                    ids = eng.start_many("bench/idle", [{}] * args.events)
                    api_port = free_port()
                    spawn = grpc_server.spawn if api == "grpc-api" else http_api.spawn
                    pid = spawn(port, api_port, "127.0.0.1", data_dir=data, log_path=os.path.join(tmp, f"{api}.log"),
                                event_bytes=65536)
                    try:
                        token = read_token(data)
                        if api == "grpc-api":
                            wall, lat, errors = asyncio.run(_grpc_sends(f"127.0.0.1:{api_port}", token, ids,
                                                                        args.event_concurrency))
                        else:
                            wall, lat, errors = asyncio.run(_post_all(f"http://127.0.0.1:{api_port}", token, ids,
                                                                      args.event_concurrency))
                    finally:
                        _stop_pid(pid)
                    rows.append({"api": api, "events": args.events, "events_per_s": args.events / wall,
                                 "p50_ms": percentile(lat, 50) * 1000, "p99_ms": percentile(lat, 99) * 1000,
                                 "errors": errors})
                    print(f"{api:9} {rows[-1]['events_per_s']:8.0f} events/s  p50 {rows[-1]['p50_ms']:6.1f} ms  "
                          f"p99 {rows[-1]['p99_ms']:6.1f} ms  errors {errors}", file=sys.stderr, flush=True)
        finally:
            eng.close()
            stop(data, port)
    return rows


def render(doc: dict) -> str:
    lines = [f"{'contender':22} {'workflows/s':>12} {'steps/s':>9} {'p50 ms':>8} {'p99 ms':>8}  vs its limit"]
    by = {r["contender"]: r for r in doc["workflows"]}
    for r in doc["workflows"]:
        limit = by.get("limit-grpc" if "grpc" in r["contender"] else "limit-aiohttp")
        if not r.get("ok"):
            lines.append(f"{r['contender']:22} FAILED: {r.get('error')}")
            continue
        ratio = (r["workflows_per_s"] / limit["workflows_per_s"]) if limit and limit.get("ok") else None
        lines.append(f"{r['contender']:22} {r['workflows_per_s']:12.0f} {r['steps_per_s']:9.0f} "
                     f"{r['p50_ms']:8.1f} {r['p99_ms']:8.1f}  {'' if ratio is None else f'{ratio:.2f}x'}")
    lines.append("")
    lines.append(f"{'events API':22} {'events/s':>12} {'p50 ms':>9} {'p99 ms':>8}")
    for r in doc["events"]:
        errors = f"  errors {r['errors']}" if r["errors"] else ""
        lines.append(f"{r['api']:22} {r['events_per_s']:12.0f} {r['p50_ms']:9.1f} {r['p99_ms']:8.1f}{errors}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.grpc_bench", description=__doc__.split("\n")[0])
    p.add_argument("--instances", type=int, default=2000, help="workflows per contender")
    p.add_argument("--concurrency", type=int, default=200, help="worker calls in flight at most")
    p.add_argument("--shards", type=int, default=2)
    p.add_argument("--rounds", type=int, default=1, help="interleaved rounds; each row is its median round")
    p.add_argument("--events", type=int, default=2000, help="events per API")
    p.add_argument("--event-concurrency", type=int, default=50)
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per contender")
    p.add_argument("--results-dir", default=os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                                         "benchmarks", "results"))
    p.add_argument("--only", default="", metavar="NAMES",
                   help="comma-separated workflow rows to run (default: all): " + ",".join(r[0] for r in WORKFLOW_ROWS))
    p.add_argument("--base", default="", metavar="DIR",
                   help="also run goflow-daemon-grpc from the checkout DIR (row goflow-daemon-grpc@base), "
                        "after it in each round: a change and the code before it, in one run")
    p.add_argument("--no-events", action="store_true", help="skip the events rows")
    args = p.parse_args(argv)
    if args.base:
        args.base = os.path.abspath(args.base)
    started = _dt.datetime.now()
    doc = {"started": started.isoformat(timespec="seconds"),
           "command": "python -m benchmarks.grpc_bench " + " ".join(sys.argv[1:] if argv is None else argv),
           "machine": {"cpus": os.cpu_count()}, "config": vars(args)}
    doc["workflows"] = _workflows(args)
    doc["events"] = [] if args.no_events else _events(args)
    os.makedirs(args.results_dir, exist_ok=True)
    path = os.path.join(args.results_dir, "grpc-" + started.strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, default=str)
    print(render(doc))
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
