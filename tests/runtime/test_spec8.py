"""SPEC §8 through the Engine API on an embedded engine: postponed events, end states and
``list(end_state=)``, the cancel handler, retry and rewind (durable, recorded), ``wait`` conditions,
and the refusals (a GoflowError subclass each, the instance unchanged)."""
from __future__ import annotations

import pytest

from runtime_support import worker
from goflow.errors import InstanceNotFound, NotVisited, QueueFull, RequestTimeout, WrongStatus
from goflow.paging import every

ORDER = "rt/order"


def order_blueprint(reserve: str = "python://workers:ok", charge: str = "python://workers:ok") -> dict:
    """reserve -> wait for approve/decline (postponed while reserve runs) -> charge -> done; declined
    (failed) and cancelled (completed) end states; cancel releases the stock."""
    t = lambda c, e, a, n: {"current": c, "event": e, "action": a, "next": n}  # noqa: E731
    return {"project": "rt", "activity": "order", "states": ["reserving", "awaiting", "charging", "releasing"],
            "end": {"declined": "failed", "cancelled": "completed"}, "postpone": ["approve", "decline"],
            "actions": [{"name": n, "type": "sync"} for n in ("reserve", "charge", "release")],
            "transitions": [
                t("init", "start", "reserve", "reserving"), t("reserving", "success", "continue", "awaiting"),
                t("awaiting", "approve", "charge", "charging"), t("awaiting", "decline", "release", "declined"),
                t("charging", "success", "continue", "done"),
                t("reserving", "cancel", "release", "releasing"), t("awaiting", "cancel", "release", "releasing"),
                t("releasing", "success", "continue", "cancelled")],
            "workers": [worker("reserve", reserve), worker("charge", charge), worker("release", "python://workers:ok")]}


def outcomes(eng, iid):
    return [(r["event"], r["outcome"]) for r in every(eng.history, iid) if r["attempt"] is None]


def test_an_approval_sent_at_once_is_postponed_then_taken(embedded, calls):
    eng = embedded(blueprints=[order_blueprint(reserve="python://workers:slow")])
    iid = eng.start(ORDER)
    ack = eng.send(iid, "approve", {"by": "ann"})
    assert ack["state"] in ("reserving", "awaiting", "charging", "done")
    st = eng.wait(iid, 10)
    assert (st["status"], st["result"], st["postponed"]) == ("completed", "done", [])
    assert st["context"]["events"]["approve"] == {"by": "ann"}
    if ack["state"] == "reserving":                  # it came while reserve ran: it was postponed
        assert ("approve", "postponed") in outcomes(eng, iid)


def test_an_end_state_its_result_and_list_by_end_state(embedded, calls):
    eng = embedded(blueprints=[order_blueprint()])
    declined, approved = eng.start(ORDER), eng.start(ORDER)
    eng.wait(declined, 10, state="awaiting")
    eng.send(declined, "decline")
    eng.wait(approved, 10, state="awaiting")
    eng.send(approved, "approve")
    st = eng.wait(declined, 10)
    assert (st["status"], st["state"], st["result"]) == ("failed", "declined", "declined")
    assert eng.wait(approved, 10)["result"] == "done"
    assert [r["id"] for r in eng.list(ORDER, end_state="declined")] == [declined]
    assert [r["id"] for r in eng.list(ORDER, end_state="done")] == [approved]
    assert eng.list(ORDER, end_state="cancelled") == []


def test_terminate_runs_the_compensation_and_force_ends_at_once(embedded, calls):
    eng = embedded(blueprints=[order_blueprint()])
    iid = eng.start(ORDER)
    eng.wait(iid, 10, state="awaiting")
    res = eng.terminate(iid, "customer left")
    assert res["state"] in ("releasing", "cancelled")
    st = eng.wait(iid, 10)
    assert (st["status"], st["result"]) == ("completed", "cancelled")
    assert ("terminate", "cancelling") in outcomes(eng, iid)
    assert any(action == "release" for _i, _s, action in _calls_of(calls, iid))
    other = eng.start(ORDER)
    eng.wait(other, 10, state="awaiting")
    assert eng.terminate(other, "now", force=True)["status"] == "terminated"


def _calls_of(path, iid):
    from runtime_support import read_calls
    return [c for c in read_calls(path) if c[0] == iid]


def test_retry_after_the_worker_came_back(embedded, calls, tmp_path, monkeypatch):
    down = tmp_path / "down"
    down.touch()
    monkeypatch.setenv("GOFLOW_TEST_DOWN", str(down))
    eng = embedded(blueprints=[order_blueprint(charge="python://workers:flaky")])
    iid = eng.start(ORDER)
    eng.wait(iid, 10, state="awaiting")
    eng.send(iid, "approve")
    st = eng.wait(iid, 10)
    assert st["status"] == "failed" and st["state"] == "charging"
    with pytest.raises(NotVisited, match="never entered it"):
        eng.rewind(iid, "releasing")
    down.unlink()                                   # the worker is back
    res = eng.retry(iid, by="api")
    assert res["status"] == "running"
    st = eng.wait(iid, 10)
    assert (st["status"], st["result"]) == ("completed", "done")
    rec = [r for r in every(eng.history, iid) if r["outcome"] == "retried"]
    assert [(r["action"], r["detail"]) for r in rec] == [("charge", "api")]
    with pytest.raises(WrongStatus, match="only a failed instance can be retried"):
        eng.retry(iid)


def test_rewind_a_terminated_instance_to_a_visited_state(embedded, calls):
    eng = embedded(blueprints=[order_blueprint()])
    iid = eng.start(ORDER)
    eng.wait(iid, 10, state="awaiting")
    eng.terminate(iid, force=True)
    res = eng.rewind(iid, "init", by="cli")
    assert res["status"] in ("running", "waiting")
    eng.wait(iid, 10, state="awaiting")
    assert [r["detail"] for r in every(eng.history, iid) if r["outcome"] == "rewound"] == ["cli"]
    assert eng.status(iid)["status"] == "waiting"


HOLD = {"project": "rt", "activity": "hold", "states": ["hold", "open"], "actions": [], "postpone": ["later"],
        "transitions": [{"current": "init", "event": "start", "action": "continue", "next": "hold"},
                        {"current": "hold", "event": "open", "action": "continue", "next": "open"},
                        {"current": "open", "event": "later", "action": "continue", "next": "done"}],
        "workers": []}


def test_postponed_events_are_durable_and_bounded(embedded, calls, tmp_path):
    data = tmp_path / "data"
    eng = embedded(data, blueprints=[HOLD], postponed=2)
    iid = eng.start("rt/hold")
    eng.send(iid, "later", {"n": 1}, event_id="l-1")
    eng.send(iid, "later", {"n": 2})
    with pytest.raises(QueueFull, match=r"full \(2 events, limits.postponed\)"):
        eng.send(iid, "later", event_id="l-3")
    st = eng.status(iid)
    assert (st["state"], st["postponed"]) == ("hold", ["later", "later"])
    eng.shutdown()
    eng = embedded(data, blueprints=[HOLD], postponed=2)       # the queue survives a restart
    assert eng.status(iid)["postponed"] == ["later", "later"]
    assert eng.send(iid, "later", event_id="l-1")["duplicate"]
    eng.send(iid, "open")
    st = eng.wait(iid, 10)
    assert (st["status"], st["context"]["events"]["later"]) == ("completed", {"n": 1})
    assert outcomes(eng, iid)[-1] == ("later", "dropped")      # the second was left at the end


def test_the_refusals_leave_the_instance_unchanged(embedded, calls):
    eng = embedded(blueprints=[order_blueprint()])
    iid = eng.start(ORDER)
    eng.wait(iid, 10, state="awaiting")
    with pytest.raises(WrongStatus, match="only a failed instance can be retried"):
        eng.retry(iid)
    with pytest.raises(NotVisited, match="never entered it"):
        eng.rewind(iid, "charging")
    assert eng.status(iid)["state"] == "awaiting" and eng.status(iid)["status"] == "waiting"
    with pytest.raises(InstanceNotFound):
        eng.wait("no-such-instance", 5)
    with pytest.raises(InstanceNotFound):
        eng.retry("no-such-instance")


def test_wait_for_a_state_answers_when_it_holds_and_times_out_otherwise(embedded, calls):
    eng = embedded(blueprints=[order_blueprint()])
    iid = eng.start(ORDER)
    st = eng.wait(iid, 10, state="awaiting")
    assert st["state"] == "awaiting" and st["status"] == "waiting"
    assert eng.wait(iid, 10, status="waiting")["state"] == "awaiting"       # holds already: at once
    with pytest.raises(RequestTimeout, match="was not in state 'charging' or ended within 0.5s"):
        eng.wait(iid, 0.5, state="charging")
    eng.send(iid, "approve")
    assert eng.wait_all([iid], 10, status="completed")[0]["result"] == "done"
