"""Event posts through the HTTP API: one ``send_many`` round trip per event vs batched.

    python -m benchmarks.http_api [--events 2000] [--concurrency 50] [--rounds 2]

Starts a daemon (2 shards) on a free 127.0.0.1 port and a temporary data directory, deploys
``waiting_flow`` (``init -start-> waiting -go-> done``), starts ``--events`` instances per mode and
round, and for each mode starts the API server (a process of its own, as ``goflow daemon start``
does) on a free 127.0.0.1 port and POSTs one ``go`` event per instance to
``/instances/{id}/events`` from ``--concurrency`` concurrent aiohttp clients, with the daemon's token.
Prints events/s, the p50/p99 latency of a post, and the batches the server made (its ``/health``). Modes:

* ``unbatched``: ``--max-batch 1``, one engine round trip per event;
* ``batched-0ms``: no window; the posts that queue while the engine thread is busy form the batch;
* ``batched-2ms``: the default, a batch stays open 2 ms after its first event;
* ``batched-2ms-ids``: the same, each event with an ``event_id`` (the lifetime de-duplication: one
  store lookup per batch, one row per id; compare with ``batched-2ms``).

Bounded: a fixed count, a per-request timeout, 127.0.0.1 only; everything is stopped at the end.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import signal
import statistics
import sys
import tempfile
import time

import aiohttp

from ._common import free_port, percentile, waiting_flow

__all__ = ["main"]

MODES = {"unbatched": (0.0, 1, False), "batched-0ms": (0.0, 1000, False), "batched-2ms": (2.0, 1000, False),
         "batched-2ms-ids": (2.0, 1000, True)}


async def _post_all(url: str, token: str, ids: list[str], concurrency: int,
                    event_ids: bool = False) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    errors = 0
    queue = list(reversed(ids))
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(timeout=timeout, connector=aiohttp.TCPConnector(limit=concurrency),
                                     headers={"Authorization": f"Bearer {token}"}) as s:
        async def worker():
            nonlocal errors
            while queue:
                iid = queue.pop()
                t0 = time.perf_counter()
                body = {"event": "go", "event_id": f"go-{iid}"} if event_ids else {"event": "go"}
                async with s.post(f"{url}/instances/{iid}/events", json=body) as r:
                    await r.read()
                    if r.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - t0, latencies, errors


async def _health(url: str) -> dict:
    async with aiohttp.ClientSession() as s, s.get(f"{url}/health") as r:
        return await r.json()


def main(argv=None) -> int:
    from actors.daemon import start_daemon, stop
    from actors.http_api import spawn
    from goflow.auth import read_token
    p = argparse.ArgumentParser(prog="python -m benchmarks.http_api")
    p.add_argument("--events", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=50)
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args(argv)
    rows: dict[str, list[dict]] = {m: [] for m in MODES}
    with tempfile.TemporaryDirectory(prefix="goflow-bench-api-") as tmp:
        data, port = os.path.join(tmp, "data"), free_port()
        eng = start_daemon(data, port=port, shards=2, blueprints=[waiting_flow()],
                           log_path=os.path.join(tmp, "daemon.log"))
        try:
            for rnd in range(args.rounds):
                for mode, (window_ms, max_batch, event_ids) in MODES.items():
                    ids = eng.start_many("bench/idle", [{}] * args.events)
                    api_port = free_port()
                    pid = spawn(port, api_port, "127.0.0.1", data_dir=data, log_path=os.path.join(tmp, "api.log"),
                                event_bytes=65536, window_ms=window_ms, max_batch=max_batch)
                    url = f"http://127.0.0.1:{api_port}"
                    try:
                        wall, lat, errors = asyncio.run(_post_all(url, read_token(data), ids, args.concurrency, event_ids))
                        stats = asyncio.run(_health(url))["batching"]
                    finally:
                        os.kill(pid, signal.SIGTERM)
                        for _ in range(100):
                            try:
                                os.waitpid(pid, os.WNOHANG)
                                os.kill(pid, 0)
                            except (ChildProcessError, ProcessLookupError):
                                break
                            time.sleep(0.05)
                    row = {"events_per_s": args.events / wall, "p50_ms": percentile(lat, 50) * 1000,
                           "p99_ms": percentile(lat, 99) * 1000, "errors": errors,
                           "mean_batch": stats["events"] / max(1, stats["batches"]), "largest": stats["largest"]}
                    rows[mode].append(row)
                    print(f"round {rnd + 1} {mode:15} {row['events_per_s']:8.0f} events/s  p50 "
                          f"{row['p50_ms']:6.1f} ms  p99 {row['p99_ms']:6.1f} ms  mean batch "
                          f"{row['mean_batch']:5.1f}  largest {row['largest']}  errors {errors}", flush=True)
            done = eng.counts("bench/idle")
        finally:
            eng.close()
            stop(data, port)
    print(f"\n{args.events} events per mode, {args.concurrency} concurrent clients, median of {args.rounds} "
          f"round(s); instances by status: {dict((k[3], v) for k, v in done.items())}")
    for mode, rs in rows.items():
        print(f"{mode:15} {statistics.median(r['events_per_s'] for r in rs):8.0f} events/s  "
              f"p50 {statistics.median(r['p50_ms'] for r in rs):6.1f} ms  "
              f"p99 {statistics.median(r['p99_ms'] for r in rs):6.1f} ms  "
              f"mean batch {statistics.median(r['mean_batch'] for r in rs):5.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
