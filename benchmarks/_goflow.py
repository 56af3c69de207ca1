"""GoFlow contenders: the HTTP flow embedded and on the daemon, the engine-only ceiling, idle memory,
recovery time and event latency. Durable store on everywhere (SQLite, WAL, ``synchronous=normal``,
the engine's default; or PostgreSQL with ``synchronous_commit=on`` for the ``-pg`` contenders).

Instances are started with ``Engine.start_many`` (1,000 ids per call at most) and waited for with
``Engine.wait_all``; ``wait_all`` returns each instance's status view, whose ``created`` and
``updated`` (host clock, ``time.time``: when the host applied the create, and when it committed the
transition into ``done``) give the per-instance end-to-end latency. Throughput is the harness's wall
time (``perf_counter``) from the first ``start_many`` to the last ``wait_all`` reply.
"""
from __future__ import annotations

import json
import math
import os
import time

from ._common import (continue_flow, cpu_seconds, free_port, http_flow, mem_sum, percentile, reap,
                      step_names, waiting_flow, write_progress)

__all__ = ["run_http", "run_engine_only", "run_idle", "run_recovery", "run_latency"]

CHUNK = 1000
WARMUP = 20


class _Daemon:
    """A daemon on a free loopback port; its pids written to ``cfg['pids']`` as soon as known (so the
    harness can reap them whatever happens to this process); shut down and checked gone on exit."""

    def __init__(self, cfg: dict, data_dir: str, blueprints, concurrency: int | None = None):
        from actors.daemon import start_daemon
        self.cfg, self.port = cfg, free_port()
        t = time.perf_counter()
        self.engine = start_daemon(data_dir, port=self.port, shards=cfg["shards"],
                                   concurrency=concurrency or cfg["concurrency"], blueprints=blueprints,
                                   log_path=os.path.join(cfg["workdir"], "daemon.log"),
                                   metrics_enabled=cfg.get("metrics", True),
                                   timeout=max(60.0, cfg.get("boot_timeout", 60.0)),
                                   store_url=cfg.get("store_url") or "",
                                   passivate_after=cfg.get("passivate_after"), cache_size=cfg.get("cache_size"))
        self.boot_seconds = time.perf_counter() - t
        self.names = {name: int(pid) for name, pid in self.engine.pids().items()}
        self.pids = sorted(set(self.names.values()))
        known = []
        if cfg.get("pids") and os.path.exists(cfg["pids"]):
            with open(cfg["pids"]) as f:
                known = json.load(f)
        if cfg.get("pids"):
            with open(cfg["pids"], "w") as f:
                json.dump(sorted(set(known + self.pids)), f)
        self.peak = 0

    def mem(self) -> dict:
        m = mem_sum(self.pids)
        self.peak = max(self.peak, m["hwm"])
        return m

    def cpu(self) -> dict:
        """CPU seconds used so far by each daemon process, by its name (host-0, proxy-0, ...)."""
        return {name: cpu_seconds(pid) for name, pid in sorted(self.names.items())}

    def stop(self) -> dict:
        self.mem()
        try:
            self.engine.shutdown()
        except Exception:   # a daemon that will not shut down cleanly is reaped below
            pass
        return reap(self.pids, wait=15.0)


def _start_all(engine, blueprint: str, n: int, prefix: str, progress=None) -> tuple[list, list]:
    ids, acks = [], []
    for i in range(0, n, CHUNK):
        chunk = [f"{prefix}-{j}" for j in range(i, min(n, i + CHUNK))]
        t = time.perf_counter()
        engine.start_many(blueprint, [{"customer": j} for j in range(i, i + len(chunk))], ids=chunk)
        acks.append(time.perf_counter() - t)
        ids.extend(chunk)
        if progress:
            progress(len(ids))
    return ids, acks


def _wait_all(engine, ids: list, timeout: float, progress=None) -> list:
    views = []
    for i in range(0, len(ids), CHUNK):
        views.extend(engine.wait_all(ids[i:i + CHUNK], timeout=timeout))
        if progress:
            progress(len(views))
    return views


def _ms(v):
    return None if v is None else v * 1000.0



def _call_processes(engine) -> dict:
    """An embedded engine's call processes by name (``calls-0``; workers.call_process)."""
    return {name: int(pid) for name, pid in engine.pids().items() if name.startswith("calls-")}


class _Cpu:
    """CPU seconds per process over a measured phase: this (the client's, or embedded the whole
    engine's) process as ``client``, and each daemon process by name."""

    def __init__(self, daemon=None, engine=None):
        self.daemon = daemon
        # embedded: the engine's call process (``calls-0``), a child of this process
        self.children = {} if engine is None or daemon is not None else _call_processes(engine)
        self.before = self._now()

    def _now(self) -> dict:
        out = {"client": cpu_seconds()}
        if self.daemon is not None:
            out.update(self.daemon.cpu())
        out.update({name: cpu_seconds(pid) for name, pid in self.children.items()})
        return out

    def spent(self) -> dict:
        after = self._now()
        return {k: round(after[k] - self.before.get(k, 0.0), 3) for k in after}

def _http_once(cfg: dict, engine, daemon=None) -> dict:
    n, steps, names = cfg["instances"], cfg["steps"], step_names(cfg["steps"])
    warm = min(WARMUP, n)
    _wait_all(engine, _start_all(engine, "bench/inquiry", warm, "warm")[0], cfg["timeout"])
    cpu = _Cpu(daemon, engine)
    t0 = time.perf_counter()
    ids, _ = _start_all(engine, "bench/inquiry", n, "wf")
    views = _wait_all(engine, ids, cfg["timeout"], lambda d: write_progress(cfg.get("progress"), d))
    elapsed = time.perf_counter() - t0
    spent = cpu.spent()
    ok = [v for v in views if v["status"] == "completed"
          and all(isinstance((v.get("context") or {}).get(nm), dict) for nm in names)]
    lat = [v["updated"] - v["created"] for v in ok]
    bad = [v for v in views if v not in ok][:3]
    return {"workflows": len(ok), "expected": n, "seconds": elapsed,
            "workflows_per_s": len(ok) / elapsed, "steps_per_s": len(ok) * steps / elapsed,
            "p50_ms": _ms(percentile(lat, 50)), "p99_ms": _ms(percentile(lat, 99)), "cpu_seconds": spent,
            "latency_method": "status 'updated' - 'created' of each instance (host clock; from the "
                              "host applying the create to the commit into done)",
            "calls_expected": (warm + n) * steps,
            "not_completed": [{k: v.get(k) for k in ("id", "status", "state", "reason")} for v in bad]}


def run_http(cfg: dict, mode: str) -> dict:
    """The 3-step HTTP flow, ``mode`` ``"embedded"`` (one process, 1 shard) or ``"daemon"``
    (``shards`` hosts; each worker proxy gets ``ceil(concurrency / shards)`` call slots so the
    daemon has ``concurrency`` calls in flight at most, like every other contender)."""
    bp = http_flow(cfg["url"], cfg["steps"])
    data = os.path.join(cfg["workdir"], "data")
    if mode == "embedded":
        from actors.api import Engine
        engine = Engine.embedded(data, blueprints=[bp], shards=1, concurrency=cfg["concurrency"],
                                 timeout=cfg["timeout"], store_url=cfg.get("store_url") or "")
        try:
            res = _http_once(cfg, engine)
            # the engine's call process (workers.call_process) counts in the row's peak RSS
            res["children_peak_bytes"] = mem_sum(_call_processes(engine).values())["hwm"]
        finally:
            engine.shutdown()
        return res
    d = _Daemon(cfg, data, [bp], concurrency=math.ceil(cfg["concurrency"] / cfg["shards"]))
    try:
        res = _http_once(cfg, d.engine, d)
        res["daemon_rss_bytes"] = d.mem()["rss"]
    finally:
        res_stop = d.stop()
    res.update(daemon_peak_bytes=d.peak, daemon_pids=d.pids, reaped=res_stop, shards=cfg["shards"])
    return res


def run_engine_only(cfg: dict, mode: str) -> dict:
    """Continue-only instances (``steps + 1`` transitions each, no worker call), durable, started as a
    user starts many: ONE ``start_many`` call for all of them, which returns once every instance's
    transitions are committed (they reach ``done`` inside their batch). The Engine sends them in
    batches of ``client.batch_items``, ``client.batches_in_flight`` at once; no per-batch latency."""
    n, steps = cfg["engine_instances"], cfg["steps"]
    bp = continue_flow(steps)
    data = os.path.join(cfg["workdir"], "data")
    d = None
    if mode == "embedded":
        from actors.api import Engine
        engine = Engine.embedded(data, blueprints=[bp], shards=1, timeout=cfg["timeout"],
                                 store_url=cfg.get("store_url") or "")
    else:
        d = _Daemon(cfg, data, [bp])
        engine = d.engine
    try:
        _start_all(engine, "bench/chain", min(WARMUP * 10, n), "warm")
        cpu = _Cpu(d)
        t0 = time.perf_counter()
        ids = [f"c-{j}" for j in range(n)]
        engine.start_many("bench/chain", [{"customer": j} for j in range(n)], ids=ids)
        elapsed = time.perf_counter() - t0
        write_progress(cfg.get("progress"), n)
        spent = cpu.spent()
        views = _wait_all(engine, ids, cfg["timeout"])
        done = sum(1 for v in views if v["status"] == "completed")
        res = {"workflows": done, "expected": n, "seconds": elapsed, "workflows_per_s": done / elapsed,
               "transitions": done * (steps + 1), "transitions_per_s": done * (steps + 1) / elapsed,
               "p50_ms": None, "p99_ms": None, "cpu_seconds": spent,
               "latency_method": "none: one start_many call of every instance (its batches pipelined)"}
        if d is not None:
            res["daemon_rss_bytes"] = d.mem()["rss"]
    finally:
        if d is not None:
            res_stop = d.stop()
        else:
            engine.shutdown()
    if d is not None:
        res.update(daemon_peak_bytes=d.peak, daemon_pids=d.pids, reaped=res_stop)
    return res


def _waiting(engine, n: int, cfg: dict, prefix: str = "w") -> tuple[list, float]:
    t0 = time.perf_counter()
    ids, _ = _start_all(engine, "bench/idle", n, prefix, lambda k: write_progress(cfg.get("progress"), k))
    return ids, time.perf_counter() - t0


def _count_status(engine, status: str) -> int:
    return sum(v for k, v in engine.counts("bench/idle").items() if k[3] == status)


def run_idle(cfg: dict) -> dict:
    """``--idle``: in :mod:`benchmarks._passivation` (RSS once passivated, boot of that data dir)."""
    from ._passivation import run_idle as run
    return run(cfg)


def run_recovery(cfg: dict) -> dict:
    """Create ``recovery`` waiting (unfinished) instances, stop the daemon, start a new one on the
    same data dir: time from calling ``start_daemon`` to its return. The waiting instances stay in the
    store (SPEC §11: recovery loads the instances with work in flight, here none); the new daemon's
    counts find them all, and one takes an event."""
    n = cfg["recovery"]
    data = os.path.join(cfg["workdir"], "data")
    d = _Daemon(cfg, data, [waiting_flow()])
    try:
        _, create_secs = _waiting(d.engine, n, cfg)
    finally:
        first = d.stop()
    t0 = time.perf_counter()
    d2 = _Daemon(cfg, data, [])
    secs = time.perf_counter() - t0
    try:
        recovered = d2.engine.recovered
        waiting = _count_status(d2.engine, "waiting")
        # one event to a recovered instance: it is live, not just loaded
        probe = d2.engine.send("w-0", "go")["status"] if n else None
        mem = d2.mem()
    finally:
        second = d2.stop()
    return {"workflows": waiting, "expected": n, "seconds": secs, "recovered": recovered,
            "waiting_after": waiting, "probe_status": probe, "create_seconds": create_secs,
            "rss_after": mem["rss"], "daemon_peak_bytes": max(d.peak, d2.peak),
            "daemon_pids": d.pids + d2.pids, "reaped": {"first": first, "second": second},
            "latency_method": "n/a (start_daemon call -> return; the waiting ones stay in the store)"}


def run_latency(cfg: dict) -> dict:
    """``latency`` waiting instances on the daemon; ``engine.send(id, "go")`` to each, one at a time:
    each send is acknowledged once its transition is durable."""
    n = cfg["latency"]
    d = _Daemon(cfg, os.path.join(cfg["workdir"], "data"), [waiting_flow()])
    try:
        ids, _ = _start_all(d.engine, "bench/idle", n + WARMUP, "l")
        lat, acked = [], 0
        cpu = _Cpu(d)
        for k, iid in enumerate(ids):
            t = time.perf_counter()
            r = d.engine.send(iid, "go")
            dt = time.perf_counter() - t
            if k < WARMUP:
                continue
            lat.append(dt)
            acked += r.get("status") == "completed"
            if acked % 50 == 0:
                write_progress(cfg.get("progress"), acked)
        spent = cpu.spent()         # the warm-up sends included (n + 20 events)
        res = {"workflows": acked, "expected": n, "seconds": sum(lat), "cpu_seconds": spent,
               "p50_ms": _ms(percentile(lat, 50)), "p99_ms": _ms(percentile(lat, 99)),
               "max_ms": _ms(max(lat) if lat else None),
               "latency_method": "perf_counter around engine.send (client -> dispatcher -> host commit "
                                 "-> reply), one at a time"}
        d.mem()
    finally:
        reaped = d.stop()
    res.update(daemon_peak_bytes=d.peak, daemon_pids=d.pids, reaped=reaped)
    return res
