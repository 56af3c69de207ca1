"""Measure the SQLite store (not collected by pytest); from the repository root, with the venv active:

    python tests/store/bench_store.py [--instances 100000] [--snapshot 512] [--dir DIR]

Prints transitions/s of commit() (wall clock and CPU time) for batches of 100 and 1000 changes (one
record each), as inserts of new instances and as updates of 10,000 live instances next to 100,000
finished ones, for synchronous=normal and full; then the time to
iterate unfinished() over all instances, list() and counts().
"""
from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from goflow.history import Record  # noqa: E402
from goflow.store import Change, SQLiteStore  # noqa: E402


def changes(ids, snapshot: bytes, now: float, status="running"):
    return [Change(i, "bench", "flow", 1, status, "s1", snapshot,
                   [Record(time=now, state="s0", event="success", action="call", next="s1", step=3,
                           outcome="applied")], now, now) for i in ids]


def _rate(n: int, t0: float, c0: float) -> str:
    return f"{n / (time.perf_counter() - t0):8,.0f}/s wall {n / (time.process_time() - c0):8,.0f}/s cpu"


def bench_commit(path: Path, sync: str, batch: int, snapshot: bytes) -> tuple[str, str]:
    """Insert 20,000 new instances, then 50,000 transitions of those 10,000 live instances (in random
    order) stored next to 100,000 finished ones -- a host's steady state."""
    with SQLiteStore(path, synchronous=sync) as store:
        old = [f"old-{n:08d}" for n in range(100_000)]
        for k in range(0, len(old), 1000):
            store.commit(changes(old[k:k + 1000], snapshot, 0.0, status="completed"))
        new = [f"new-{n:08d}" for n in range(20_000)]
        t0, c0 = time.perf_counter(), time.process_time()
        for k in range(0, len(new), batch):
            store.commit(changes(new[k:k + batch], snapshot, time.time()))
        insert = _rate(len(new), t0, c0)
        live = new[:10_000]
        t0, c0 = time.perf_counter(), time.process_time()
        for r in range(5):
            random.shuffle(live)
            for k in range(0, len(live), batch):
                store.commit(changes(live[k:k + batch], snapshot, time.time(), ("running", "waiting")[r % 2]))
        update = _rate(5 * len(live), t0, c0)
    return insert, update


def _nth_key(store, n: int):
    """The (created, id) key of the n-th running instance, newest first (walked in pages of 1,000)."""
    after, seen = None, 0
    while True:
        rows = store.list(status="running", limit=1000, after=after)
        if not rows:
            return after
        take = rows[:n - seen]
        after, seen = (take[-1].created, take[-1].id), seen + len(take)
        if seen >= n:
            return after


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--instances", type=int, default=100_000)
    ap.add_argument("--snapshot", type=int, default=512, help="snapshot size in bytes")
    ap.add_argument("--dir", default=None, help="directory for the files (default: a temporary one)")
    args = ap.parse_args()
    snapshot = bytes(random.getrandbits(8) for _ in range(args.snapshot))
    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        print(f"snapshot {args.snapshot} B, one record per change, files in {tmp}")
        for sync in ("normal", "full"):
            for batch in (100, 1000):
                ins, upd = bench_commit(Path(tmp) / f"c-{sync}-{batch}.sqlite", sync, batch, snapshot)
                print(f"commit synchronous={sync:6} batch={batch:5}: new instances {ins}")
                print(f"{'':37}transitions of live instances {upd}")
        n = args.instances
        path = Path(tmp) / "recovery.sqlite"
        with SQLiteStore(path) as store:
            ids = [f"inst-{k:08d}" for k in range(n)]
            for k in range(0, n, 1000):
                store.commit(changes(ids[k:k + 1000], snapshot, float(k)))
            finished = [f"done-{k:08d}" for k in range(n)]
            for k in range(0, n, 1000):
                store.commit(changes(finished[k:k + 1000], snapshot, float(k), status="completed"))
        with SQLiteStore(path) as store:  # a fresh open, as after a restart
            t0 = time.perf_counter()
            count = sum(1 for _ in store.unfinished())
            dt = time.perf_counter() - t0
            print(f"unfinished(): {count:,} of {2 * n:,} rows in {dt:.3f} s ({count / dt:,.0f} rows/s)")
            t0 = time.perf_counter()
            total = sum(len(i.snapshot) for i in store.unfinished())
            print(f"unfinished() again (warm): {time.perf_counter() - t0:.3f} s, "
                  f"{total / 1e6:.1f} MB of snapshots")
            deep = _nth_key(store, 50_000)        # the key a client's cursor would hold there
            for label, call in [("list(limit=100)", lambda: store.list(limit=100)),
                                ("list(status='running') page after the 50,000th (keyset)",
                                 lambda: store.list(status="running", after=deep)),
                                ("list(project, activity, status)",
                                 lambda: store.list("bench", "flow", "completed")),
                                ("counts()", lambda: store.counts()),
                                ("get()", lambda: store.get("inst-00004242")),
                                ("history()", lambda: store.history("inst-00004242"))]:
                t0 = time.perf_counter()
                call()
                print(f"{label}: {1000 * (time.perf_counter() - t0):.2f} ms")
        print(f"file size: {path.stat().st_size / 1e6:.1f} MB for {2 * n:,} instances")


if __name__ == "__main__":
    main()
