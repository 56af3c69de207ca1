"""``goflow run``: one-shot, embedded — load, deploy, start N instances, wait, summarise.

The engine runs inside the command's process (Thespian's simpleSystemBase) on a data directory of its
own (a temporary one unless ``--data`` is given), so nobody else can send an event to its instances.
An instance therefore counts as *settled* when it is finished (completed, failed, terminated) or
*idle*: waiting for an outside event with no step, timer or async call in flight — it would wait
forever. The summary lists instances by status and state; the exit status is 0 only when every
instance completed (1 otherwise, and 1 on ``--timeout``).
"""
from __future__ import annotations

import logging
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import click

from goflow.errors import GoflowError, InstanceNotFound
from goflow.paging import every

from ._cli_shared import (config_option, emit, json_arg, json_option, load, load_documents, one_line_errors,
                          store_url_option, check_store)

__all__ = ["run", "default_example"]

BUSY = ("running", "delayed")


def default_example() -> Path:
    import goflow.examples
    return Path(goflow.examples.__file__).resolve().parent / "runnable"


@click.command()
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--instances", "-n", type=click.IntRange(min=1), default=1, show_default=True,
              help="How many instances to start.")
@click.option("--input", "input_json", default=None, metavar="JSON|@FILE",
              help="Every instance's input, a JSON object (default {}).")
@click.option("--blueprint", "-b", "wanted", default=None, metavar="PROJECT/ACTIVITY[@VERSION]",
              help="Which blueprint to run when PATHS hold several.")
@click.option("--concurrency", "-c", type=click.IntRange(min=1), default=None,
              help="Worker calls in flight at once (default: engine.concurrency).")
@click.option("--data", "data_dir", type=str, default=None, metavar="DIR",
              help="Keep the instances in this data directory (default: a temporary one, removed).")
@click.option("--timeout", type=click.FloatRange(min=0.1), default=300.0, show_default=True,
              help="Give up after this many seconds (exit 1).")
@store_url_option
@config_option
@json_option
@one_line_errors
def run(paths, instances, input_json, wanted, concurrency, data_dir, timeout, store_url, config_path,
        as_json) -> None:
    """Run blueprint PATHS once, embedded (default: the bundled runnable example).

    Starts N instances, shows progress on a terminal, waits until each is finished or idle (waiting
    for an event nobody can send), prints a summary by status and state. Exit 0 only if all completed.
    """
    from goflow._cli_common import blueprint_label, select_blueprint
    from .api import Engine
    cfg = load(config_path, engine_concurrency=concurrency, store_url=store_url)
    data = json_arg(input_json, "--input", cfg.limits.event_bytes) or {}
    paths = list(paths) or [str(default_example())]
    bp = select_blueprint(load_documents(paths, cfg, outcome="nothing was run"), wanted)
    check_store(cfg)
    label = blueprint_label(bp)
    tmp = None if data_dir else tempfile.mkdtemp(prefix="goflow-run-")
    began = time.monotonic()
    try:
        eng = Engine.embedded(data_dir or tmp, blueprints=[bp], settings=cfg)
        logging.getLogger("goflow").propagate = False   # Thespian's embedded base logs the root too
        try:
            ids = eng.start_many(f"{bp.project}/{bp.activity}", [dict(data) for _ in range(instances)],
                                 version=bp.version)
            timed_out = not _settle(eng, ids, timeout, show=sys.stderr.isatty() and not as_json)
            rows = _final_rows(eng, ids)
        finally:
            eng.close()
    finally:
        if tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    seconds = time.monotonic() - began
    groups = Counter((r["status"], r["state"]) for r in rows)
    reasons = {(r["status"], r["state"]): r.get("reason") for r in rows if r.get("reason")}
    groups_total = sum(groups.values())
    completed = sum(n for (status, _), n in groups.items() if status == "completed")
    ok = completed == instances and not timed_out
    summary = {"blueprint": label, "instances": instances, "seconds": round(seconds, 3), "ok": ok,
               "timed_out": timed_out, "completed": completed,
               "by_status": dict(Counter(r["status"] for r in rows)),
               "groups": [{"status": s, "state": st, "instances": n, "reason": reasons.get((s, st))}
                          for (s, st), n in sorted(groups.items())]}

    def text() -> str:
        lines = [f"goflow run: {instances} instance(s) of {label} in {seconds:.2f}s"]
        for (status, state), n in sorted(groups.items()):
            why = f"  ({reasons[(status, state)]})" if (status, state) in reasons else ""
            lines.append(f"  {n:>6} {status:<10} in state {state}{why}")
        if timed_out:
            lines.append(f"timed out after {timeout:g}s: {groups_total - completed} instance(s) not completed")
        elif ok:
            lines.append(f"ok: all {instances} instance(s) completed")
        else:
            lines.append(f"failed: {instances - completed} of {instances} instance(s) did not complete")
        return "\n".join(lines)
    emit(summary, as_json, text)
    if not ok:
        raise SystemExit(1)


def _counts(eng) -> Counter:
    c: Counter = Counter()
    for (_p, _a, _v, status), n in eng.counts().items():
        c[status] += n
    return c


def _idle(eng, n_waiting: int) -> bool:
    """Every waiting instance has nothing in flight (no accepted async call awaiting its event)."""
    rows = every(eng.list, status="waiting")
    return all(eng.status(r["id"]).get("pending") is None for r in rows)


def _settle(eng, ids: list[str], timeout: float, show: bool) -> bool:
    """Drive the embedded engine until every instance is finished or idle; False on timeout."""
    bar = None
    if show:
        from tqdm import tqdm
        bar = tqdm(total=len(ids), unit="inst", desc="instances", file=sys.stderr, leave=False)
    deadline = time.monotonic() + timeout
    probe = 0
    try:
        while True:
            c = _counts(eng)
            busy = sum(c[s] for s in BUSY)
            if bar is not None:
                bar.n = len(ids) - busy
                bar.set_postfix({k: v for k, v in sorted(c.items()) if v}, refresh=True)
            if busy == 0 and (c["waiting"] == 0 or _idle(eng, c["waiting"])):
                return True
            if time.monotonic() >= deadline:
                return False
            # An embedded engine's actors run while this thread is inside an engine call: wait on one
            # unfinished instance for a moment (it returns early when that one finishes).
            try:
                eng.wait(ids[probe % len(ids)], timeout=min(0.25, max(0.01, deadline - time.monotonic())))
                probe += 1
            except TimeoutError:
                probe += 1 if c["waiting"] else 0
            except (InstanceNotFound, GoflowError):
                probe += 1
    finally:
        if bar is not None:
            bar.close()


def _final_rows(eng, ids: list[str]) -> list[dict]:
    rows = every(eng.list)
    wanted = set(ids)
    return [r for r in rows if r["id"] in wanted]
