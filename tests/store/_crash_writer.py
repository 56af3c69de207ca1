"""Run by test_store_crash.py: commit batches in a loop, acknowledging each on stdout once commit()
has returned. Usage: _crash_writer.py DB_PATH RUN SYNCHRONOUS BATCH_SIZE. It only stops when killed
(or after MAX_BATCHES, so that an orphan cannot run forever)."""
from __future__ import annotations

import sys

from goflow.history import Record
from goflow.store import Change, SQLiteStore

MAX_BATCHES = 20_000


def main() -> None:
    path, run, synchronous, size = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    store = SQLiteStore(path, synchronous=synchronous)
    out = sys.stdout
    for b in range(MAX_BATCHES):
        changes = [Change(f"{run}-b{b}-{k}", "p", "crash", 1, "running", "s1", b"x" * 200,
                          [Record(time=float(b), state="init", event="start", next="s1", step=b,
                                  detail={"batch": b, "k": k})], float(b), float(b))
                   for k in range(size)]
        # one instance updated by every batch: its state is the last committed batch
        changes.append(Change(f"{run}-counter", "p", "crash", 1, "running", str(b), b"c",
                              [Record(time=float(b), event="tick", step=b)], 0.0, float(b)))
        store.commit(changes)
        out.write(f"{b}\n")
        out.flush()
    store.close()


if __name__ == "__main__":
    main()
