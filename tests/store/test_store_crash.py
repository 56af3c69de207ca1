"""A real crash: a writer process committing batches is killed with SIGKILL; every batch it
acknowledged must be there after reopening, no batch may be half there, and the file must pass
PRAGMA integrity_check."""
from __future__ import annotations

import os
import selectors
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from goflow.store import SQLiteStore

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
BATCH = 25
DEADLINE = 60.0  # seconds allowed for a writer to acknowledge enough batches


def _start_writer(path: Path, run: str, synchronous: str) -> subprocess.Popen:
    pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=pythonpath)
    return subprocess.Popen([sys.executable, str(HERE / "_crash_writer.py"), str(path), run, synchronous,
                             str(BATCH)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=REPO)


def _read_acks_until(proc: subprocess.Popen, wanted: int) -> tuple[list[int], bytes]:
    """Read acknowledgements until ``wanted`` of them arrived (bounded by DEADLINE)."""
    buf = b""
    acks: list[int] = []
    deadline = time.monotonic() + DEADLINE
    with selectors.DefaultSelector() as sel:
        sel.register(proc.stdout, selectors.EVENT_READ)
        while len(acks) < wanted:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"the writer acknowledged only {len(acks)} batches in {DEADLINE}s")
            if not sel.select(timeout=left):
                continue
            chunk = os.read(proc.stdout.fileno(), 65536)
            if not chunk:
                pytest.fail(f"the writer exited early ({proc.wait()}): {proc.stderr.read().decode()}")
            buf += chunk
            *lines, buf = buf.split(b"\n")
            acks += [int(x) for x in lines]
    return acks, buf


def _kill(proc: subprocess.Popen, acks: list[int], buf: bytes) -> list[int]:
    os.kill(proc.pid, signal.SIGKILL)
    rest, _ = proc.communicate(timeout=DEADLINE)  # acknowledgements written before it died count too
    assert proc.returncode == -signal.SIGKILL
    *lines, _partial = (buf + rest).split(b"\n")
    return acks + [int(x) for x in lines]


def _check(path: Path, run: str, acks: list[int]) -> None:
    assert acks == list(range(len(acks)))
    raw = sqlite3.connect(path)
    try:
        assert raw.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        per_batch = dict(raw.execute(
            "SELECT CAST(substr(id, length(?) + 3, instr(substr(id, length(?) + 3), '-') - 1) AS INTEGER),"
            " count(*)"
            " FROM instances WHERE id LIKE ? || '-b%' GROUP BY 1", (run, run, run)).fetchall())
    finally:
        raw.close()
    # no batch half there
    assert all(n == BATCH for n in per_batch.values()), {b: n for b, n in per_batch.items() if n != BATCH}
    committed = sorted(per_batch)
    assert committed == list(range(len(committed)))
    # every acknowledged batch is there (at most the one in flight was committed but not acknowledged)
    assert len(acks) <= len(committed) <= len(acks) + 1
    with SQLiteStore(path) as store:  # the writer lock died with the writer
        for b in acks[-3:]:
            for k in (0, BATCH - 1):
                inst = store.get(f"{run}-b{b}-{k}")
                assert inst is not None and inst.snapshot == b"x" * 200
                assert [r.detail for r in store.history(inst.id)] == [{"batch": b, "k": k}]
        counter = store.get(f"{run}-counter")
        assert int(counter.state) == committed[-1]
        assert [r.step for r in store.history(counter.id)] == committed
        assert sum(1 for _ in store.unfinished()) >= len(acks) * BATCH


@pytest.mark.parametrize("synchronous", ["normal", "full"])
def test_kill_9_loses_no_acknowledged_batch(tmp_path, synchronous):
    path = tmp_path / "shards" / "0.sqlite"
    for round_, wanted in enumerate((40, 7, 120)):  # three crashes of writers on the same file
        run = f"r{round_}"
        proc = _start_writer(path, run, synchronous)
        try:
            acks, buf = _read_acks_until(proc, wanted)
            acks = _kill(proc, acks, buf)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        _check(path, run, acks)
