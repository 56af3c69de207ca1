"""Concurrent workflow throughput: GoFlow against the limit and a peer, in one run.

    python -m benchmarks.throughput [--instances 2000] [--concurrency 200] [--steps 3] [--shards 2]
        [--http] [--rounds R] [--engine-only [--engine-instances N]] [--idle N] [--recovery N] [--latency [N]]
        [--passivated-events N]
        [--no-dbos] [--metrics-off] [--only NAME,...] [--timeout S] [--results-dir DIR] [--profile DIR]
        [--postgres | --store-url postgresql://...] [--base DIR]

With no scenario flag it runs the HTTP scenario: a worker server (a minimal aiohttp app, its own
process, 127.0.0.1) and, against it, the limit (the same POSTs made directly by aiohttp, and by httpx
over httpx-aiohttp; no engine, no persistence), GoFlow embedded and GoFlow daemon running the 3-step
flow with the durable store on, and DBOS (when installed: ``pip install -e .[bench]``) running the
same steps as a durable workflow on SQLite. ``--engine-only``, ``--idle`` (RSS once the instances are
passivated, and the boot time of that data directory), ``--recovery``, ``--latency`` and
``--passivated-events`` (1,000 events/s to random passivated instances; ``benchmarks._passivation``)
add their scenarios (``--http`` keeps the HTTP one with them). Every contender runs in
its own process (``benchmarks._run``), bounded by ``--timeout``; a failure is shown in the table.
``--postgres`` (a throwaway PostgreSQL server, fsync on, started and removed by the run) or
``--store-url URL`` (a scratch database: its goflow_* tables are DROPPED before each contender) adds
the GoFlow contenders again on the PostgreSQL store (``goflow-embedded-pg``, ``goflow-daemon-pg``,
``engine-embedded-pg``, ``engine-daemon-pg``), each row with its ratio to the same contender on SQLite.
It prints a table and writes the same as JSON to ``benchmarks/results/<timestamp>.json``.
See docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

from ._common import cpu_seconds, reap
from ._report import add_ratios, render, targets

__all__ = ["main", "plan"]

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HTTP_CONTENDERS = ("limit-aiohttp", "limit-httpx", "goflow-embedded", "goflow-daemon", "dbos")
PG_HTTP_CONTENDERS = ("goflow-embedded-pg", "goflow-daemon-pg")
BASELESS = ("limit-aiohttp", "limit-httpx", "dbos")     # no GoFlow code in them: nothing to compare


def dbos_available() -> str | None:
    """None when DBOS imports, else why not."""
    try:
        import dbos  # noqa: F401
        return None
    except Exception as exc:  # ImportError, or a broken install
        return f"dbos is not installed ({type(exc).__name__}: {exc}); pip install -e .[bench]"


def plan(args) -> list[tuple[str, str, int]]:
    """``(scenario, contender, units of progress)`` in run order."""
    out = []
    pg = bool(getattr(args, "postgres", False) or getattr(args, "store_url", ""))
    http = args.http or not (args.engine_only or args.idle or args.recovery or args.latency
                             or getattr(args, "passivated_events", 0))
    if http:
        for _ in range(args.rounds):          # rounds interleaved: a change of machine load hits all
            for c in HTTP_CONTENDERS + (PG_HTTP_CONTENDERS if pg else ()):
                if c == "dbos" and args.no_dbos:
                    continue
                out.append(("http", c, args.instances))
                if c == "goflow-daemon" and args.metrics_off:    # the same daemon with metrics.enabled: false
                    out.append(("http", "goflow-daemon-nometrics", args.instances))
    if args.engine_only:
        for _ in range(args.rounds):          # interleaved rounds too
            for c in ("engine-embedded", "engine-daemon") + (("engine-embedded-pg", "engine-daemon-pg") if pg else ()):
                out.append(("engine-only", c, args.engine_instances))
            if args.metrics_off:
                out.append(("engine-only", "engine-daemon-nometrics", args.engine_instances))
    if args.idle:
        out.append(("idle", "idle-daemon", args.idle))
    if args.recovery:
        out.append(("recovery", "recovery-daemon", args.recovery))
    if args.latency:
        out.append(("latency", "latency-daemon", args.latency))
    if getattr(args, "passivated_events", 0):
        for c in ("passivated-events-daemon", "resident-events-daemon"):    # the second: its reference
            out.append(("passivated-events", c, args.passivated_events))
    if args.only:
        keep = {s.strip() for s in args.only.split(",")}
        out = [p for p in out if p[1] in keep]
    if getattr(args, "base", ""):   # each GoFlow contender again from the base checkout, right after it
        out = [row for p in out
               for row in ([p] if p[1] in BASELESS else [p, (p[0], p[1] + "@base", p[2])])]
    return out


class _Databases:
    """A fresh PostgreSQL database for each ``-pg`` contender: on a throwaway server (``--postgres``)
    a new database each time; on ``--store-url`` the same database with its goflow_* tables dropped."""

    def __init__(self, args):
        self.url, self.server, self.count = args.store_url, None, 0
        if args.postgres and not self.url:
            from goflow.pgserver import ThrowawayServer
            self.server = ThrowawayServer().start()

    def fresh(self) -> str:
        self.count += 1
        if self.server is not None:
            return self.server.create_database(f"bench{self.count}")
        import psycopg
        with psycopg.connect(self.url, autocommit=True) as conn:
            # every goflow_* table, whichever schema version (a --base contender's may be older)
            for (table,) in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
                                         " AND tablename LIKE 'goflow\\_%'").fetchall():
                conn.execute(f"DROP TABLE IF EXISTS {table}")
        return self.url

    def close(self) -> None:
        if self.server is not None:
            self.server.stop()


def _run_one(scenario: str, contender: str, args, url: str, server, bar, base: int, dbs=None) -> dict:
    if contender == "dbos" and dbos_available():
        return {"scenario": scenario, "contender": contender, "ok": False, "skipped": True,
                "error": dbos_available()}
    work = tempfile.mkdtemp(prefix=f"goflow-bench-{contender}-")
    cfg = {"contender": contender, "scenario": scenario, "url": url, "workdir": work,
           "instances": args.instances, "concurrency": args.concurrency, "steps": args.steps,
           "shards": args.shards, "engine_instances": args.engine_instances, "idle": args.idle,
           "recovery": args.recovery, "latency": args.latency, "timeout": float(args.timeout),
           "passivated_events": args.passivated_events,
           "progress": os.path.join(work, "progress"), "pids": os.path.join(work, "pids.json"),
           "profile": os.path.join(args.profile, f"{contender}.prof") if args.profile else None,
           "store_url": dbs.fresh() if dbs is not None and contender.endswith("-pg") else ""}
    cfg_path, out_path, log_path = (os.path.join(work, n) for n in ("config.json", "result.json", "run.log"))
    with open(cfg_path, "w") as f:
        json.dump(cfg, f)
    calls_before = server.count() if server else 0
    server_cpu = cpu_seconds(server.pid) if server else 0.0
    res: dict | None = None
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "benchmarks._run", cfg_path, out_path], cwd=ROOT,
                                stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        deadline = time.monotonic() + args.timeout + 60
        while proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.25)
            n = base + min(_progress(cfg["progress"]), _units(scenario, args))
            if n != bar.n:
                bar.update(n - bar.n)
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
            res = {"ok": False, "error": f"timed out after {args.timeout + 60:.0f} s (killed)"}
    if res is None:
        try:
            with open(out_path) as f:
                res = json.load(f)
        except (OSError, ValueError):
            res = {"ok": False, "error": f"no result (exit code {proc.returncode}); see {log_path}"}
    # whatever happened, no daemon process of this contender outlives it
    if os.path.exists(cfg["pids"]):
        with open(cfg["pids"]) as f:
            left = reap(json.load(f), wait=5.0)
        if left["killed"]:
            res.setdefault("notes", []).append(f"killed leftover daemon pids {left['killed']}")
    res.update(scenario=scenario, contender=contender)
    if server and res.get("calls_expected") is not None:
        res["calls_served"] = server.count() - calls_before
        if res.get("cpu_seconds") is not None:    # the worker server's CPU over the whole contender
            res["cpu_seconds"]["server (whole run)"] = round(cpu_seconds(server.pid) - server_cpu, 3)
        if res["ok"] and res["calls_served"] != res["calls_expected"]:
            res["ok"] = False
            res["error"] = f"the server saw {res['calls_served']} calls, expected {res['calls_expected']}"
    if not res.get("ok"):
        res["log"] = log_path
    elif not args.keep:
        shutil.rmtree(work, ignore_errors=True)
    return res


def run_base(base_dir: str, scenario: str, contender: str, args, url: str, server, bar, done: int,
             dbs=None) -> dict:
    """``contender`` (``<name>@base``) run from the checkout ``base_dir``: its ``goflow``, ``actors``
    and ``benchmarks`` first on the path of the contender's process and of its daemon's (they inherit
    ``PYTHONPATH``), to compare a change with the code before it in one run, rounds interleaved."""
    global ROOT
    root, path = ROOT, os.environ.get("PYTHONPATH")
    ROOT = base_dir
    os.environ["PYTHONPATH"] = base_dir + (os.pathsep + path if path else "")
    try:
        res = _run_one(scenario, contender.split("@")[0], args, url, server, bar, done, dbs)
    finally:
        ROOT = root
        if path is None:
            os.environ.pop("PYTHONPATH", None)
        else:
            os.environ["PYTHONPATH"] = path
    res["contender"] = contender
    return res


def merge_rounds(results: list) -> list:
    """One row per contender: its median round by workflows/s among the rounds that completed (the
    first failure when none did), with every round's workflows/s and failures noted."""
    merged, order = {}, []
    for r in results:
        key = r["contender"]
        if key not in merged:
            merged[key] = []
            order.append(key)
        merged[key].append(r)
    out = []
    for key in order:
        runs = merged[key]
        if len(runs) == 1:
            out.append(runs[0])
            continue
        good = sorted((r for r in runs if r.get("ok")), key=lambda r: r.get("workflows_per_s") or 0)
        row = dict(good[(len(good) - 1) // 2] if good else runs[0])
        row["rounds_workflows_per_s"] = [r.get("workflows_per_s") if r.get("ok") else None for r in runs]
        if row.get("scenario") == "engine-only":
            row["rounds_transitions_per_s"] = [r.get("transitions_per_s") if r.get("ok") else None for r in runs]
        row["rounds_cpu_seconds"] = [r.get("cpu_seconds") if r.get("ok") else None for r in runs]
        failed = [r.get("error") for r in runs if not r.get("ok")]
        if failed and good:
            row.setdefault("notes", []).append(f"{len(failed)} of {len(runs)} rounds failed: {failed[0]}")
        out.append(row)
    return out


def _units(scenario: str, args) -> int:
    return {"http": args.instances, "engine-only": args.engine_instances, "idle": args.idle,
            "recovery": args.recovery, "latency": args.latency,
            "passivated-events": args.passivated_events}[scenario]


def _progress(path: str) -> int:
    try:
        with open(path) as f:
            return int(f.read().strip() or 0)
    except (OSError, ValueError):
        return 0


def parse(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.throughput", description=__doc__.split("\n")[0])
    p.add_argument("--instances", type=int, default=2000, help="workflows per HTTP contender")
    p.add_argument("--concurrency", type=int, default=200, help="HTTP calls in flight at most")
    p.add_argument("--steps", type=int, default=3, help="steps per workflow")
    p.add_argument("--shards", type=int, default=2, help="daemon shards (hosts)")
    p.add_argument("--http", action="store_true", help="run the HTTP scenario with other scenarios")
    p.add_argument("--rounds", type=int, default=1, help="HTTP and engine-only rounds (interleaved); each "
                   "contender's row is its median round by workflows/s")
    p.add_argument("--engine-only", action="store_true", help="continue-only flow: transitions/s")
    p.add_argument("--engine-instances", type=int, default=None, help="instances for --engine-only "
                   "(default: --instances)")
    p.add_argument("--idle", type=int, default=0, metavar="N", help="N waiting instances in one daemon")
    p.add_argument("--recovery", type=int, default=0, metavar="N", help="recover N unfinished instances")
    p.add_argument("--latency", type=int, nargs="?", const=200, default=0, metavar="N",
                   help="event ack latency over N sends (default 200)")
    p.add_argument("--passivated-events", type=int, default=0, metavar="N",
                   help="N events at 1,000/s to random passivated instances: ack latency")
    p.add_argument("--no-dbos", action="store_true", help="leave DBOS out")
    p.add_argument("--metrics-off", action="store_true", help="also run the daemon contenders with "
                   "metrics.enabled: false (the cost of metrics, docs/metrics.md)")
    p.add_argument("--only", default="", help="comma-separated contenders to keep")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds per contender")
    p.add_argument("--results-dir", default=os.path.join(ROOT, "benchmarks", "results"))
    p.add_argument("--profile", default="", metavar="DIR", help="cProfile each contender into DIR")
    p.add_argument("--keep", action="store_true", help="keep every contender's work dir")
    p.add_argument("--base", default="", metavar="DIR", help="also run each GoFlow contender from the "
                   "checkout DIR, right after it (rows <name>@base): a change and the code before it, one run")
    p.add_argument("--postgres", action="store_true", help="also run GoFlow on PostgreSQL (a throwaway "
                   "server started and removed by the run; needs the postgresql package)")
    p.add_argument("--store-url", default="", metavar="URL", help="also run GoFlow on PostgreSQL, on this "
                   "scratch database (its goflow_* tables are dropped before each contender)")
    args = p.parse_args(argv)
    if args.engine_instances is None:
        args.engine_instances = args.instances
    for name in ("instances", "concurrency", "steps", "shards", "engine_instances", "rounds"):
        if getattr(args, name) < 1:
            p.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.base:
        args.base = os.path.abspath(args.base)
        if not os.path.isfile(os.path.join(args.base, "benchmarks", "_run.py")):
            p.error(f"--base {args.base}: not a GoFlow checkout (no benchmarks/_run.py)")
    if args.profile:
        args.profile = os.path.abspath(args.profile)
        os.makedirs(args.profile, exist_ok=True)
    return args


def main(argv=None) -> int:
    from tqdm import tqdm

    from ._server import WorkerServer

    args = parse(argv)
    steps = plan(args)
    started = _dt.datetime.now()
    doc = {"started": started.isoformat(timespec="seconds"),
           "command": "python -m benchmarks.throughput " + " ".join(sys.argv[1:] if argv is None else argv),
           "machine": {"python": platform.python_version(), "cpus": os.cpu_count(),
                       "platform": platform.platform()},
           "config": {k: v for k, v in vars(args).items()}, "results": []}
    server = WorkerServer().start() if any(s == "http" for s, _, _ in steps) else None
    dbs = _Databases(args) if any(c.endswith("-pg") for _, c, _ in steps) else None
    try:
        total = sum(u for _, _, u in steps)
        with tqdm(total=total, unit="wf", file=sys.stderr, dynamic_ncols=True,
                  mininterval=0.5 if sys.stderr.isatty() else 10.0) as bar:
            base = 0
            for scenario, contender, units in steps:
                bar.set_description(contender)
                url = server.url if server else ""
                if contender.endswith("@base"):
                    res = run_base(args.base, scenario, contender, args, url, server, bar, base, dbs)
                else:
                    res = _run_one(scenario, contender, args, url, server, bar, base, dbs)
                doc["results"].append(res)
                base += units
                bar.update(base - bar.n)
                bar.write(f"{contender}: {'ok' if res.get('ok') else 'FAILED: ' + str(res.get('error'))}")
    finally:
        if server:
            doc["server_pid"] = server.pid
            server.stop()
        if dbs is not None:
            dbs.close()
    if args.rounds > 1:
        doc["rounds"] = doc["results"]
        doc["results"] = merge_rounds(doc["results"])
    add_ratios(doc["results"])
    doc["targets"] = targets(doc["results"], args.steps, doc["config"])
    doc["finished"] = _dt.datetime.now().isoformat(timespec="seconds")
    os.makedirs(args.results_dir, exist_ok=True)
    path = os.path.join(args.results_dir, started.strftime("%Y%m%d-%H%M%S") + ".json")
    with open(path, "w") as f:
        json.dump(doc, f, indent=1, default=str)
    print(render(doc))
    print(f"\nJSON: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
