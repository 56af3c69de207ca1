"""Contenders without GoFlow: the limit (the workflow's HTTP calls made directly by one async client,
no engine, no persistence) and the peer (DBOS, the same three HTTP steps as a durable workflow on a
SQLite system database).

Every contender runs the same open workload: all ``instances`` workflows are submitted at once and
at most ``concurrency`` HTTP calls are in flight (a semaphore; GoFlow's ``CallPool`` bounds its steps
the same way). A workflow is ``steps`` POSTs of the SPEC §4 request document, one after the other,
each response's JSON added to the context the next request carries. End-to-end latency is measured
in the contender's process with ``time.perf_counter`` from the workflow's submission to its result.
"""
from __future__ import annotations

import asyncio
import json
import os
import time

from ._common import TIMEOUT, cpu_seconds, headers, percentile, request_body, step_names, write_progress

__all__ = ["run_limit", "run_dbos"]

WARMUP = 20


async def _workload(cfg: dict, call, prefix: str) -> dict:
    """Run ``cfg['instances']`` workflows of ``cfg['steps']`` calls through ``call(url, body, hdrs)``."""
    url, steps, n = cfg["url"], cfg["steps"], cfg["instances"]
    names = step_names(steps)
    sem = asyncio.Semaphore(cfg["concurrency"])
    latencies: list[float] = []
    completed = [0]

    async def workflow(i: int, record: bool) -> None:
        t = time.perf_counter()
        iid = f"{prefix}-{i}"
        inp = {"customer": i}
        ctx = dict(inp)
        for k, name in enumerate(names, 1):
            body = json.dumps(request_body(iid, name, k, inp, ctx), separators=(",", ":")).encode()
            async with sem:
                ctx[name] = await call(f"{url}/{name}", body, headers(iid, k))
        if record:
            latencies.append(time.perf_counter() - t)
            if all(isinstance(ctx.get(nm), dict) for nm in names):
                completed[0] += 1
            if completed[0] % 200 == 0:
                write_progress(cfg.get("progress"), completed[0])

    warm = min(WARMUP, n)
    await asyncio.gather(*(workflow(-1 - i, False) for i in range(warm)))
    t0 = time.perf_counter()
    await asyncio.gather(*(workflow(i, True) for i in range(n)))
    elapsed = time.perf_counter() - t0
    write_progress(cfg.get("progress"), completed[0])
    return {"completed": completed[0], "seconds": elapsed, "latencies": latencies,
            "calls_expected": (warm + n) * steps}


def _result(cfg: dict, out: dict, method: str) -> dict:
    lat = out.pop("latencies")
    secs = out["seconds"]
    done = out["completed"]
    return {**out, "workflows": done, "expected": cfg["instances"],
            "workflows_per_s": done / secs if secs else None,
            "steps_per_s": done * cfg["steps"] / secs if secs else None,
            "p50_ms": _ms(percentile(lat, 50)), "p99_ms": _ms(percentile(lat, 99)),
            "latency_method": method}


def _ms(v):
    return None if v is None else v * 1000.0


def run_limit(cfg: dict, client: str) -> dict:
    """``client``: ``"aiohttp"`` or ``"httpx-aiohttp"`` (httpx over the httpx-aiohttp transport)."""

    async def main() -> dict:
        c = cfg["concurrency"]
        if client == "aiohttp":
            import aiohttp
            async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=c),
                                             timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
                async def call(url, body, hdrs):
                    async with session.post(url, data=body, headers=hdrs) as r:
                        r.raise_for_status()
                        return await r.json()
                return await _workload(cfg, call, "limit")
        import httpx
        from httpx_aiohttp import AiohttpTransport
        limits = httpx.Limits(max_connections=c, max_keepalive_connections=c)
        async with httpx.AsyncClient(transport=AiohttpTransport(limits=limits), limits=limits,
                                     timeout=TIMEOUT) as hc:
            async def call(url, body, hdrs):
                r = await hc.post(url, content=body, headers=hdrs)
                r.raise_for_status()
                return r.json()
            return await _workload(cfg, call, "limit")

    cpu = cpu_seconds()
    res = _result(cfg, asyncio.run(main()), "perf_counter in the client: workflow submitted -> last "
                                                   "response read (all submitted at once)")
    res["cpu_seconds"] = {"client": round(cpu_seconds() - cpu, 3)}      # its 20 warm-up workflows too
    return res


def run_dbos(cfg: dict) -> dict:
    """DBOS (durable workflows, SQLite system database in the run's work dir): an async workflow of
    ``steps`` async ``@DBOS.step`` s, each one POST through one shared aiohttp session. At most
    ``concurrency`` workflows run at once (a semaphore around start + get_result): measured here,
    that gives DBOS on SQLite more workflows/s than letting every workflow run and bounding only the
    calls (63 vs 37 wf/s for 1,000 workflows at 200), as its system database is the bottleneck."""
    import aiohttp
    from dbos import DBOS

    db = os.path.join(cfg["workdir"], "dbos.sqlite")
    DBOS(config={"name": "goflow-bench", "system_database_url": f"sqlite:///{db}", "log_level": "WARNING"})
    state: dict = {}

    @DBOS.step()
    async def http_step(url: str, body: bytes, hdrs: dict) -> dict:
        async with state["session"].post(url, data=body, headers=hdrs) as r:
            r.raise_for_status()
            return await r.json()

    @DBOS.workflow()
    async def flow(iid: str, inp: dict) -> dict:
        ctx = dict(inp)
        for k, name in enumerate(step_names(cfg["steps"]), 1):
            body = json.dumps(request_body(iid, name, k, inp, ctx), separators=(",", ":")).encode()
            ctx[name] = await http_step(f"{cfg['url']}/{name}", body, headers(iid, k))
        return ctx

    async def main() -> dict:
        state["sem"] = asyncio.Semaphore(cfg["concurrency"])
        state["session"] = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=cfg["concurrency"]),
                                                 timeout=aiohttp.ClientTimeout(total=TIMEOUT))
        n, names = cfg["instances"], step_names(cfg["steps"])
        latencies: list[float] = []
        completed = [0]

        async def one(i: int, record: bool) -> None:
            t = time.perf_counter()
            async with state["sem"]:     # at most `concurrency` workflows (so calls) in flight
                handle = await DBOS.start_workflow_async(flow, f"dbos-{i}", {"customer": i})
                ctx = await handle.get_result()
            if record:
                latencies.append(time.perf_counter() - t)
                if all(isinstance(ctx.get(nm), dict) for nm in names):
                    completed[0] += 1
                if completed[0] % 100 == 0:
                    write_progress(cfg.get("progress"), completed[0])

        try:
            DBOS.launch()
            warm = min(WARMUP, n)
            await asyncio.gather(*(one(-1 - i, False) for i in range(warm)))
            t0 = time.perf_counter()
            await asyncio.gather(*(one(i, True) for i in range(n)))
            elapsed = time.perf_counter() - t0
        finally:
            await state["session"].close()
        write_progress(cfg.get("progress"), completed[0])
        return {"completed": completed[0], "seconds": elapsed, "latencies": latencies,
                "calls_expected": (warm + n) * cfg["steps"]}

    try:
        out = asyncio.run(main())
    finally:
        DBOS.destroy()
    import dbos as _dbos
    res = _result(cfg, out, "perf_counter in the client: workflow submitted -> get_result returned "
                            "(all submitted at once; includes the wait for a workflow slot)")
    res["version"] = getattr(_dbos, "__version__", None) or _version("dbos")
    return res


def _version(dist: str):
    try:
        from importlib.metadata import version
        return version(dist)
    except Exception:
        return None
