"""Ratios, targets and the printed table of ``benchmarks.throughput``."""
from __future__ import annotations

__all__ = ["TARGETS", "add_ratios", "targets", "render"]

GB = 1 << 30
MB = 1 << 20
TARGETS = {
    "daemon_vs_limit": 0.7,          # 3-step HTTP flow on the daemon, workflows/s / the limit's
    "daemon_vs_dbos": 10.0,          # ... / DBOS's
    "engine_transitions_per_s": 20_000,
    "idle_instances": 100_000, "idle_rss_bytes": 2 * GB,
    "recovery_instances": 100_000, "recovery_seconds": 10.0,
    "ack_p50_ms": 2.0, "ack_p99_ms": 20.0,
    "pg_vs_sqlite_engine": 0.5,      # engine-only transitions/s, PostgreSQL / SQLite
    "pg_vs_sqlite_http": 0.85,       # HTTP flow workflows/s, PostgreSQL / SQLite
}


def _by(results, name):
    for r in results:
        if r.get("contender") == name:
            return r
    return None


def _rate(r):
    return r.get("workflows_per_s") if r and r.get("ok") else None


def add_ratios(results: list) -> None:
    """``ratio_to_limit`` (aiohttp, GoFlow's transport), ``ratio_to_limit_httpx`` and
    ``ratio_to_dbos`` of workflows/s for every HTTP contender that completed."""
    base = {"ratio_to_limit": _rate(_by(results, "limit-aiohttp")),
            "ratio_to_limit_httpx": _rate(_by(results, "limit-httpx")),
            "ratio_to_dbos": _rate(_by(results, "dbos"))}
    for r in results:
        if r.get("contender", "").endswith("-pg"):      # PostgreSQL next to the same on SQLite
            same = _by(results, r["contender"][:-3])
            key = "transitions_per_s" if r.get("scenario") == "engine-only" else "workflows_per_s"
            mine, ref = (x.get(key) if x and x.get("ok") else None for x in (r, same))
            r["ratio_to_sqlite"] = mine / ref if mine and ref else None
            if r["ratio_to_sqlite"] is not None:
                r.setdefault("notes", []).append(f"{r['ratio_to_sqlite']:.2f}x SQLite")
        if r.get("scenario") != "http":
            continue
        mine = _rate(r)
        for key, ref in base.items():
            r[key] = mine / ref if mine and ref else None


def _t(name, target, value, met, note=""):
    """``met``: True/False, or None when not measured (or not at the target's size)."""
    return {"target": name, "goal": target, "value": value,
            "met": None if value is None or met is None else bool(met), "note": str(note)[:100]}


def targets(results: list, steps: int) -> list[dict]:
    """Each target: measured value, met (True/False) or None when not measured."""
    out = []
    d = _by(results, "goflow-daemon")
    if d is not None and d.get("scenario") == "http":
        note = "" if steps == 3 else f"measured with --steps {steps}"
        v = d.get("ratio_to_limit")
        out.append(_t("HTTP flow, daemon workflows/s vs the limit (aiohttp)",
                      f">= {TARGETS['daemon_vs_limit']}",
                      v, v is not None and v >= TARGETS["daemon_vs_limit"], note))
        v = d.get("ratio_to_dbos")
        out.append(_t("HTTP flow, daemon workflows/s vs DBOS", f">= {TARGETS['daemon_vs_dbos']:g}x", v,
                      v is not None and v >= TARGETS["daemon_vs_dbos"], note))
    for name in ("engine-embedded", "engine-daemon"):
        r = _by(results, name)
        if r is not None:
            v = r.get("transitions_per_s") if r.get("ok") else None
            out.append(_t(f"engine only ({name.split('-')[1]}), transitions/s",
                          f">= {TARGETS['engine_transitions_per_s']:,}", v,
                          v is not None and v >= TARGETS["engine_transitions_per_s"]))
    for name, key, what in (("engine-daemon-pg", "pg_vs_sqlite_engine", "engine only (daemon)"),
                            ("engine-embedded-pg", "pg_vs_sqlite_engine", "engine only (embedded)"),
                            ("goflow-daemon-pg", "pg_vs_sqlite_http", "HTTP flow (daemon)"),
                            ("goflow-embedded-pg", "pg_vs_sqlite_http", "HTTP flow (embedded)")):
        r = _by(results, name)
        if r is not None:
            v = r.get("ratio_to_sqlite")
            out.append(_t(f"{what}, PostgreSQL vs SQLite", f">= {TARGETS[key]}", v,
                          v is not None and v >= TARGETS[key], "" if r.get("ok") else r.get("error", "")))
    r = _by(results, "idle-daemon")
    if r is not None and r.get("ok"):
        n, want = r["expected"], TARGETS["idle_instances"]
        rss = r["rss_after"]
        note = ""
        if n < want:
            rss = r["rss_before"] + r["rss_per_instance"] * want
            note = f"extrapolated from {n:,} instances (linear in RSS per instance)"
        out.append(_t(f"{want:,} waiting instances in one daemon, RSS (summed over its processes)",
                      f"<= {TARGETS['idle_rss_bytes'] / GB:g} GB", rss, rss <= TARGETS["idle_rss_bytes"],
                      note))
    elif r is not None:
        out.append(_t("100,000 waiting instances, RSS", "<= 2 GB", None, False, r.get("error", "")))
    r = _by(results, "recovery-daemon")
    if r is not None:
        n, want = r.get("expected", 0), TARGETS["recovery_instances"]
        v = r.get("seconds") if r.get("ok") else None
        note = "" if n >= want else f"measured with {n:,} instances, not {want:,}"
        out.append(_t(f"recovery of {want:,} unfinished instances, seconds",
                      f"<= {TARGETS['recovery_seconds']:g} s", v,
                      None if n < want else (v is not None and v <= TARGETS["recovery_seconds"]),
                      note if r.get("ok") else r.get("error", "")))
    r = _by(results, "latency-daemon")
    if r is not None:
        ok = r.get("ok")
        p50, p99 = (r.get("p50_ms"), r.get("p99_ms")) if ok else (None, None)
        out.append(_t("event ack p50, ms", f"< {TARGETS['ack_p50_ms']:g}", p50,
                      p50 is not None and p50 < TARGETS["ack_p50_ms"]))
        out.append(_t("event ack p99, ms", f"< {TARGETS['ack_p99_ms']:g}", p99,
                      p99 is not None and p99 < TARGETS["ack_p99_ms"]))
    return out


# ------------------------------------------------------------------------------------------ table
def _f(v, fmt="{:,.0f}"):
    return "-" if v is None else fmt.format(v)


def _row(cells, widths):
    return "  ".join(str(c).rjust(w) if i else str(c).ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def _table(head, rows):
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    lines = [_row(head, widths), _row(["-" * w for w in widths], widths)]
    lines += [_row(r, widths) for r in rows]
    return "\n".join(lines)


def _err(r):
    if r.get("ok"):
        notes = list(r.get("notes") or ())
        rounds = r.get("rounds_workflows_per_s")
        if rounds:
            notes.insert(0, "rounds " + "/".join("x" if v is None else f"{v:,.0f}" for v in rounds))
        return "; ".join(notes)[:120]
    return ("SKIPPED: " if r.get("skipped") else "FAILED: ") + str(r.get("error", ""))[:120]


def _cpu_lines(rows) -> list[str]:
    """CPU seconds per process over each row's measured phase (``client``: the contender's own
    process, which embedded is the whole engine), per 1,000 workflows or instances."""
    out = []
    for r in rows:
        cpu, n = r.get("cpu_seconds"), r.get("workflows")
        if r.get("ok") and cpu and n:
            parts = ", ".join(f"{k} {v * 1e6 / n:,.0f}" for k, v in cpu.items() if v >= 0.005)
            out.append(f"  {r['contender']}: {parts}")
    return ["CPU ms per 1,000 (by process, the measured phase; /proc ticks of 10 ms):"] + out if out else []


def render(doc: dict) -> str:
    res, cfg = doc["results"], doc["config"]
    out = [f"{doc['command']}", f"Python {doc['machine']['python']}, {doc['machine']['cpus']} CPUs; "
           f"started {doc['started']}"]
    http = [r for r in res if r.get("scenario") == "http"]
    if http:
        out.append(f"\nHTTP flow: {cfg['instances']:,} workflows x {cfg['steps']} steps, at most "
                   f"{cfg['concurrency']} calls in flight, durable store on (GoFlow, DBOS)"
                   + (f"; median of {cfg['rounds']} interleaved rounds" if cfg.get("rounds", 1) > 1 else ""))
        rows = [[r["contender"], _f(r.get("workflows")),
                 _f(r.get("workflows_per_s") if r.get("ok") else None),
                 _f(r.get("steps_per_s") if r.get("ok") else None), _f(r.get("p50_ms"), "{:,.1f}"),
                 _f(r.get("p99_ms"), "{:,.1f}"), _f((r.get("peak_rss_bytes") or 0) / MB or None),
                 _f(r.get("ratio_to_limit"), "{:.2f}"), _f(r.get("ratio_to_limit_httpx"), "{:.2f}"),
                 _f(r.get("ratio_to_dbos"), "{:.1f}x"), _err(r)] for r in http]
        out.append(_table(["contender", "done", "wf/s", "steps/s", "p50 ms", "p99 ms", "peak RSS MB",
                           "x limit", "x httpx-limit", "x DBOS", ""], rows))
        out += _cpu_lines(http)
    eng = [r for r in res if r.get("scenario") == "engine-only"]
    if eng:
        out.append(f"\nEngine only: {cfg['engine_instances']:,} continue-only instances, "
                   f"{cfg['steps'] + 1} transitions each, durable")
        rows = [[r["contender"], _f(r.get("workflows")),
                 _f(r.get("workflows_per_s") if r.get("ok") else None),
                 _f(r.get("transitions_per_s") if r.get("ok") else None), _f(r.get("p50_ms"), "{:,.1f}"),
                 _f(r.get("p99_ms"), "{:,.1f}"), _f((r.get("peak_rss_bytes") or 0) / MB or None), _err(r)]
                for r in eng]
        out.append(_table(["contender", "done", "instances/s", "transitions/s", "batch p50 ms",
                           "batch p99 ms", "peak RSS MB", ""], rows))
        out += _cpu_lines(eng)
    for r in res:
        if r.get("scenario") == "idle":
            out.append(f"\nIdle: {r.get('expected', cfg['idle']):,} waiting instances in one daemon "
                       f"({cfg['shards']} shards)" + (f" -- {_err(r)}" if not r.get("ok") else ""))
            if r.get("ok"):
                out.append(f"  RSS summed over daemon pids: {r['rss_before'] / MB:,.0f} MB after boot -> "
                           f"{r['rss_after'] / MB:,.0f} MB ({r['rss_per_instance']:,.0f} B/instance); "
                           f"PSS {r['pss_before'] / MB:,.0f} -> {r['pss_after'] / MB:,.0f} MB "
                           f"({r['pss_per_instance']:,.0f} B/instance); created at "
                           f"{r['workflows_per_s']:,.0f}/s")
        elif r.get("scenario") == "recovery":
            out.append(f"\nRecovery: {r.get('expected', cfg['recovery']):,} unfinished (waiting) instances"
                       + (f" -- {_err(r)}" if not r.get("ok") else ""))
            if r.get("ok"):
                out.append(f"  start_daemon -> returned with recovered={r['recovered']:,}: "
                           f"{r['seconds']:.2f} s (creating them took {r['create_seconds']:.1f} s; "
                           f"daemon RSS after {r['rss_after'] / MB:,.0f} MB)")
        elif r.get("scenario") == "latency":
            out.append(f"\nEvent latency: engine.send to {r.get('expected', cfg['latency']):,} waiting "
                       "instances on the daemon, one at a time"
                       + (f" -- {_err(r)}" if not r.get("ok") else ""))
            if r.get("ok"):
                out.append(f"  ack p50 {r['p50_ms']:.2f} ms, p99 {r['p99_ms']:.2f} ms, "
                           f"max {r['max_ms']:.2f} ms")
    if doc.get("targets"):
        out.append("\nTargets")
        rows = []
        for t in doc["targets"]:
            v = t["value"]
            if isinstance(v, (int, float)) and "RSS" in t["target"]:
                shown = f"{v / MB:,.0f} MB"
            elif isinstance(v, (int, float)):
                shown = f"{v:,.2f}" if v < 100 else f"{v:,.0f}"
            else:
                shown = "-"
            status = {True: "met", False: "MISSED", None: "not measured"}[t["met"]]
            rows.append([t["target"], t["goal"], shown, status, t["note"]])
        out.append(_table(["target", "goal", "measured", "", "note"], rows))
    return "\n".join(out)
