"""Snapshot codec speed: microseconds per encode and per decode of a representative instance.

    python -m benchmarks.snapshot_codec [--count 20000] [--rounds 3]

This was a wall-clock "tripwire" test in tests/snapshot; the suite asserts no timing, so it lives here.
An idle 2-core development machine measured ~2 us encode and ~5 us decode; a loaded one several times
that.
"""
from __future__ import annotations

import argparse
import statistics
import time

from goflow.fsm import HookOutcome, Instance, Outcome, Pending, Signal, TimerFired
from goflow.snapshot import decode, encode

__all__ = ["main", "SAMPLE"]

SAMPLE = Instance(
    id="inst-42", project="shop", activity="inquiry", version=3, state="get_product", status="paused",
    input={"customer": "ada", "amount": 12.5},
    context={"customer": "ada", "amount": 12.5, "check": {"ok": True, "tags": ["a", "b"], "n": None}},
    step=7, pending=Pending(7, "get_product", "async", 100.0, 130.0, True, False), hook_step=None,
    inbox=(Signal("cancel", {"why": "late"}, "ev-9"), Outcome(7, "success", {"sku": 1}), TimerFired(7),
           HookOutcome(8, "error")),
    event_ids=("ev-1", "ev-9"), reason=None, created=1.0, updated=100.0)


def measure(count: int) -> tuple[float, float]:
    """Seconds per encode and per decode of :data:`SAMPLE` over ``count`` of each."""
    data = encode(SAMPLE)
    t0 = time.perf_counter()
    for _ in range(count):
        encode(SAMPLE)
    t1 = time.perf_counter()
    for _ in range(count):
        decode(data)
    t2 = time.perf_counter()
    return (t1 - t0) / count, (t2 - t1) / count


def main(argv=None) -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.snapshot_codec", description=__doc__.split("\n")[0])
    p.add_argument("--count", type=int, default=20000)
    p.add_argument("--rounds", type=int, default=3)
    args = p.parse_args(argv)
    runs = [measure(args.count) for _ in range(args.rounds)]
    enc = statistics.median(r[0] for r in runs) * 1e6
    dec = statistics.median(r[1] for r in runs) * 1e6
    print(f"snapshot encode {enc:.2f} us, decode {dec:.2f} us (median of {args.rounds} x {args.count}; "
          f"{len(encode(SAMPLE))} bytes)")


if __name__ == "__main__":
    main()
