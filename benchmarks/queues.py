"""Queued events: the cost per event as one instance's queue fills to its limit.

    python -m benchmarks.queues [--events 10000] [--batch 1] [--sample 500] [--json FILE]

Two runs, each one instance fed ``--events`` outside events through a :class:`Shard` directly, on a
real SQLite store (``synchronous=normal``, a temporary directory), ``--batch`` events per batch (one
commit each), the limits raised to ``--events`` (``limits.paused_events``, ``limits.postponed``):

* ``inbox``: the instance is paused; every ``poke`` is held (``Instance.inbox``);
* ``postponed``: every ``later`` is postponed (SPEC §8; ``Instance.postponed``) by a state that
  cannot take it yet;
* ``none`` (the control): every ``poke`` is applied at once, no queue -- the same commits, records
  and store growth, so what drifts here between the first and the last events (the WAL, the history
  table, the machine) is not the queues'.

For each run it prints the cost per event (wall time of ``Shard.handle`` divided by the events of
the batch) over the first ``--sample`` events and the last ones -- flat means appending to a queue of
N does not cost O(N) -- and the snapshot's size after the first event and after the last. At the end
it resumes the paused instance / opens the gate and checks that every queued event is applied, in
order (the run fails otherwise).

To measure a previous version of GoFlow in the same way, run this file as a script with that
version's checkout first on the path: ``PYTHONPATH=<checkout> python benchmarks/queues.py``.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time

from goflow.fsm import Pause, Resume, Signal
from goflow.loading import blueprint_from_document
from goflow.requests import Create, Item
from goflow.shard import Shard
from goflow.store import open_shard

__all__ = ["main", "run", "BLUEPRINT"]

# gate: poke loops (held while paused), later is postponed until open moves to t, which takes it
BLUEPRINT = {
    "project": "bench", "activity": "queue", "states": ["gate", "t"], "postpone": ["later"], "actions": [],
    "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "gate"},
                    {"current": "gate", "event": "poke", "action": "continue", "next": "gate"},
                    {"current": "gate", "event": "open", "action": "continue", "next": "t"},
                    {"current": "t", "event": "later", "action": "continue", "next": "t"},
                    {"current": "t", "event": "poke", "action": "continue", "next": "t"}],
    "workers": []}
T0 = 1_000_000.0


def _handle(shard: Shard, items: list, now: float) -> list:
    replies = shard.handle(items, now).replies
    bad = [r for r in replies if not r.ok]
    if bad:
        raise SystemExit(f"refused: {bad[0].value}")
    return replies


def run(queue: str, events: int, batch: int, sample: int) -> dict:
    """Fill one instance's ``queue`` ("inbox" or "postponed") with ``events`` events (``"none"``:
    send them, applied at once)."""
    bp = blueprint_from_document(BLUEPRINT)
    name = "later" if queue == "postponed" else "poke"
    with tempfile.TemporaryDirectory(prefix="goflow-queues-") as data:
        store = open_shard(data, 0)
        try:
            shard = Shard(store, [bp], clock=lambda: T0, postponed=events, paused_events=events)
            _handle(shard, [Item("i", Create("bench", "queue", {}), 0)], T0)
            if queue == "inbox":
                _handle(shard, [Item("i", Pause(), 0)], T0)
            costs: list[float] = []
            sizes = []
            t_all = time.perf_counter()
            for start in range(0, events, batch):
                n = min(batch, events - start)
                items = [Item("i", Signal(name, {"n": start + k}), k) for k in range(n)]
                t0 = time.perf_counter()
                _handle(shard, items, T0 + start)
                dt = time.perf_counter() - t0
                costs.extend([dt / n] * n)
                if start == 0 or start + n == events:
                    sizes.append(len(store.get("i").snapshot))
            total = time.perf_counter() - t_all
            row = store.get("i")
            rows = len(getattr(row, "queue", ()))      # a version without queue rows has none
            t0 = time.perf_counter()
            if queue != "none":
                _handle(shard, [Item("i", Resume() if queue == "inbox" else Signal("open"), 0)], T0 + events)
            drain = time.perf_counter() - t0
            taken = [r.detail for r in store.history("i") if r.event == name and r.outcome == "applied"]
            if len(taken) != events:
                raise SystemExit(f"{queue}: {len(taken)} of the {events} queued events were applied")
        finally:
            store.close()
    first, last = costs[:sample], costs[-sample:]
    return {"queue": queue, "events": events, "batch": batch, "seconds": total, "drain_seconds": drain,
            "first_median_us": statistics.median(first) * 1e6, "first_mean_us": statistics.fmean(first) * 1e6,
            "last_median_us": statistics.median(last) * 1e6, "last_mean_us": statistics.fmean(last) * 1e6,
            "events_per_s": events / total, "snapshot_first": sizes[0], "snapshot_last": sizes[-1],
            "queue_rows": rows}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.queues", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=10_000, help="events queued (the limits are raised to it)")
    p.add_argument("--batch", type=int, default=1, help="events per batch (one commit each)")
    p.add_argument("--sample", type=int, default=500, help="events in the first and last samples")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    sample = max(1, min(args.sample, args.events))
    results = [run(queue, args.events, args.batch, sample) for queue in ("inbox", "postponed", "none")]
    print(f"one instance, {args.events:,} events queued, {args.batch} per batch (one commit each), SQLite "
          f"synchronous=normal; per event: median (mean) over the first and last {sample:,}")
    for r in results:
        print(f"  {r['queue']:<9}  first {r['first_median_us']:8.1f} us ({r['first_mean_us']:.1f})   "
              f"last {r['last_median_us']:8.1f} us ({r['last_mean_us']:.1f})   "
              f"last/first {r['last_median_us'] / r['first_median_us']:.2f}   "
              f"{r['events_per_s']:,.0f} events/s   snapshot {r['snapshot_first']:,} -> {r['snapshot_last']:,} B   "
              f"queue rows {r['queue_rows']:,}   applying them all {r['drain_seconds']:.2f} s")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
