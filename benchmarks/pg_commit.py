"""How to write a batch to PostgreSQL: the three ways measured side by side on a throwaway server.

    python -m benchmarks.pg_commit [--batch 100,1000] [--batches 30] [--store-url URL]

* ``unnest``: one INSERT ... SELECT FROM unnest(arrays) per table, in a pipeline (what the store does);
* ``executemany``: psycopg's executemany (pipelined by psycopg), one row per parameter set;
* ``copy``: COPY of the rows into a temporary staging table, then one upsert from it; COPY of the
  history straight into its table.

Each batch is one transaction (the shard row's batch id update, the instance upserts, the history
appends): half new instances, half transitions of instances already stored. Snapshot 512 bytes, one
record per change. Prints changes/s (wall) per method and batch size; fsync stays on.
"""
from __future__ import annotations

import argparse
import os
import time
import uuid

from goflow.pgserver import ThrowawayServer
from goflow.store import PostgresStore
from goflow.store.postgres import _APPEND, _UPSERT

_ROW_INSERT = ("INSERT INTO goflow_instances (shard, id, project, activity, version, status, state, snapshot,"
               " created, updated, reason, live) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
               + _UPSERT[_UPSERT.index(" ON CONFLICT"):])
_HIST_INSERT = ("INSERT INTO goflow_history (shard, instance_id, time, state, event, action, next, step, attempt,"
                " endpoint, outcome, latency, detail) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)")


def _batch(k: int, n: int, snap: bytes):
    rows, hist = [], []
    for i in range(n):
        iid = f"b{k}-{i}" if i % 2 else f"live-{i}"   # half new, half transitions of the same rows
        rows.append((iid, "p", "a", 1, "running", f"s{k}", snap, 1.0, float(k), None, True))
        hist.append((iid, float(k), "s", "go", "call", "t", k, None, None, "applied", None, '{"k":1}'))
    return rows, hist


def _unnest(conn, shard, rows, hist):
    with conn.pipeline(), conn.transaction():
        conn.execute("UPDATE goflow_shards SET last_batch = %s WHERE shard = %s", (uuid.uuid4().hex, shard))
        conn.execute(_UPSERT, (shard, *[list(c) for c in zip(*rows)]))
        conn.execute(_APPEND, (shard, *[list(c) for c in zip(*hist)]))


def _executemany(conn, shard, rows, hist):
    with conn.transaction():
        conn.execute("UPDATE goflow_shards SET last_batch = %s WHERE shard = %s", (uuid.uuid4().hex, shard))
        with conn.cursor() as cur:
            cur.executemany(_ROW_INSERT, [(shard, *r) for r in rows])
            cur.executemany(_HIST_INSERT, [(shard, *h) for h in hist])


def _copy(conn, shard, rows, hist):
    with conn.transaction():
        conn.execute("UPDATE goflow_shards SET last_batch = %s WHERE shard = %s", (uuid.uuid4().hex, shard))
        conn.execute("CREATE TEMP TABLE IF NOT EXISTS stage (id text, project text, activity text, version bigint,"
                     " status text, state text, snapshot bytea, created float8, updated float8, reason text,"
                     " live bool) ON COMMIT DELETE ROWS")
        with conn.cursor() as cur:
            with cur.copy("COPY stage FROM STDIN") as cp:
                for r in rows:
                    cp.write_row(r)
            cur.execute("INSERT INTO goflow_instances (shard, id, project, activity, version, status, state,"
                        " snapshot, created, updated, reason, live) SELECT %s, * FROM stage"
                        + _UPSERT[_UPSERT.index(" ON CONFLICT"):], (shard,))
            with cur.copy("COPY goflow_history (shard, instance_id, time, state, event, action, next, step,"
                          " attempt, endpoint, outcome, latency, detail) FROM STDIN") as cp:
                for h in hist:
                    cp.write_row((shard, *h))


METHODS = {"unnest": _unnest, "executemany": _executemany, "copy": _copy}


def measure(url: str, batch: int, batches: int) -> dict[str, float]:
    snap = os.urandom(512)
    out = {}
    for shard, (name, fn) in enumerate(METHODS.items()):
        store = PostgresStore(url, 100 + shard + batch)
        conn = store._conn
        fn(conn, store.shard, *_batch(-1, batch, snap))   # warm up (and create the live rows)
        started = time.perf_counter()
        for k in range(batches):
            fn(conn, store.shard, *_batch(k, batch, snap))
        out[name] = batch * batches / (time.perf_counter() - started)
        store.close()
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.pg_commit", description=__doc__.split("\n")[0])
    p.add_argument("--batch", default="100,1000")
    p.add_argument("--batches", type=int, default=30)
    p.add_argument("--store-url", default="", help="an existing database (default: a throwaway server)")
    args = p.parse_args(argv)
    server = None
    url = args.store_url
    if not url:
        server = ThrowawayServer().start()
        url = server.create_database("bench")
    try:
        print(f"{'batch':>6} " + " ".join(f"{m:>12}" for m in METHODS) + "   (changes/s)")
        for batch in (int(b) for b in args.batch.split(",")):
            for _ in range(2):  # two rounds: the second is the steadier
                r = measure(url, batch, args.batches)
            print(f"{batch:>6} " + " ".join(f"{r[m]:>12,.0f}" for m in METHODS))
    finally:
        if server is not None:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
