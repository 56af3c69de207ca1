"""One contender in its own process: ``python -m benchmarks._run CONFIG.json RESULT.json``.

The harness runs every contender in a fresh process so that its peak RSS is its own (VmHWM of this
process, plus the daemon's processes for daemon contenders), so that one contender's crash or hang
cannot take the run down, and so that DBOS's process-wide singleton is used once per process.
Whatever happens, a result document is written; an exception becomes ``ok: false`` with its text.
"""
from __future__ import annotations

import json
import os
import sys
import time
import traceback

from ._common import proc_mem

CONTENDERS = {
    "limit-aiohttp": lambda cfg: _direct().run_limit(cfg, "aiohttp"),
    "limit-httpx": lambda cfg: _direct().run_limit(cfg, "httpx-aiohttp"),
    "goflow-embedded": lambda cfg: _goflow().run_http(cfg, "embedded"),
    "goflow-daemon": lambda cfg: _goflow().run_http(cfg, "daemon"),
    "goflow-daemon-nometrics": lambda cfg: _goflow().run_http(dict(cfg, metrics=False), "daemon"),
    "dbos": lambda cfg: _direct().run_dbos(cfg),
    "limit-grpc": lambda cfg: _grpc_direct().run_limit_grpc(cfg),              # benchmarks.grpc_bench
    "goflow-daemon-grpc": lambda cfg: _goflow().run_http(cfg, "daemon"),      # cfg["url"]: grpc://...
    "engine-embedded": lambda cfg: _goflow().run_engine_only(cfg, "embedded"),
    "engine-daemon": lambda cfg: _goflow().run_engine_only(cfg, "daemon"),
    "engine-daemon-nometrics": lambda cfg: _goflow().run_engine_only(dict(cfg, metrics=False), "daemon"),
    # the same on the PostgreSQL store (cfg["store_url"], a fresh database per contender)
    "goflow-embedded-pg": lambda cfg: _goflow().run_http(cfg, "embedded"),
    "goflow-daemon-pg": lambda cfg: _goflow().run_http(cfg, "daemon"),
    "engine-embedded-pg": lambda cfg: _goflow().run_engine_only(cfg, "embedded"),
    "engine-daemon-pg": lambda cfg: _goflow().run_engine_only(cfg, "daemon"),
    "idle-daemon": lambda cfg: _goflow().run_idle(cfg),
    "recovery-daemon": lambda cfg: _goflow().run_recovery(cfg),
    "latency-daemon": lambda cfg: _goflow().run_latency(cfg),
    "passivated-events-daemon": lambda cfg: _passivation().run_passivated_events(cfg),
    "resident-events-daemon": lambda cfg: _passivation().run_passivated_events(cfg, resident_too=True),
}


def _direct():
    from . import _direct as m
    return m


def _grpc_direct():
    from . import _grpc_direct as m
    return m


def _goflow():
    from . import _goflow as m
    return m


def _passivation():
    from . import _passivation as m
    return m


def run(cfg: dict) -> dict:
    name = cfg["contender"]
    t0 = time.perf_counter()
    res: dict = {"contender": name, "ok": False}
    profiler = None
    try:
        if cfg.get("profile"):
            import cProfile
            profiler = cProfile.Profile()
            profiler.enable()
        res.update(CONTENDERS[name](cfg))
        res["ok"] = res.get("workflows") == res.get("expected")
        if not res["ok"]:
            res["error"] = f"{res.get('workflows')} of {res.get('expected')} completed"
    except BaseException as exc:  # reported in the table, never a crash of the run
        res["error"] = f"{type(exc).__name__}: {exc}"
        res["traceback"] = traceback.format_exc(limit=8)
    finally:
        if profiler is not None:
            profiler.disable()
            profiler.dump_stats(cfg["profile"])
    import goflow                       # which checkout's code ran (throughput --base runs another's)
    res["goflow_path"] = os.path.dirname(os.path.abspath(goflow.__file__))
    own = proc_mem("self")["hwm"]
    res["client_peak_bytes"] = own
    res["peak_rss_bytes"] = own + int(res.get("daemon_peak_bytes") or 0) + int(res.get("children_peak_bytes") or 0)
    res["wall_seconds"] = time.perf_counter() - t0
    return res


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    with open(argv[0]) as f:
        cfg = json.load(f)
    res = run(cfg)
    with open(argv[1], "w") as f:
        json.dump(res, f, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
