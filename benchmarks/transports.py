"""Worker-call throughput: httpx vs httpx-aiohttp vs aiohttp vs GoFlow's CallPool + perform_step.

    python -m benchmarks.transports [--count 2000] [--concurrency 50] [--rounds 3]

Starts a local aiohttp worker server in its own process on 127.0.0.1 (ephemeral port; it answers
every POST with a small JSON body), makes ``count`` POSTs of a SPEC §4 request document at the given
concurrency through each client, prints requests/s (best and median of ``rounds``), and kills the
server. Every run is bounded (a per-request timeout and a fixed count).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time

from ._server import WorkerServer

__all__ = ["main"]

REQUEST = {"instance": "bench-1", "project": "bench", "activity": "transports", "version": 1,
           "action": "call", "state": "calling", "step": 1, "attempt": 1,
           "input": {"customer": 42, "items": list(range(10))}, "context": {"customer": 42}}
HEADERS = {"Content-Type": "application/json", "Idempotency-Key": "bench-1:1"}
BODY = json.dumps(REQUEST).encode()
TIMEOUT = 10.0


# ----------------------------------------------------------------------------------------- clients
async def _fan_out(count: int, concurrency: int, one) -> float:
    """``count`` calls of ``one`` by ``concurrency`` consumer tasks (as CallPool runs them)."""
    async def run(n: int) -> None:
        left = [n]

        async def consumer():
            while left[0] > 0:
                left[0] -= 1
                await one()

        await asyncio.gather(*(consumer() for _ in range(concurrency)))

    await run(min(concurrency, 20))       # warm up: connections, imports
    t0 = time.perf_counter()
    await run(count)
    return count / (time.perf_counter() - t0)


async def bench_httpx(url: str, count: int, concurrency: int, aiohttp_transport: bool = False) -> float:
    import httpx
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    transport = None
    if aiohttp_transport:
        from httpx_aiohttp import AiohttpTransport
        transport = AiohttpTransport(limits=limits)
    async with httpx.AsyncClient(transport=transport, limits=limits, timeout=TIMEOUT) as client:
        async def one():
            r = await client.post(url, content=BODY, headers=HEADERS)
            r.raise_for_status()
            r.json()
        return await _fan_out(count, concurrency, one)


async def bench_aiohttp(url: str, count: int, concurrency: int) -> float:
    import aiohttp
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency),
                                     timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
        async def one():
            async with session.post(url, data=BODY, headers=HEADERS) as r:
                r.raise_for_status()
                await r.json()
        return await _fan_out(count, concurrency, one)


def _workers(url: str):
    from goflow.model import Worker
    return [Worker(name="call", endpoint=url, retry_count=0, response_timeout=TIMEOUT)]


async def bench_perform_step(url: str, count: int, concurrency: int) -> float:
    from goflow.calls import perform_step
    from goflow.transports import default_registry
    workers = _workers(url)
    try:
        async def one():
            result = await perform_step(dict(REQUEST), workers)
            assert result.event == "success", result
        return await _fan_out(count, concurrency, one)
    finally:
        await default_registry.aclose()


def bench_callpool(url: str, count: int, concurrency: int) -> float:
    from goflow.jobs import Job
    from goflow.steps import CallPool
    workers = tuple(_workers(url))
    with CallPool(concurrency=concurrency) as pool:
        def run(n: int) -> None:
            pool.submit(Job(REQUEST["instance"], i, "sync", REQUEST["action"], {**REQUEST, "step": i}, workers)
                        for i in range(n))
            got, deadline = 0, time.monotonic() + 120
            while got < n and time.monotonic() < deadline:
                for _, result in pool.wait(1.0):
                    assert result.event == "success", result
                    got += 1
            if got < n:
                raise RuntimeError(f"CallPool: only {got} of {n} results")
        run(min(concurrency, 20))
        t0 = time.perf_counter()
        run(count)
        return count / (time.perf_counter() - t0)


CLIENTS = {
    "httpx (default transport)": lambda u, n, c: asyncio.run(bench_httpx(u, n, c)),
    "httpx + httpx-aiohttp": lambda u, n, c: asyncio.run(bench_httpx(u, n, c, aiohttp_transport=True)),
    "aiohttp": lambda u, n, c: asyncio.run(bench_aiohttp(u, n, c)),
    "perform_step (HttpTransport)": lambda u, n, c: asyncio.run(bench_perform_step(u, n, c)),
    "CallPool + perform_step": bench_callpool,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.transports", description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=2000, help="requests per client and round")
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    with WorkerServer() as server:
        url = server.url + "/call"
        print(f"{args.count} POSTs per round, concurrency {args.concurrency}, {args.rounds} rounds, "
              f"server pid {server.pid} at {url}; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
        for name, bench in CLIENTS.items():
            rates = [bench(url, args.count, args.concurrency) for _ in range(args.rounds)]
            print(f"  {name:30s} best {max(rates):7.0f} req/s   median {statistics.median(rates):7.0f} req/s",
                  flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
