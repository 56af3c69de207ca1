"""The Engine API on an embedded engine (one process, simpleSystemBase): the seed flow at 1,000
instances, send/refusal, event-id de-duplication, pause/resume/terminate, queries, supervision."""
from __future__ import annotations

import pytest

from runtime_support import SEED, call_counts, chain_blueprint, gate_blueprint, poll, read_calls, seed_blueprint
from goflow.errors import EventRefused, InstanceExists, InstanceFinished, InstanceNotFound, InvalidInput
from goflow.paging import DEFAULT_LIMIT, MAX_LIMIT, every
from goflow.testing import ManualClock

GATE = "rt/gate"


def test_seed_flow_1000_instances_embedded(embedded, calls):
    eng = embedded(blueprints=[seed_blueprint()], shards=2)
    ids = eng.start_many(SEED, [{"customer": i} for i in range(1000)])
    assert len(set(ids)) == 1000
    key = ("goflow", "inquiry", 1, "waiting")
    poll(lambda: eng.counts(SEED).get(key) == 1000, 30, what="1,000 seed instances waiting")
    assert eng.counts(SEED) == {key: 1000}
    for iid in ids[:: 97]:
        s = eng.status(iid)
        assert (s["state"], s["status"], s["pending"]) == ("calculate_voucher", "waiting", None)
        assert s["context"]["customer"] == s["input"]["customer"]
        assert s["context"]["calculate_balance"] == {"action": "calculate_balance", "step": 1}
        assert s["context"]["get_product"] == {"action": "get_product", "step": 2}
    # every instance called calculate_balance (step 1) and get_product (step 2), each exactly once
    got = read_calls(calls)
    assert sorted(got) == sorted([(i, 1, "calculate_balance") for i in ids] + [(i, 2, "get_product") for i in ids])


def test_send_refused_names_state_and_accepted_events(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()])
    iid = eng.start(GATE, {"x": 1})
    assert eng.status(iid)["state"] == "gate"
    with pytest.raises(EventRefused) as exc:
        eng.send(iid, "nope")
    err = exc.value
    assert (err.instance_id, err.state, err.event, err.accepted) == (iid, "gate", "nope", ["go", "hold", "poke"])
    assert "gate" in str(err) and "go" in str(err) and "nope" in str(err)
    # a worker outcome sent from outside while waiting is refused as well
    with pytest.raises(EventRefused):
        eng.send(iid, "success")
    s = eng.status(iid)
    assert (s["state"], s["status"], s["step"]) == ("gate", "waiting", 0)
    with pytest.raises(InstanceNotFound) as nf:
        eng.send("no-such-instance", "go")
    assert nf.value.instance_id == "no-such-instance"
    with pytest.raises(InstanceNotFound):
        eng.status("no-such-instance")
    with pytest.raises(InstanceNotFound):
        eng.history("no-such-instance")
    # a refused event changes nothing; an accepted one runs the flow to the end
    assert eng.send(iid, "go")["state"] == "done"
    assert eng.wait(iid, timeout=10)["status"] == "completed"
    with pytest.raises(InstanceFinished):
        eng.send(iid, "go")
    assert call_counts(calls) == {(iid, 1): 1}


def test_event_id_deduplication(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()])
    iid = eng.start(GATE)
    first = eng.send(iid, "poke", {"n": 1}, event_id="e-1")
    assert first["duplicate"] is False
    again = eng.send(iid, "poke", {"n": 2}, event_id="e-1")
    assert again["duplicate"] is True
    assert eng.status(iid)["context"]["events"]["poke"] == {"n": 1}     # not applied twice
    # the same id twice in one batch: applied once
    res = eng.send_many([(iid, "hold", None, "e-2"), (iid, "hold", None, "e-2")])
    assert [r["duplicate"] for r in res] == [False, True]
    assert eng.status(iid)["state"] == "held"
    hist = list(every(eng.history, iid))
    assert [h["outcome"] for h in hist if h["event"] == "poke"] == ["applied", "duplicate"]
    assert [h["outcome"] for h in hist if h["event"] == "hold"] == ["applied", "duplicate"]
    # a repeated id after the end is still acknowledged as a duplicate
    eng.send(iid, "go", event_id="e-3")
    eng.wait(iid, timeout=10)
    assert eng.send(iid, "go", event_id="e-3")["duplicate"] is True
    assert call_counts(calls) == {(iid, 1): 1}


def test_pause_resume_terminate(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint()])
    a, b = eng.start(GATE, id="a"), eng.start(GATE, id="b")
    assert eng.pause(a)["status"] == "paused"
    r = eng.send(a, "go")
    assert r["status"] == "paused" and r["state"] == "gate"      # kept, not applied
    with pytest.raises(EventRefused):                              # still checked against the state
        eng.send(a, "nope")
    assert eng.status(a)["status"] == "paused"
    assert read_calls(calls) == []                                 # no step starts while paused
    eng.resume(a)
    assert eng.wait(a, timeout=10)["status"] == "completed"
    assert call_counts(calls) == {(a, 1): 1}
    t = eng.terminate(b, "no longer needed")
    assert t["status"] == "terminated"
    s = eng.status(b)
    assert (s["status"], s["reason"], s["state"]) == ("terminated", "no longer needed", "gate")
    with pytest.raises(InstanceFinished):
        eng.send(b, "go")
    with pytest.raises(InstanceFinished):
        eng.pause(b)
    assert eng.wait(b, timeout=5)["status"] == "terminated"
    assert call_counts(calls) == {(a, 1): 1}


def test_status_history_list_counts(embedded, calls):
    eng = embedded(blueprints=[gate_blueprint(), chain_blueprint(2, "python://workers:ok")], shards=2)
    gates = eng.start_many(GATE, [{"i": i} for i in range(6)], ids=[f"g{i}" for i in range(6)])
    chains = eng.start_many("rt/chain", [{}] * 3, ids=["c0", "c1", "c2"])
    eng.wait_all(chains, timeout=10)
    for iid in gates[:2]:
        eng.send(iid, "go")
    eng.wait_all(gates[:2], timeout=10)
    eng.terminate(gates[2])
    assert eng.counts() == {("rt", "gate", 1, "completed"): 2, ("rt", "gate", 1, "terminated"): 1,
                            ("rt", "gate", 1, "waiting"): 3, ("rt", "chain", 1, "completed"): 3}
    assert eng.counts("rt/chain") == {("rt", "chain", 1, "completed"): 3}
    waiting = eng.list(GATE, "waiting")
    assert sorted(r["id"] for r in waiting) == ["g3", "g4", "g5"]
    assert all(r["state"] == "gate" and r["version"] == 1 for r in waiting)
    everything = eng.list(limit=100)
    assert sorted(r["id"] for r in everything) == sorted(gates + chains)
    p1 = eng.list(limit=4)
    p2 = eng.list(limit=4, cursor=p1.next)
    p3 = eng.list(limit=4, cursor=p2.next)
    page = p1 + p2 + p3
    assert p3.next is None
    assert sorted(r["id"] for r in page) == sorted(gates + chains)      # pages across shards
    assert eng.list("rt/chain", "failed") == []
    s = eng.status("c1")
    assert (s["state"], s["status"], s["step"]) == ("done", "completed", 2)
    assert s["context"]["s1"] == {"action": "s1", "step": 1} and s["context"]["s2"]["step"] == 2
    hist = list(every(eng.history, "c1"))
    applied = [(h["state"], h["event"], h["next"]) for h in hist if h["outcome"] == "applied"]
    assert applied == [("init", "start", "s1"), ("s1", "success", "s2"), ("s2", "start", "s2"),
                       ("s2", "success", "done")]
    assert hist[0]["outcome"] == "created" and hist[-1]["outcome"] == "completed"
    attempts = [h for h in hist if h["attempt"] is not None]
    assert [(h["step"], h["endpoint"], h["outcome"]) for h in attempts] == [
        (1, "python://workers:ok", "200"), (2, "python://workers:ok", "200")]
    assert eng.history("c1", limit=2) == hist[:2]
    assert eng.history("c1", limit=2, order="latest") == hist[:-3:-1]


PINGED = {"project": "rt", "activity": "pinged", "states": ["s"], "actions": [], "workers": [],
          "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "s"},
                          {"current": "s", "event": "ping", "action": "continue", "next": "s"}]}


def test_the_python_api_answers_one_page_and_every_reads_them_all(embedded):
    """SPEC §12: Engine.history and Engine.list answer one page (DEFAULT_LIMIT unless asked, at most
    MAX_LIMIT; no "every record" size), as the HTTP and gRPC APIs; goflow.paging.every walks the
    pages, whatever their size, in the order asked."""
    eng = embedded(blueprints=[PINGED], shards=2)
    iid = eng.start("rt/pinged", id="pinged")
    for n in range(2 * DEFAULT_LIMIT + 10):
        eng.send(iid, "ping", {"n": n})
    page = eng.history(iid)
    assert len(page) == DEFAULT_LIMIT and page.next is not None
    assert page[0]["outcome"] == "created"                             # oldest first (the default here)
    for bad in (None, 0, MAX_LIMIT + 1):
        with pytest.raises(InvalidInput, match="limit"):
            eng.history(iid, limit=bad)
    whole = list(every(eng.history, iid))
    assert len([r for r in whole if r["event"] == "ping"]) == 2 * DEFAULT_LIMIT + 10
    assert whole[:DEFAULT_LIMIT] == page
    assert list(every(eng.history, iid, limit=7)) == whole
    assert list(every(eng.history, iid, order="latest", limit=9)) == whole[::-1]
    rest = list(every(eng.history, iid, cursor=page.next))             # from a cursor on
    assert rest == whole[DEFAULT_LIMIT:]
    ids = eng.start_many("rt/pinged", [{}] * (DEFAULT_LIMIT + 3))
    first = eng.list("rt/pinged")
    assert len(first) == DEFAULT_LIMIT and first.next is not None
    with pytest.raises(InvalidInput, match="limit"):
        eng.list("rt/pinged", limit=None)
    listed = [r["id"] for r in every(eng.list, "rt/pinged", limit=5, order="oldest")]
    assert listed[0] == iid and sorted(listed[1:]) == sorted(ids)        # each once (created together: by id)


def test_handler_crash_restarts_three_times_then_fails_embedded(embedded, calls):
    crashy = gate_blueprint(action="bad", endpoint="python://workers:unencodable", activity="crashy")
    eng = embedded(blueprints=[gate_blueprint(), crashy], shards=1)
    others = eng.start_many(GATE, [{}] * 5)
    bad = eng.start("rt/crashy")
    eng.send(bad, "go")
    s = eng.wait(bad, timeout=10)
    assert s["status"] == "failed"
    assert "crashed 4 times" in s["reason"] and "restart intensity 3" in s["reason"], s["reason"]
    assert "not JSON-like" in s["reason"] or "set" in s["reason"], s["reason"]
    hist = list(every(eng.history, bad))
    restarts = [h for h in hist if h["outcome"] == "restarted"]
    assert len(restarts) == 3, hist
    assert hist[-1]["outcome"] == "failed" and hist[-1]["detail"] == s["reason"]
    assert call_counts(calls)[(bad, 1)] == 1          # the worker ran once; its outcome crashed the handler
    for iid in others:                                 # the other instances on the host go on
        assert eng.status(iid)["status"] == "waiting"
        eng.send(iid, "go")
    assert {s["status"] for s in eng.wait_all(others, timeout=10)} == {"completed"}


def test_crash_restart_keeps_earlier_items_of_the_same_batch(embedded, calls, monkeypatch):
    """A handler crash restarts the instance from its last state -- which includes the items of the
    same batch applied (and acknowledged) before the crash -- not from the stored snapshot before
    the batch. The crash is injected: the handler raises on every ``go`` (embedded, same process)."""
    import goflow._shard_apply
    real = goflow._shard_apply.react

    def crashing(bp, inst, inp, now, **kw):
        if getattr(inp, "name", None) == "go":
            raise RuntimeError("injected handler crash")
        return real(bp, inst, inp, now, **kw)

    monkeypatch.setattr(goflow._shard_apply, "react", crashing)
    eng = embedded(blueprints=[gate_blueprint()])
    iid = eng.start(GATE)
    res = eng.send_many([(iid, "hold"), (iid, "go")])
    assert res[0]["state"] == "held"                   # acknowledged ...
    assert isinstance(res[1], InstanceFinished)
    s = eng.status(iid)
    assert s["state"] == "held", s                    # ... so it is kept
    assert s["status"] == "failed" and "injected handler crash" in s["reason"]
    assert [h["outcome"] for h in every(eng.history, iid) if h["event"] == "hold"] == ["applied"]
    assert [h["outcome"] for h in every(eng.history, iid)].count("restarted") == 3


def test_create_twice_is_refused(embedded):
    eng = embedded(blueprints=[gate_blueprint()])
    eng.start(GATE, id="same")
    with pytest.raises(InstanceExists) as exc:
        eng.start(GATE, id="same")
    assert exc.value.instance_id == "same"


def test_untrusted_input_is_bounded_and_must_be_json_like(embedded, calls):
    """SPEC §7: input documents and event data are untrusted data with a size bound; refused input
    changes nothing."""
    from goflow.errors import InvalidInput
    eng = embedded(blueprints=[gate_blueprint()], event_bytes=1000)
    iid = eng.start(GATE, {"x": 1})
    before = eng.status(iid)
    with pytest.raises(InvalidInput, match="over the limit of 1000"):
        eng.send(iid, "go", {"blob": "x" * 2000})
    with pytest.raises(InvalidInput, match="not JSON-like"):
        eng.send(iid, "go", {"a set": {1, 2}})
    assert eng.status(iid) == before
    with pytest.raises(InvalidInput, match="over the limit of 1000"):
        eng.start(GATE, {"blob": "y" * 2000}, id="too-big")
    with pytest.raises(InstanceNotFound):
        eng.status("too-big")
    eng.send(iid, "go", {"small": 1})          # within the bound: applied
    assert eng.status(iid)["state"] != "gate"


def test_shard_count_is_fixed_by_the_data_directory(embedded, calls, tmp_path):
    """Instances are routed by a hash of their id modulo the shard count: a restart asking for
    another count keeps the data directory's, so every instance is still found."""
    data = tmp_path / "fixed"
    eng = embedded(data, blueprints=[gate_blueprint()], shards=2)
    ids = eng.start_many(GATE, [{} for _ in range(40)])
    eng.close()
    eng = embedded(data, shards=3)
    assert eng.recovered == 0              # waiting ones stay in the store until asked for
    assert sorted(p.name for p in (data / "shards").glob("*.sqlite")) == ["0.sqlite", "1.sqlite"]
    for iid in ids:
        assert eng.status(iid)["state"] == "gate"
    eng.send(ids[0], "go")
    assert eng.status(ids[0])["state"] != "gate"


def _timer_blueprint(delay: float) -> dict:
    return {"project": "rt", "activity": "timer", "states": ["ticked"],
            "actions": [{"name": "tick", "type": "sync"}],
            "transitions": [
                {"current": "init", "event": "start", "action": "tick", "next": "ticked", "delay": delay},
                {"current": "ticked", "event": "success", "action": "continue", "next": "done"}],
            "workers": [{"name": "tick", "workerEndpoint": "python://workers:ok", "retryCount": 0,
                         "responseTimeout": 5, "priority": 1}]}


def test_durable_timer_fires_at_its_due_time_on_a_manual_clock(embedded, calls):
    clock = ManualClock()
    eng = embedded(blueprints=[_timer_blueprint(60)], clock=clock)
    iid = eng.start("rt/timer", id="timed")
    due = eng.status(iid)["pending"]["due"]
    assert due == clock() + 60
    assert eng.advance(59.5) == 0                      # not yet due: nothing runs
    assert eng.status(iid)["status"] == "delayed" and read_calls(calls) == []
    assert eng.advance(0.5) == 1
    final = eng.wait(iid, timeout=10)
    assert (final["status"], final["state"]) == ("completed", "done")
    assert call_counts(calls) == {(iid, 2): 1}
    fired = [h for h in every(eng.history, iid) if h["outcome"] == "delay-elapsed"]
    assert [h["time"] for h in fired] == [due]


def test_overdue_durable_timer_fires_at_recovery(embedded, calls, tmp_path):
    """The engine stops while an instance is delayed; it is down past the due time; the restarted engine
    re-arms the timer from the snapshot and fires it once, at its first tick."""
    clock = ManualClock()
    data = tmp_path / "timer"
    eng = embedded(data, blueprints=[_timer_blueprint(2)], clock=clock)
    iid = eng.start("rt/timer", id="timed")
    due = eng.status(iid)["pending"]["due"]
    eng.close()
    clock.advance(5)                                   # down for 5 s
    assert read_calls(calls) == []
    eng = embedded(data, clock=clock)
    assert eng.recovered == 0                          # delayed: its timer is in the store's due index
    assert eng.advance(0) == 1                         # overdue: fires at once
    assert eng.wait(iid, timeout=10)["status"] == "completed"
    assert call_counts(calls) == {(iid, 2): 1}
    fired = [h for h in every(eng.history, iid) if h["outcome"] == "delay-elapsed"]
    assert [h["time"] for h in fired] == [due + 3]
    assert eng.advance(10) == 0                        # and never again
