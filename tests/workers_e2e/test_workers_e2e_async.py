"""``async`` actions end to end: the worker accepts the call (2xx), the instance waits, and the outcome
comes from outside (``engine.send``) — or the action's ``timeout`` fires.

The async ``timeout`` is a durable timer of the host's timer wheel: the timeout tests run the engine on
a :class:`goflow.testing.ManualClock` and move it with ``engine.advance`` — nothing waits real time,
and the instants are exact."""
from __future__ import annotations

import pytest

from e2e_support import attempts, one_step, settle, wait_for, worker
from goflow.errors import EventRefused
from goflow.paging import every
from goflow.testing import ManualClock

ASYNC_TIMEOUT = 30.0


def accepted(st):
    p = st["pending"]
    return st["status"] == "waiting" and p is not None and p["accepted"]


def test_accepted_call_waits_then_an_outside_success_completes_the_step(server, make_engine):
    url = server.url("/status/202")
    eng = make_engine(one_step([worker(url, retry=2)], action_type="async"), clock=ManualClock())
    iid = eng.start("e2e/one", {"order": 1})
    st = wait_for(eng, iid, accepted)
    assert (st["state"], st["pending"]["action"], st["pending"]["due"]) == ("calling", "call", None)
    assert attempts(every(eng.history, iid)) == [(url, 1, "202")]
    assert server.seen[0].headers["Idempotency-Key"] == f"{iid}:1"
    # nothing else happens while it waits (no timeout is set): no timer is armed for it
    assert eng.advance(0) == 0
    assert accepted(eng.status(iid)) and len(server.seen) == 1
    res = eng.send(iid, "success", {"paid": 12.5})
    assert (res["state"], res["status"]) == ("done", "completed")
    st = eng.status(iid)
    assert st["context"] == {"order": 1, "call": {"paid": 12.5}}      # the event's data, under the action
    hist = list(every(eng.history, iid))
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
    assert attempts(every(eng.history, iid)) == [(down, 1, "connect-error"), (down, 2, "connect-error"),
                                                (bad, 3, "400")]


def test_a_worker_that_names_an_event_instead_of_accepting_decides_at_once(server, make_engine):
    eng = make_engine(one_step([worker(server.url("/event/approved"))], action_type="async", action_timeout=30))
    iid = eng.start("e2e/one", {})
    st = settle(eng, iid)
    assert (st["state"], st["status"]) == ("approved", "waiting")


@pytest.mark.parametrize("timeout_state", [True, False])
def test_timeout_fires_when_no_outcome_comes(server, make_engine, timeout_state):
    clock = ManualClock()
    eng = make_engine(one_step([worker(server.url("/status/202"))], action_type="async",
                               action_timeout=ASYNC_TIMEOUT, timeout_state=timeout_state), clock=clock)
    iid = eng.start("e2e/one", {})
    st = wait_for(eng, iid, accepted)
    since, due = st["pending"]["since"], st["pending"]["due"]
    assert since == clock() and due == since + ASYNC_TIMEOUT
    assert eng.advance(ASYNC_TIMEOUT - 0.001) == 0            # not before its due time
    assert accepted(eng.status(iid))
    assert eng.advance(0.001) == 1                             # at its due time
    st = eng.status(iid)
    assert st["state"] == ("timed_out" if timeout_state else "errored")
    assert st["status"] == "waiting" and st["pending"] is None
    hist = list(every(eng.history, iid))
    applied = [r for r in hist if r["outcome"] == "applied" and r["state"] == "calling"]
    assert [r["event"] for r in applied] == ["timeout" if timeout_state else "error"]
    assert applied[0]["time"] == due
    # a late outcome from outside is refused: the step is over
    with pytest.raises(EventRefused, match="success"):
        eng.send(iid, "success", {"late": True})


def test_an_outside_outcome_before_the_timeout_cancels_it(server, make_engine):
    eng = make_engine(one_step([worker(server.url("/status/202"))], action_type="async",
                               action_timeout=ASYNC_TIMEOUT, timeout_state=True), clock=ManualClock())
    iid = eng.start("e2e/one", {})
    wait_for(eng, iid, accepted)
    eng.advance(ASYNC_TIMEOUT / 2)
    eng.send(iid, "approved", {"ok": 1})
    assert eng.advance(ASYNC_TIMEOUT) == 0                     # past the cancelled due time: nothing fires
    st = eng.status(iid)
    assert (st["state"], st["status"]) == ("approved", "waiting")
    assert not [r for r in every(eng.history, iid) if r["event"] == "timeout"]
