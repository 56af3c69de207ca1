"""What the history rows cost a SQLite commit, layout by layout, measured side by side.

    python -m benchmarks.history_layout [--batch 1000] [--batches 10] [--records 6] [--fill 20] [--ids seq|random]

Each batch is one transaction as :meth:`goflow.store.SQLiteStore.commit` writes it (the same
connection settings): ``batch`` new instances upserted (a 200-byte snapshot) and ``records`` history
records each, like the engine-only benchmark (``created``, 4 x ``applied``, ``completed``). Before
the timed batches, ``fill`` batches of the same shape fill the store, so that the indexes are not
empty. Layouts:

* ``rows``: one row per record in a rowid table, plus the index ``(instance_id, seq)`` (schema 6);
* ``rows-clustered``: one row per record in a WITHOUT ROWID table keyed ``(instance_id, seq)``;
* ``chunk-json``: one row per instance per commit holding that commit's records as one JSON array
  (a chunk: first seq, count, records) in a rowid table keyed by the first seq, plus the index
  ``(instance_id, seq)``;
* ``chunk-msgpack``: the same, the records as one msgpack blob;
* ``chunk-clustered``: JSON chunks in a WITHOUT ROWID table keyed ``(instance_id, seq)``;
* ``chunk-msgpack-clustered``: msgpack chunks in a WITHOUT ROWID table keyed ``(instance_id, seq)``;
* ``none``: no history at all (the floor).

Prints, per layout, the median and best milliseconds per batch (wall, encoding included) and the
store file's size after the run. fsync as the store does it (synchronous=NORMAL, WAL).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
import uuid

import msgpack

from goflow.history import Record
from goflow.store._db import open_connection

_INSTANCES = ("CREATE TABLE instances (id TEXT NOT NULL PRIMARY KEY, project TEXT NOT NULL, activity TEXT NOT NULL,"
              " version INTEGER NOT NULL, status TEXT NOT NULL, state TEXT NOT NULL, snapshot BLOB NOT NULL,"
              " created REAL NOT NULL, updated REAL NOT NULL, reason TEXT, live INTEGER NOT NULL DEFAULT 0)")
_UPSERT = ("INSERT INTO instances (id, project, activity, version, status, state, snapshot, created, updated,"
           " reason, live) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET"
           " status = excluded.status, state = excluded.state, snapshot = excluded.snapshot,"
           " updated = excluded.updated")
_COLUMNS = "time REAL, state TEXT, event TEXT, action TEXT, next TEXT, step INTEGER, attempt INTEGER," \
           " endpoint TEXT, outcome TEXT, latency REAL, detail TEXT"
_ROW_APPEND = ("INSERT INTO history (instance_id, time, state, event, action, next, step, attempt, endpoint,"
               " outcome, latency, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_KEYED_APPEND = ("INSERT INTO history (instance_id, seq, time, state, event, action, next, step, attempt,"
                 " endpoint, outcome, latency, detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
_CHUNK_APPEND = "INSERT INTO history (seq, instance_id, count, records) VALUES (?, ?, ?, ?)"
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
_LAST = "SELECT seq + count FROM history ORDER BY seq DESC LIMIT 1"
_LAST_CLUSTERED = "SELECT max(seq + count) FROM history"   # a scan: the run keeps its own counter


def _records(t: float) -> list[Record]:
    names = ["init", "s1", "s2", "s3", "done"]
    out = [Record(t, next="init", outcome="created")]
    out += [Record(t, state=names[i], event="start", action="continue", next=names[i + 1], outcome="applied")
            for i in range(4)]
    out.append(Record(t, state="done", outcome="completed"))
    return out


def _rows(conn, batch, state):
    conn.executemany(_ROW_APPEND, [(iid, *r.to_tuple()) for iid, recs in batch for r in recs])


def _rows_clustered(conn, batch, state):
    rows, seq = [], state["seq"]
    for iid, recs in batch:
        for r in recs:
            rows.append((iid, seq, *r.to_tuple()))
            seq += 1
    conn.executemany(_KEYED_APPEND, rows)
    state["seq"] = seq


def _chunks(encode, counter: bool):
    def write(conn, batch, state):
        if counter:
            seq = state["seq"]
        else:
            row = conn.execute(_LAST).fetchone()
            seq = row[0] if row else 1
        rows = []
        for iid, recs in batch:
            rows.append((seq, iid, len(recs), encode([r.to_tuple() for r in recs])))
            seq += len(recs)
        conn.executemany(_CHUNK_APPEND, rows)
        state["seq"] = seq
    return write


LAYOUTS = {
    "rows": ([f"CREATE TABLE history (seq INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, {_COLUMNS})",
              "CREATE INDEX history_by_instance ON history (instance_id, seq)"], _rows),
    "rows-clustered": ([f"CREATE TABLE history (instance_id TEXT NOT NULL, seq INTEGER NOT NULL, {_COLUMNS},"
                        " PRIMARY KEY (instance_id, seq)) WITHOUT ROWID"], _rows_clustered),
    "chunk-json": (["CREATE TABLE history (seq INTEGER PRIMARY KEY, instance_id TEXT NOT NULL,"
                    " count INTEGER NOT NULL, records TEXT NOT NULL)",
                    "CREATE INDEX history_by_instance ON history (instance_id, seq)"], _chunks(_dumps, False)),
    "chunk-msgpack": (["CREATE TABLE history (seq INTEGER PRIMARY KEY, instance_id TEXT NOT NULL,"
                       " count INTEGER NOT NULL, records BLOB NOT NULL)",
                       "CREATE INDEX history_by_instance ON history (instance_id, seq)"],
                      _chunks(msgpack.packb, False)),
    "chunk-clustered": (["CREATE TABLE history (instance_id TEXT NOT NULL, seq INTEGER NOT NULL,"
                         " count INTEGER NOT NULL, records TEXT NOT NULL, PRIMARY KEY (instance_id, seq))"
                         " WITHOUT ROWID"], _chunks(_dumps, True)),
    "chunk-msgpack-clustered": (["CREATE TABLE history (instance_id TEXT NOT NULL, seq INTEGER NOT NULL,"
                                 " count INTEGER NOT NULL, records BLOB NOT NULL, PRIMARY KEY (instance_id, seq))"
                                 " WITHOUT ROWID"], _chunks(msgpack.packb, True)),
    "none": ([], None),
}


def _commit(conn, batch, snap, t, write, state):
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(_UPSERT, [(iid, "bench", "chain", 1, "completed", "done", snap, t, t, None, 0)
                               for iid, _ in batch])
    if write is not None:
        write(conn, batch, state)
    conn.execute("COMMIT")


def run(layout: str, args, workdir: str) -> dict:
    ddl, write = LAYOUTS[layout]
    path = os.path.join(workdir, f"{layout}.db")
    conn = open_connection(path, readonly=False, synchronous="normal", timeout=5.0)
    for statement in [_INSTANCES, *ddl]:
        conn.execute(statement)
    snap, state, times, k = os.urandom(200), {"seq": 1}, [], 0

    def batch():
        nonlocal k
        t = time.time()
        ids = [uuid.uuid4().hex if args.ids == "random" else f"c-{k * args.batch + j}" for j in range(args.batch)]
        k += 1
        recs = _records(t)[:args.records] if args.records <= 6 else _records(t) * (args.records // 6)
        return [(iid, recs) for iid in ids], t

    for _ in range(args.fill):
        b, t = batch()
        _commit(conn, b, snap, t, write, state)
    for _ in range(args.batches):
        b, t = batch()
        t0 = time.perf_counter()
        _commit(conn, b, snap, t, write, state)
        times.append((time.perf_counter() - t0) * 1000)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    return {"median_ms": statistics.median(times), "best_ms": min(times), "bytes": os.path.getsize(path)}


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=1000, help="instances per commit")
    p.add_argument("--batches", type=int, default=10, help="timed commits per layout")
    p.add_argument("--records", type=int, default=6, help="history records per instance per commit")
    p.add_argument("--fill", type=int, default=20, help="commits before the timed ones")
    p.add_argument("--ids", choices=("seq", "random"), default="seq", help="instance ids: c-<n> or uuid4 hex")
    p.add_argument("--rounds", type=int, default=3, help="interleaved rounds (each layout once per round)")
    p.add_argument("--only", default=",".join(LAYOUTS), help="comma-separated layouts")
    args = p.parse_args(argv)
    names = args.only.split(",")
    results: dict[str, list[dict]] = {n: [] for n in names}
    with tempfile.TemporaryDirectory(prefix="goflow-histlayout-") as tmp:
        for r in range(args.rounds):
            for name in names:
                work = os.path.join(tmp, f"r{r}")
                os.makedirs(work, exist_ok=True)
                results[name].append(run(name, args, work))
    print(f"batch {args.batch} instances x {args.records} records, {args.batches} timed commits after {args.fill},"
          f" ids {args.ids}, {args.rounds} rounds")
    print(f"{'layout':<24} {'median ms':>10} {'best ms':>8} {'MB':>7}")
    for name in names:
        rs = results[name]
        print(f"{name:<24} {statistics.median(x['median_ms'] for x in rs):>10.1f}"
              f" {min(x['best_ms'] for x in rs):>8.1f} {rs[-1]['bytes'] / 1e6:>7.1f}")


if __name__ == "__main__":
    main()
