"""Passivation scenarios (SPEC §11, issue 16) of ``benchmarks.throughput``:

* ``--idle N`` (``run_idle``): N waiting instances in one daemon with ``runtime.passivate_after``
  small (``PASSIVATE_AFTER``); once the hosts hold none of them (their ``goflow_resident_instances``
  gauge is 0), RSS summed over the daemon's processes; then the daemon is stopped and a new one
  boots on that data directory: the boot time (``start_daemon`` call to return) and its RSS.
* ``--passivated-events N`` (``run_passivated_events``): 2N waiting instances, passivated; then N
  ``go`` events to N of them chosen at random, open loop at ``RATE`` events/s: each event is due at
  its time on the schedule, and the sender sends every event due (one ``send_many`` of those that
  queued while the previous one was in flight); an event's ack latency is from its due time to the
  reply (its transition durable), so a slow engine shows as queueing, not as a slower schedule.
  The sender's own queue (an event due while a call is in flight waits for that call) is bounded by
  one round trip of the engine; 8 clients in threads, each sending what is due, measured no better
  (issue 16, docs/benchmarks.md "A/B pairs"), so the one client stays (as the HTTP API's batcher).
  Its reference row (``resident-events-daemon``, same run): the same with every instance kept in
  memory (``passivate_after`` an hour, ``cache_size`` above the pool), so the table shows what
  loading from the store adds and what the machine and the round trip cost anyway.
"""
from __future__ import annotations

import os
import random
import time

from ._common import percentile, waiting_flow, write_progress
from ._goflow import _Cpu, _count_status, _Daemon, _ms, _start_all, _waiting

__all__ = ["run_idle", "run_passivated_events", "PASSIVATE_AFTER", "RATE"]

PASSIVATE_AFTER = 1.0     # seconds (runtime.passivate_after of these daemons)
RATE = 1000.0             # events/s of --passivated-events


def resident(data_dir: str) -> int | None:
    """The instances the daemon's hosts hold in memory (their metrics gauge), None without metrics."""
    from prometheus_client.parser import text_string_to_metric_families

    from goflow import metrics
    body, _ = metrics.exposition(data_dir, {})
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "goflow_resident_instances":
            return int(sum(s.value for s in family.samples))
    return None


def _passivated(data_dir: str, timeout: float) -> float:
    """Wait until the hosts hold no instance; returns the seconds it took."""
    t0 = time.perf_counter()
    deadline = t0 + timeout
    while True:
        n = resident(data_dir)
        if n == 0:
            return time.perf_counter() - t0
        if n is None or time.perf_counter() > deadline:
            raise RuntimeError(f"the hosts still hold {n} instances after {timeout:.0f} s")
        time.sleep(0.2)


def run_idle(cfg: dict) -> dict:
    n = cfg["idle"]
    data = os.path.join(cfg["workdir"], "data")
    cfg = dict(cfg, passivate_after=PASSIVATE_AFTER, metrics=True)
    d = _Daemon(cfg, data, [waiting_flow()])
    try:
        before = d.mem()
        _, secs = _waiting(d.engine, n, cfg)
        waiting = _count_status(d.engine, "waiting")
        settle = _passivated(data, max(60.0, PASSIVATE_AFTER * 10))
        after = d.mem()
    finally:
        first = d.stop()
    t0 = time.perf_counter()
    d2 = _Daemon(cfg, data, [])
    boot = time.perf_counter() - t0
    try:
        recovered = d2.engine.recovered
        booted = d2.mem()
        probe = d2.engine.send("w-0", "go")["status"] if n else None   # loaded from the store on demand
    finally:
        second = d2.stop()
    return {"workflows": waiting, "expected": n, "seconds": secs, "workflows_per_s": n / secs,
            "rss_before": before["rss"], "rss_after": after["rss"], "pss_before": before["pss"],
            "pss_after": after["pss"], "rss_per_instance": (after["rss"] - before["rss"]) / n,
            "pss_per_instance": (after["pss"] - before["pss"]) / n, "passivated_after_s": settle,
            "boot_seconds": boot, "recovered": recovered, "rss_boot": booted["rss"], "probe_status": probe,
            "passivate_after": PASSIVATE_AFTER, "daemon_peak_bytes": max(d.peak, d2.peak),
            "daemon_pids": d.pids + d2.pids, "reaped": {"first": first, "second": second},
            "shards": cfg["shards"],
            "latency_method": "n/a (RSS once the hosts hold none; boot = start_daemon call -> return)"}


def run_passivated_events(cfg: dict, resident_too: bool = False) -> dict:
    """``resident_too``: the reference -- nothing passivated (see the module's docstring)."""
    n = cfg["passivated_events"]
    data = os.path.join(cfg["workdir"], "data")
    if resident_too:
        cfg = dict(cfg, passivate_after=3600.0, cache_size=2 * n + 1, metrics=True)
    else:
        cfg = dict(cfg, passivate_after=PASSIVATE_AFTER, metrics=True)
    d = _Daemon(cfg, data, [waiting_flow()])
    try:
        ids, _ = _start_all(d.engine, "bench/idle", 2 * n, "p")
        if not resident_too:
            _passivated(data, max(60.0, PASSIVATE_AFTER * 10))
        targets = random.Random(16).sample(ids, n)
        lat: list[float] = []
        acked = sent = batches = 0
        cpu = _Cpu(d)
        start = time.perf_counter() + 0.05
        while sent < n:
            now = time.perf_counter()
            due = min(n, int((now - start) * RATE) + 1) if now >= start else 0
            if due <= sent:
                time.sleep(max(0.0, start + sent / RATE - now))
                continue
            chunk = targets[sent:due]
            results = d.engine.send_many([(iid, "go") for iid in chunk])
            done = time.perf_counter()
            for k, r in enumerate(results):
                lat.append(done - (start + (sent + k) / RATE))
                acked += isinstance(r, dict) and r.get("status") == "completed"
            sent, batches = due, batches + 1
            if batches % 20 == 0:
                write_progress(cfg.get("progress"), sent)
        elapsed = time.perf_counter() - start
        spent = cpu.spent()
        held = resident(data)
        d.mem()
    finally:
        reaped = d.stop()
    return {"workflows": acked, "expected": n, "seconds": elapsed, "events_per_s": n / elapsed,
            "rate": RATE, "batches": batches, "cpu_seconds": spent, "p50_ms": _ms(percentile(lat, 50)),
            "p99_ms": _ms(percentile(lat, 99)), "max_ms": _ms(max(lat) if lat else None),
            "resident_after": held, "pool": 2 * n, "passivated": not resident_too, "daemon_peak_bytes": d.peak, "daemon_pids": d.pids,
            "reaped": reaped,
            "latency_method": f"open loop at {RATE:,.0f}/s: from each event's due time to its ack "
                              "(engine.send_many of the events due, transition durable)"}
