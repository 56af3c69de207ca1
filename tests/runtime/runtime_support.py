"""Helpers for the runtime tests (embedded engine and real multiprocTCPBase daemons); the fixtures
built on them are in ``conftest.py``. (A module of its own name: ``conftest`` is ambiguous across test
directories.)

* ``embedded``: a factory of embedded engines on ``tmp_path``; each is shut down at teardown.
* ``daemons``: a factory of daemons on free loopback ports whose PYTHONPATH lets them import
  ``tests/runtime/workers.py``; at teardown every daemon is shut down, then every process it ever
  reported (``engine.pids()``) that is still alive is killed with SIGKILL, and the test errors if
  one of them outlives a bounded poll — so no test leaves a process behind, even when it fails.
* ``calls``: the file the ``python://workers:*`` callables append ``<instance>:<step> <action>`` to.
* ``kill_and_wait`` / ``wait_gone``: SIGKILL pids and wait (bounded poll) until they are gone.
"""
from __future__ import annotations

from testkit import alive, free_port, poll, with_environment  # noqa: F401 (re-exported for the tests)

import collections
import copy
import json
import os
import signal
import sys
import uuid
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
for _p in (str(HERE), str(REPO)):      # `workers` for embedded python:// calls; the repo's packages
    if _p not in sys.path:
        sys.path.insert(0, _p)

from actors import Engine  # noqa: E402
from actors.daemon import start_daemon  # noqa: E402
from goflow.requests import Item  # noqa: E402
from goflow.shard import Shard  # noqa: E402
from goflow.store import open_shard  # noqa: E402

EXAMPLES = REPO / "goflow" / "examples"
SEED = "goflow/inquiry"


# ------------------------------------------------------------------------------------ polling
# ---------------------------------------------------------------------------------- processes
def wait_gone(pids, timeout: float = 10.0) -> None:
    pids = set(pids)
    poll(lambda: not [p for p in pids if alive(p)], timeout, what=f"processes {sorted(pids)} to exit")


def kill_and_wait(pids, timeout: float = 10.0) -> None:
    """SIGKILL every pid (all at once, then wait until each is gone)."""
    pids = set(pids)
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    wait_gone(pids, timeout)


# ------------------------------------------------------------------------------------- calls
def read_calls(path: Path) -> list[tuple[str, int, str]]:
    """``(instance, step, action)`` per call, in the order the calls were made."""
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        key, action = line.split(" ")
        iid, _, step = key.rpartition(":")
        out.append((iid, int(step), action))
    return out


def call_counts(path: Path) -> collections.Counter:
    return collections.Counter((iid, step) for iid, step, _ in read_calls(path))


def count_lines(path) -> int:
    """The calls a worker has logged so far (lines of ``path``; none yet: 0)."""
    try:
        with open(path, "rb") as f:
            return f.read().count(b"\n")
    except FileNotFoundError:
        return 0


# ----------------------------------------------------------------------------- a shard alone
T0 = 1000.0     # the time a shard test starts at (its shard's clock fails: the tests give the time)


def shard_on_disk(tmp_path, *blueprints):
    """A :class:`goflow.shard.Shard` of ``blueprints`` on a real SQLite store under ``tmp_path``, for a
    fixture to ``yield from``; the store is closed after the test."""
    store = open_shard(tmp_path, 0)
    yield Shard(store, list(blueprints), clock=lambda: pytest.fail("the tests give the time"))
    store.close()


def handle(shard, *requests, now: float = T0):
    """Apply ``(instance, request)`` pairs to a :class:`goflow.shard.Shard` as one batch; the effects
    and the replies by token (the pair's index)."""
    fx = shard.handle([Item(iid, req, i) for i, (iid, req) in enumerate(requests)], now)
    return fx, {r.token: r for r in fx.replies}


# -------------------------------------------------------------------------------- blueprints
def _load(name: str) -> dict:
    return json.loads((EXAMPLES / name).read_text())


def seed_blueprint(endpoint: str = "python://workers:ok") -> dict:
    """The bundled seed flow (comma fixed) with every worker endpoint replaced by ``endpoint``."""
    flow = _load("inquiry.flow.json")
    workers = copy.deepcopy(_load("inquiry.workers.json")["workers"])
    for w in workers:
        w["workerEndpoint"] = endpoint
    return dict(flow, workers=workers)


def worker(name: str, endpoint: str, retry: int = 0, timeout: float = 5) -> dict:
    return {"name": name, "workerEndpoint": endpoint, "retryCount": retry, "responseTimeout": timeout,
            "priority": 1}


def chain_blueprint(steps: int = 3, endpoint: str = "python://workers:slow", activity: str = "chain") -> dict:
    """init -> s1 -> s2 -> ... -> done, one worker step per state (``continue`` between them)."""
    names = [f"s{i}" for i in range(1, steps + 1)]
    transitions = [{"current": "init", "event": "start", "action": "s1", "next": "s1"}]
    for i, name in enumerate(names):
        nxt = names[i + 1] if i + 1 < len(names) else "done"
        transitions.append({"current": name, "event": "success", "action": "continue", "next": nxt})
        if nxt != "done":
            transitions.append({"current": nxt, "event": "start", "action": nxt, "next": nxt})
    return {"project": "rt", "activity": activity, "states": names,
            "actions": [{"name": n, "type": "sync"} for n in names], "transitions": transitions,
            "workers": [worker(n, endpoint) for n in names]}


def gate_blueprint(version: int = 1, action: str = "work", endpoint: str = "python://workers:ok",
                   activity: str = "gate") -> dict:
    """Waits in ``gate`` for the user event ``go``, then runs ``action`` into ``done``; ``poke`` is a
    self-loop that only records its data; ``hold`` moves to ``held``, which accepts ``go`` too."""
    return {"project": "rt", "activity": activity, "version": version, "states": ["gate", "held"],
            "actions": [{"name": action, "type": "sync"}],
            "transitions": [
                {"current": "init", "event": "start", "action": "continue", "next": "gate"},
                {"current": "gate", "event": "poke", "action": "continue", "next": "gate"},
                {"current": "gate", "event": "hold", "action": "continue", "next": "held"},
                {"current": "gate", "event": "go", "action": action, "next": "done"},
                {"current": "held", "event": "go", "action": action, "next": "done"},
            ],
            "workers": [worker(action, endpoint)]}


# ----------------------------------------------------------------------------------- engines
class Daemons:
    """Starts daemons; finds every process they ever had, for the checks and the teardown.

    Each daemon's environment carries a marker (``GOFLOW_TEST_DAEMON``) that every process of its
    tree inherits (Thespian forks), so a process ``engine.pids()`` does not name (Thespian's logger,
    say) is found as well, from ``/proc/<pid>/environ``.
    """

    def __init__(self, tmp_path: Path, calls_path: Path):
        self.tmp_path = tmp_path
        self.calls_path = calls_path
        self.marker = f"GOFLOW_TEST_DAEMON={uuid.uuid4().hex}".encode()
        self.engines: list[Engine] = []
        self.pids: set[int] = set()
        self.count = 0

    def env(self, **extra) -> dict:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join([str(HERE), str(REPO), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        env["GOFLOW_TEST_CALLS"] = str(self.calls_path)
        key, _, value = self.marker.decode().partition("=")
        env[key] = value
        env.update({k: str(v) for k, v in extra.items()})
        return env

    def start(self, data_dir=None, *, blueprints=(), shards: int = 2, env: dict | None = None,
              timeout: float = 20.0, **config) -> Engine:
        self.count += 1
        config.setdefault("python_modules", ["workers", "goflow.examples"])   # python:// of these tests
        data_dir = str(data_dir or self.tmp_path / "data")
        port = free_port()
        eng = start_daemon(data_dir, port=port, shards=shards, blueprints=list(blueprints),
                           log_path=str(self.tmp_path / f"daemon-{self.count}.log"),
                           env=self.env(**(env or {})), timeout=timeout, **config)
        self.engines.append(eng)
        eng.data_dir, eng.port = data_dir, port
        self.remember(eng)
        return eng

    def remember(self, eng: Engine) -> dict:
        pids = eng.pids()
        self.pids.update(pids.values())
        return pids

    def marked(self) -> list[int]:
        """Live processes of any daemon started here (found by the marker in their environment)."""
        return with_environment(self.marker.decode())

    def assert_none_left(self, timeout: float = 15.0) -> None:
        poll(lambda: not self.marked(), timeout, what="every process of the daemon to exit")

    def shutdown(self, eng: Engine) -> None:
        """Shut a daemon down and check that none of its processes is left."""
        pids = self.remember(eng)
        eng.shutdown()
        wait_gone(pids.values(), 15.0)
        self.assert_none_left()

    def kill(self, eng: Engine, pids: dict | None = None) -> dict:
        """kill -9 every process ``engine.pids()`` names (admin, root, dispatcher, hosts, proxies,
        Thespian's logger), all at once; check that no process of the daemon is left. ``pids`` as
        :meth:`remember` returned them (else asked now: a round trip before the kill)."""
        pids = pids if pids is not None else self.remember(eng)
        kill_and_wait(pids.values())
        eng._asys = None                       # the client's system is gone with the daemon
        self.assert_none_left(5.0)
        return pids

    def teardown(self) -> None:
        for eng in self.engines:
            if eng._asys is not None:
                try:
                    eng.shutdown()
                except Exception:
                    pass
        left = [p for p in self.pids if alive(p)] + self.marked()
        if left:
            try:
                wait_gone(left, 15.0)
                self.assert_none_left(1.0)
            except AssertionError:
                left = set(left) | set(self.marked())
                kill_and_wait(left)
                raise AssertionError(f"daemon processes {sorted(left)} outlived the test (killed with SIGKILL)")


# ------------------------------------------------------------------------------------- store
def read_store(data_dir, shards: int = 2, url: str | None = None) -> dict:
    """``{instance_id: StoredInstance}`` read straight from the shard files (or the PostgreSQL
    database at ``url``), read-only."""
    out = {}
    for i in range(shards):
        store = open_shard(data_dir, i, readonly=True, url=url or None)
        try:
            for row in store.list(limit=1_000_000):
                out[row.id] = store.get(row.id)
        finally:
            store.close()
    return out


def store_history(data_dir, iid: str, shards: int = 2, url: str | None = None) -> list:
    return store_histories(data_dir, [iid], shards, url).get(iid, [])


def store_histories(data_dir, iids, shards: int = 2, url: str | None = None) -> dict:
    """``{instance_id: [Record, ...]}`` of ``iids``, each shard store opened once (read-only)."""
    out = {}
    for i in range(shards):
        store = open_shard(data_dir, i, readonly=True, url=url or None)
        try:
            for iid in iids:
                if iid not in out and store.exists(iid):
                    out[iid] = store.history(iid)
        finally:
            store.close()
    return out


# What a store of schema 1 to 6 has in place of schema 7's history_chunks (one row per record): run on a
# new store's file to make it look older (its history is lost). tests/store/store_support.py has it too.
SCHEMA_6_HISTORY = [
    "DROP TABLE history_chunks",
    "CREATE TABLE history (seq INTEGER PRIMARY KEY, instance_id TEXT NOT NULL, time REAL NOT NULL, state TEXT,"
    " event TEXT, action TEXT, next TEXT, step INTEGER, attempt INTEGER, endpoint TEXT, outcome TEXT,"
    " latency REAL, detail TEXT)",
    "CREATE INDEX history_by_instance ON history (instance_id, seq)",
]


def resident_instances(data_dir) -> float:
    """The ``goflow_resident_instances`` gauge of a daemon's data dir, summed over its hosts."""
    from prometheus_client.parser import text_string_to_metric_families

    from goflow import metrics
    body, _ = metrics.exposition(str(data_dir), {})
    for family in text_string_to_metric_families(body.decode()):
        if family.name == "goflow_resident_instances":
            return sum(s.value for s in family.samples)
    raise AssertionError("no goflow_resident_instances series")
