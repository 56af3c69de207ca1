"""Lifetime event-id de-duplication: the cost per event as one instance receives many events.

    python -m benchmarks.dedup [--events 100000] [--batch 1] [--sample 1000] [--json FILE]

One instance (a ``poke`` self-loop) receives ``--events`` outside events through a :class:`Shard`
directly, on a real SQLite store (``synchronous=normal``, a temporary directory), ``--batch`` events
per batch (one commit each). It runs twice: every event with a new event id (each one is looked up
in the store and written to its ``event_ids`` table), then the same events without ids. For each run
it prints the cost per event (wall time of ``Shard.handle`` divided by the events of the batch) over
the first ``--sample`` events and the last ones: flat means the lookup and the insert do not grow
with the ids an instance has taken. At the end it sends the first id again and checks it is a
duplicate (the run fails otherwise).
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time

from goflow.fsm import Signal
from goflow.loading import blueprint_from_document
from goflow.requests import Create, Item
from goflow.shard import Shard
from goflow.store import open_shard

__all__ = ["main", "run", "BLUEPRINT"]

BLUEPRINT = {
    "project": "bench", "activity": "poke", "states": ["gate"], "actions": [],
    "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "gate"},
                    {"current": "gate", "event": "poke", "action": "continue", "next": "gate"}],
    "workers": []}
T0 = 1_000_000.0


def run(events: int, batch: int, ids: bool, sample: int) -> dict:
    """Send ``events`` pokes to one instance; the per-event costs of the first and last ``sample``."""
    bp = blueprint_from_document(BLUEPRINT)
    with tempfile.TemporaryDirectory(prefix="goflow-dedup-") as data:
        store = open_shard(data, 0)
        try:
            shard = Shard(store, [bp], clock=lambda: T0)
            [reply] = shard.handle([Item("i", Create("bench", "poke", {}), 0)], T0).replies
            assert reply.ok, reply
            costs: list[float] = []           # seconds per event, one entry per event
            t_all = time.perf_counter()
            for start in range(0, events, batch):
                n = min(batch, events - start)
                items = [Item("i", Signal("poke", None, f"ev-{start + k}" if ids else None), k)
                         for k in range(n)]
                t0 = time.perf_counter()
                fx = shard.handle(items, T0 + start)
                dt = time.perf_counter() - t0
                if not all(r.ok and not r.value["duplicate"] for r in fx.replies):
                    raise SystemExit(f"event {start}: not applied: {fx.replies[:1]}")
                costs.extend([dt / n] * n)
            total = time.perf_counter() - t_all
            dup = None
            if ids:
                [again] = shard.handle([Item("i", Signal("poke", None, "ev-0"), 0)], T0 + events).replies
                dup = bool(again.ok and again.value["duplicate"])
                if not dup:
                    raise SystemExit(f"the first event id sent again after {events} events was applied: {again}")
            rows = store.seen_event_ids([("i", "ev-0")])
        finally:
            store.close()
    first, last = costs[:sample], costs[-sample:]
    return {"ids": ids, "events": events, "batch": batch, "seconds": total,
            "first_median_us": statistics.median(first) * 1e6, "first_mean_us": statistics.fmean(first) * 1e6,
            "last_median_us": statistics.median(last) * 1e6, "last_mean_us": statistics.fmean(last) * 1e6,
            "events_per_s": events / total, "first_id_duplicate": dup, "first_id_stored": bool(rows)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.dedup", description=__doc__.split("\n")[0])
    p.add_argument("--events", type=int, default=100_000)
    p.add_argument("--batch", type=int, default=1, help="events per batch (one commit each)")
    p.add_argument("--sample", type=int, default=1_000, help="events in the first and last samples")
    p.add_argument("--json", help="also write the results to this file")
    args = p.parse_args(argv)
    sample = max(1, min(args.sample, args.events))
    results = [run(args.events, args.batch, ids, sample) for ids in (True, False)]
    print(f"one instance, {args.events:,} events, {args.batch} per batch (one commit each), SQLite "
          f"synchronous=normal; per event: median (mean) over the first and last {sample:,}")
    for r in results:
        print(f"  {'with ids   ' if r['ids'] else 'without ids'}  first {r['first_median_us']:7.1f} us "
              f"({r['first_mean_us']:.1f})   last {r['last_median_us']:7.1f} us ({r['last_mean_us']:.1f})   "
              f"last/first {r['last_median_us'] / r['first_median_us']:.2f}   "
              f"{r['events_per_s']:,.0f} events/s overall")
    with_ids, without = results
    print(f"  ids cost {with_ids['last_median_us'] - without['last_median_us']:+.1f} us per event at the end "
          f"({with_ids['last_median_us'] / without['last_median_us']:.2f}x); the first id sent again "
          f"after {args.events:,} events: duplicate={with_ids['first_id_duplicate']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
