"""A real multiprocTCPBase daemon: the seed flow at 1,000 instances, loopback-only sockets (SPEC §7),
blueprint versioning, handler-crash supervision, corrupt-snapshot quarantine."""
from __future__ import annotations

import sqlite3

import pytest

from actors.dispatcher import shard_of
from testkit import is_loopback, listening
from runtime_support import SEED, call_counts, gate_blueprint, poll, read_calls, seed_blueprint
from goflow.paging import every
from goflow.store import shard_path
from goflow.errors import InstanceFinished

pytestmark = pytest.mark.daemon
GATE = "rt/gate"


def test_seed_flow_1000_instances_on_the_daemon(daemons, calls):
    eng = daemons.start(blueprints=[seed_blueprint()], shards=2)
    pids = daemons.remember(eng)
    assert {"admin", "root", "dispatcher", "host-0", "host-1", "proxy-0", "proxy-1"} <= set(pids)
    assert len(set(pids.values())) == len(pids)          # one process each
    assert set(pids.values()) <= set(daemons.marked())   # the leak check of the teardown sees them all
    ids = eng.start_many(SEED, [{"customer": i} for i in range(1000)])
    key = ("goflow", "inquiry", 1, "waiting")
    poll(lambda: eng.counts(SEED).get(key) == 1000, 30, interval=0.05, what="1,000 seed instances waiting")
    assert eng.counts(SEED) == {key: 1000}
    assert {r["state"] for r in eng.list(SEED, limit=1000)} == {"calculate_voucher"}
    s = eng.status(ids[0])
    assert (s["state"], s["status"], s["context"]["customer"]) == ("calculate_voucher", "waiting", 0)
    got = read_calls(calls)
    assert sorted(got) == sorted([(i, 1, "calculate_balance") for i in ids] + [(i, 2, "get_product") for i in ids])
    daemons.shutdown(eng)                                  # and every one of its processes is gone


def test_no_daemon_socket_listens_beyond_loopback(daemons):
    eng = daemons.start(blueprints=[gate_blueprint()], shards=2)
    eng.start(GATE)                                        # every actor has done some work
    pids = daemons.remember(eng)
    seen = 0
    for name, pid in pids.items():
        for addr, port, family in listening(pid):
            assert is_loopback(addr), f"{name} (pid {pid}) listens on {addr}:{port} ({family})"
            seen += 1
    assert seen >= len(pids), f"expected every actor process to listen (on loopback), found {seen} sockets"
    daemons.shutdown(eng)


def test_versioning_running_instances_finish_on_their_version(daemons, calls):
    eng = daemons.start(blueprints=[gate_blueprint(1, action="work")], shards=2)
    old = eng.start_many(GATE, [{}] * 10)
    assert {r["version"] for r in eng.list(GATE)} == {1}
    assert eng.deploy(gate_blueprint(2, action="work2")) == [("rt", "gate", 2)]
    new = eng.start_many(GATE, [{}] * 10)
    for iid in old:
        assert eng.status(iid)["version"] == 1
    for iid in new:
        assert eng.status(iid)["version"] == 2
    eng.send_many([(iid, "go") for iid in old + new])
    done = eng.wait_all(old + new, timeout=15)
    assert {d["status"] for d in done} == {"completed"}
    actions = {iid: action for iid, _step, action in read_calls(calls)}
    assert {actions[i] for i in old} == {"work"}         # v1 instances ran v1's action
    assert {actions[i] for i in new} == {"work2"}        # new instances got v2
    assert eng.counts(GATE) == {("rt", "gate", 1, "completed"): 10, ("rt", "gate", 2, "completed"): 10}
    # pinning a version still works, and the catalog survives a restart with both versions
    pinned = eng.start(GATE, version=1)
    assert eng.status(pinned)["version"] == 1
    data_dir = eng.data_dir
    daemons.shutdown(eng)
    eng = daemons.start(data_dir, shards=2)
    assert eng.recovered == 0                            # waiting, nothing in flight: it stays in the store
    assert eng.status(eng.start(GATE))["version"] == 2
    eng.send(pinned, "go")
    assert eng.wait(pinned, timeout=10)["status"] == "completed"
    assert [a for i, _s, a in read_calls(calls) if i == pinned] == ["work"]
    daemons.shutdown(eng)


def test_handler_crash_restarts_three_times_then_fails_others_untouched(daemons, calls):
    crashy = gate_blueprint(action="bad", endpoint="python://workers:unencodable", activity="crashy")
    eng = daemons.start(blueprints=[gate_blueprint(), crashy], shards=2)
    bad = "crashy-0"
    host = shard_of(bad, 2)
    neighbours = [f"n{i}" for i in range(40) if shard_of(f"n{i}", 2) == host][:10]
    assert len(neighbours) == 10
    eng.start_many(GATE, [{"i": i} for i in range(10)], ids=neighbours)
    eng.send(neighbours[0], "hold")
    before = daemons.remember(eng)
    eng.start("rt/crashy", id=bad)
    eng.send(bad, "go")
    s = eng.wait(bad, timeout=15)
    assert s["status"] == "failed"
    assert "crashed 4 times" in s["reason"] and "restart intensity 3" in s["reason"], s["reason"]
    assert "set" in s["reason"], s["reason"]                  # the crash's cause is named
    hist = list(every(eng.history, bad))
    restarts = [h for h in hist if h["outcome"] == "restarted"]
    assert len(restarts) == 3, hist
    assert hist[-1]["outcome"] == "failed" and hist[-1]["detail"] == s["reason"]
    assert eng.list("rt/crashy", "failed")[0]["reason"] == s["reason"]
    assert call_counts(calls)[(bad, 1)] == 1
    # the host process did not die; its other instances are untouched and go on
    assert daemons.remember(eng) == before
    states = {iid: eng.status(iid)["state"] for iid in neighbours}
    assert states == {iid: "held" if iid == neighbours[0] else "gate" for iid in neighbours}
    eng.send_many([(iid, "go") for iid in neighbours])
    assert {d["status"] for d in eng.wait_all(neighbours, timeout=10)} == {"completed"}
    daemons.shutdown(eng)


def test_corrupt_snapshot_quarantines_that_instance_alone(daemons, calls):
    eng = daemons.start(blueprints=[gate_blueprint()], shards=2)
    ids = eng.start_many(GATE, [{"i": i} for i in range(20)], ids=[f"q{i}" for i in range(20)])
    data_dir = eng.data_dir
    daemons.shutdown(eng)
    victim = ids[7]
    path = shard_path(data_dir, shard_of(victim, 2))
    with sqlite3.connect(path) as db:
        (snap,) = db.execute("SELECT snapshot FROM instances WHERE id = ?", (victim,)).fetchone()
        bad = bytearray(snap)
        bad[len(bad) // 2] ^= 0xFF                          # one flipped byte in the payload
        db.execute("UPDATE instances SET snapshot = ? WHERE id = ?", (bytes(bad), victim))
    db.close()
    eng = daemons.start(data_dir, shards=2)
    assert eng.recovered == 0              # waiting instances are loaded when needed (SPEC §11): the
                                           # corrupt snapshot is found by the first request to it
    s = eng.status(victim)
    assert s["status"] == "quarantined"
    assert victim in s["reason"] and ("checksum" in s["reason"] or "CRC" in s["reason"]), s["reason"]
    assert [h["outcome"] for h in every(eng.history, victim)][-1] == "quarantined"
    assert eng.list(GATE, "quarantined")[0]["id"] == victim
    others = [i for i in ids if i != victim]
    eng.send_many([(iid, "go") for iid in others])
    assert {d["status"] for d in eng.wait_all(others, timeout=15)} == {"completed"}
    with pytest.raises(InstanceFinished) as refused:      # quarantined: no state to apply it to
        eng.send(victim, "go")
    assert refused.value.instance_id == victim and refused.value.status == "quarantined"
    assert victim not in {i for i, _s, _a in read_calls(calls)}
    daemons.shutdown(eng)
