"""Prometheus metrics of a daemon (SPEC §10 "Metrics"; every series in docs/metrics.md).

prometheus_client in multiprocess mode: every process of a daemon (instance hosts, worker proxies, the
root, the HTTP API) writes its samples into memory-mapped files in ``<data dir>/metrics``
(``PROMETHEUS_MULTIPROC_DIR``), emptied when the daemon starts; ``/metrics`` on the HTTP API sums
them (:func:`exposition`) and adds the gauges computed at scrape time from the stores' counts
(instances by blueprint and status, active instances: no instance id is ever a label).

Off until :func:`enable` is called in a process (``metrics.enabled``, a daemon only): every hook below
is then a no-op that costs one global lookup. Hooks aggregate before they touch a sample (one
increment per label set per batch), and label children are cached.
"""
from __future__ import annotations

import os
import shutil
from typing import Iterable, Mapping

__all__ = ["DIR_NAME", "directory", "reset_directory", "remove_directory", "enable", "setup", "enabled", "disable", "committed",
           "restart", "attempts", "event_ack", "resident", "exposition", "outcome_class", "OUTCOME_CLASSES"]

DIR_NAME = "metrics"
ENV = "PROMETHEUS_MULTIPROC_DIR"
# outcome classes of a worker attempt (the `outcome` label): an HTTP status by its hundred, else the
# attempt record's own word (a gRPC status code's name for grpc:// workers); anything else is "other"
# (a bounded label set)
GRPC_CODES = ("OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
              "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
              "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED")
OUTCOME_CLASSES = ("1xx", "2xx", "3xx", "4xx", "5xx", "timeout", "connect-error", "body-too-large",
                   "unknown-scheme", "bad-worker", "bad-endpoint", "bad-response", "transport-error", "exception",
                   "no-worker", "other") + GRPC_CODES
_WORDS = frozenset(OUTCOME_CLASSES)
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000)

_m: "_Metrics | None" = None


def directory(data_dir: str) -> str:
    return os.path.join(data_dir, DIR_NAME)


def reset_directory(data_dir: str) -> str:
    """Empty ``<data dir>/metrics`` (a daemon's start: the counters begin at 0); returns its path."""
    path = directory(data_dir)
    shutil.rmtree(path, ignore_errors=True)
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def remove_directory(data_dir: str) -> None:
    """No samples left behind (``metrics.enabled: false``): the HTTP API then records none either."""
    shutil.rmtree(directory(data_dir), ignore_errors=True)


class _Metrics:
    def __init__(self):
        from prometheus_client import Counter, Gauge, Histogram
        self.transitions = Counter("goflow_transitions", "FSM transitions committed (an instance moved to a "
                                   "state)", ["blueprint"], registry=None)
        self.commit_seconds = Histogram("goflow_store_commit_duration_seconds", "One store transaction of a "
                                        "host's batch", buckets=LATENCY_BUCKETS, registry=None)
        self.commit_size = Histogram("goflow_store_commit_batch_size", "Instances written by one store "
                                     "transaction", buckets=BATCH_BUCKETS, registry=None)
        self.restarts = Counter("goflow_restarts", "Restarts by the supervisors: an instance's handler "
                                "(kind=instance), a child of the root (dispatcher, host, proxy), the root",
                                ["kind"], registry=None)
        self.calls = Histogram("goflow_worker_call_duration_seconds", "Worker call attempts: latency by action "
                               "and outcome class", ["action", "outcome"], buckets=LATENCY_BUCKETS, registry=None)
        self.retries = Counter("goflow_worker_retries", "Worker call attempts that repeated a failed one on "
                               "the same endpoint", ["action"], registry=None)
        self.fallbacks = Counter("goflow_worker_fallbacks", "Worker calls passed on to the next endpoint "
                                 "after one was exhausted", ["action"], registry=None)
        self.acks = Histogram("goflow_event_ack_duration_seconds", "HTTP API event posts: from the request "
                              "read to its durable acknowledgement", buckets=LATENCY_BUCKETS, registry=None)
        # each host sets its own; the scrape sums the live hosts' (a dead host's value goes with it)
        self.resident = Gauge("goflow_resident_instances", "Instances held in the hosts' memory (the rest "
                              "are passivated)", multiprocess_mode="livesum", registry=None)
        self._children: dict = {}

    def child(self, metric, *labels):
        key = (id(metric), labels)
        c = self._children.get(key)
        if c is None:
            c = self._children[key] = metric.labels(*labels)
        return c


def enable(data_dir: str) -> None:
    """Record this process's metrics into ``<data dir>/metrics`` (made if missing). Idempotent."""
    global _m
    if _m is not None:
        return
    path = directory(data_dir)
    os.makedirs(path, mode=0o700, exist_ok=True)
    os.environ[ENV] = path
    from prometheus_client import values
    if not getattr(values.ValueClass, "__name__", "").startswith("MmapedValue"):
        values.ValueClass = values.MultiProcessValue()
    _m = _Metrics()


def setup(settings) -> None:
    """Enable metrics in an actor process of a daemon (a :class:`goflow.config.Config` with
    ``in_daemon``) when ``metrics.enabled``; an embedded engine records none."""
    if settings.in_daemon and settings.metrics.enabled:
        enable(settings.engine.data_dir)


def enabled() -> bool:
    return _m is not None


def disable() -> None:
    """Stop recording in this process (tests)."""
    global _m
    _m = None


# ------------------------------------------------------------------------------------ hooks
def committed(seconds: float, size: int, changed: Iterable[tuple]) -> None:
    """A host's store transaction of ``size`` instances took ``seconds``; ``changed`` is
    ``(project, activity, records)`` per instance written: its ``applied`` records with a ``next``
    state are its transitions."""
    m = _m
    if m is None:
        return
    m.commit_seconds.observe(seconds)
    m.commit_size.observe(size)
    by: dict = {}
    for project, activity, records in changed:
        n = 0
        for r in records:
            if r.next is not None and r.outcome == "applied":
                n += 1
        if n:
            key = f"{project}/{activity}"
            by[key] = by.get(key, 0) + n
    for blueprint, n in by.items():
        m.child(m.transitions, blueprint).inc(n)


def restart(kind: str, n: int = 1) -> None:
    m = _m
    if m is None:
        return
    m.child(m.restarts, kind).inc(n)


def outcome_class(outcome: str | None) -> str:
    if outcome and len(outcome) == 3 and outcome.isdigit():
        return outcome[0] + "xx"
    return outcome if outcome in _WORDS else "other"


def attempts(action: str, records: Iterable) -> None:
    """One step's attempt records (:class:`goflow.history.Record`): each is a call of the histogram;
    one on the endpoint of the one before is a retry, one on another endpoint a fallback."""
    m = _m
    if m is None:
        return
    action = action or ""
    previous = None
    retries = fallbacks = 0
    for r in records:
        if r.attempt is None:
            continue
        m.child(m.calls, action, outcome_class(r.outcome)).observe(r.latency or 0.0)
        if previous is not None:
            if r.endpoint == previous:
                retries += 1
            else:
                fallbacks += 1
        previous = r.endpoint
    if retries:
        m.child(m.retries, action).inc(retries)
    if fallbacks:
        m.child(m.fallbacks, action).inc(fallbacks)


def resident(n: int) -> None:
    """This host holds ``n`` instances in memory (SPEC §11: the others are passivated)."""
    m = _m
    if m is None:
        return
    m.resident.set(n)


def event_ack(seconds: float) -> None:
    m = _m
    if m is None:
        return
    m.acks.observe(seconds)


# ------------------------------------------------------------------------------- exposition
FINAL = ("completed", "failed", "terminated", "quarantined")


def exposition(data_dir: str, counts: Mapping[tuple, int]) -> tuple[bytes, str]:
    """The text exposition of every process's samples in ``<data dir>/metrics`` and the gauges of
    ``counts`` (``{(project, activity, version, status): n}``, the stores' counts at scrape time);
    returns ``(body, content type)``."""
    from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
    from prometheus_client.core import GaugeMetricFamily
    from prometheus_client.multiprocess import MultiProcessCollector

    from .store import status as store_status

    path = directory(data_dir)
    held = 0
    if os.path.isdir(path):
        for family in MultiProcessCollector(None, path).collect():
            if family.name == "goflow_resident_instances":
                held = int(sum(s.value for s in family.samples))

    class Counts:
        def collect(self):
            by: dict = {}
            for (project, activity, _version, status), n in counts.items():
                key = (f"{project}/{activity}", status)
                by[key] = by.get(key, 0) + n
            g = GaugeMetricFamily("goflow_instances", "Instances by blueprint and status (stores' counts "
                                  "at scrape time)", labels=["blueprint", "status"])
            for (bp, status), n in sorted(by.items()):
                g.add_metric([bp, status], n)
            yield g
            active = sum(n for (_b, s), n in by.items() if s not in FINAL)
            yield GaugeMetricFamily("goflow_active_instances", "Instances not finished (running, waiting, "
                                    "delayed, paused), in memory or passivated", value=active)
            yield GaugeMetricFamily("goflow_passivated_instances", "Instances not finished that are not in "
                                    "the hosts' memory (in the store until an event, timer or query: SPEC §11)",
                                    value=max(0, active - held))
            yield GaugeMetricFamily("goflow_store_unavailable_shards", "Shards whose store is unavailable now "
                                    "(their hosts retry; docs/store.md)", value=len(store_status.unavailable(data_dir)))

    registry = CollectorRegistry()
    if os.path.isdir(path):
        MultiProcessCollector(registry, path)
    registry.register(Counts())
    return generate_latest(registry), CONTENT_TYPE_LATEST
