"""``async`` actions end to end: the worker accepts the call (2xx), the instance waits, and the outcome
comes from outside (``engine.send``) — or the action's ``timeout`` fires.

Realtime tests: the async ``timeout`` is a durable timer on the wall clock (the host's timer wheel), so
the two timeout tests really wait 0.5 s. Tolerance: the timeout must not fire before 0.5 s after the
step began (``pending.since``; a small clock-granularity allowance of 20 ms) and must fire within 5 s
(a loaded 2-CPU machine; it normally fires within ~10 ms of the due time)."""
from __future__ import annotations

import time

import pytest

from e2e_support import attempts, one_step, settle, wait_for, worker

ASYNC_TIMEOUT = 0.5
EARLY = 0.02
LATE = 5.0


def accepted(st):
    p = st["pending"]
    return st["status"] == "waiting" and p is not None and p["accepted"]


def test_accepted_call_waits_then_an_outside_success_completes_the_step(server, make_engine):
    url = server.url("/status/202")
    eng = make_engine(one_step([worker(url, retry=2)], action_type="async"))
    iid = eng.start("e2e/one", {"order": 1})
    st = wait_for(eng, iid, accepted)
    assert (st["state"], st["pending"]["action"], st["pending"]["due"]) == ("calling", "call", None)
    assert attempts(eng.history(iid)) == [(url, 1, "202")]
    assert server.seen[0].headers["Idempotency-Key"] == f"{iid}:1"
    # nothing else happens while it waits (no timeout is set)
    time.sleep(0.05)
    assert accepted(eng.status(iid)) and len(server.seen) == 1
    res = eng.send(iid, "success", {"paid": 12.5})
    assert (res["state"], res["status"]) == ("done", "completed")
    st = eng.status(iid)
    assert st["context"] == {"order": 1, "call": {"paid": 12.5}}      # the event's data, under the action
    hist = eng.history(iid)
    assert [(r["event"], r["outcome"]) for r in hist if r["event"]] == [
        ("start", "applied"), ("success", "accepted"), ("success", "applied")]


def test_outside_named_event_drives_its_branch(server, make_engine):
    eng = make_engine(one_step([worker(server.url("/status/202"))], action_type="async", action_timeout=30))
    iid = eng.start("e2e/one", {})
    wait_for(eng, iid, accepted)
    res = eng.send(iid, "approved", {"by": "bob"})
    assert (res["state"], res["status"]) == ("approved", "waiting")
    st = eng.status(iid)
    assert st["context"]["call"] == {"by": "bob"} and st["pending"] is None


def test_outside_error_takes_the_error_transition(server, make_engine):
    eng = make_engine(one_step([worker(server.url("/empty"))], action_type="async"))
    iid = eng.start("e2e/one", {})
    wait_for(eng, iid, accepted)
    assert eng.send(iid, "error")["state"] == "errored"


def test_a_call_that_is_not_accepted_is_the_outcome_at_once(server, closed_port, make_engine):
    down, bad = f"http://127.0.0.1:{closed_port}/a", server.url("/status/400")
    eng = make_engine(one_step([worker(down, retry=1), worker(bad, retry=3, priority=2)], action_type="async",
                               action_timeout=30))
    iid = eng.start("e2e/one", {})
    st = settle(eng, iid)
    assert (st["status"], st["state"], st["pending"]) == ("waiting", "errored", None)
    assert attempts(eng.history(iid)) == [(down, 1, "connect-error"), (down, 2, "connect-error"), (bad, 3, "400")]


def test_a_worker_that_names_an_event_instead_of_accepting_decides_at_once(server, make_engine):
    eng = make_engine(one_step([worker(server.url("/event/approved"))], action_type="async", action_timeout=30))
    iid = eng.start("e2e/one", {})
    st = settle(eng, iid)
    assert (st["state"], st["status"]) == ("approved", "waiting")


@pytest.mark.realtime
@pytest.mark.parametrize("timeout_state", [True, False])
def test_timeout_fires_when_no_outcome_comes(server, make_engine, timeout_state):
    eng = make_engine(one_step([worker(server.url("/status/202"))], action_type="async",
                               action_timeout=ASYNC_TIMEOUT, timeout_state=timeout_state))
    t0 = time.time()
    iid = eng.start("e2e/one", {})
    st = wait_for(eng, iid, accepted)
    since, due = st["pending"]["since"], st["pending"]["due"]
    assert due == pytest.approx(since + ASYNC_TIMEOUT)
    st = wait_for(eng, iid, lambda s: s["state"] != "calling", timeout=LATE + 1, interval=0.005)
    fired = time.time()
    assert st["state"] == ("timed_out" if timeout_state else "errored")
    assert st["status"] == "waiting" and st["pending"] is None
    assert fired - since >= ASYNC_TIMEOUT - EARLY
    assert fired - t0 < LATE
    hist = eng.history(iid)
    applied = [r for r in hist if r["outcome"] == "applied" and r["state"] == "calling"]
    assert [r["event"] for r in applied] == ["timeout" if timeout_state else "error"]
    assert applied[0]["time"] >= since + ASYNC_TIMEOUT - EARLY
    # a late outcome from outside is refused: the step is over
    with pytest.raises(Exception, match="success"):
        eng.send(iid, "success", {"late": True})


@pytest.mark.realtime
def test_an_outside_outcome_before_the_timeout_cancels_it(server, make_engine):
    eng = make_engine(one_step([worker(server.url("/status/202"))], action_type="async",
                               action_timeout=0.3, timeout_state=True))
    iid = eng.start("e2e/one", {})
    wait_for(eng, iid, accepted)
    eng.send(iid, "approved", {"ok": 1})
    time.sleep(0.45)                                   # past the cancelled due time
    st = eng.status(iid)
    assert (st["state"], st["status"]) == ("approved", "waiting")
    assert not [r for r in eng.history(iid) if r["event"] == "timeout"]
