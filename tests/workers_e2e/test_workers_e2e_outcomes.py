"""Through the running engine (embedded): every SPEC §4 worker behaviour of the real HTTP test server
on 127.0.0.1 gives the right instance state, context and history — exact attempts per endpoint, exact
fallback order, and ``Idempotency-Key: <instance>:<step>`` on every attempt and fallback.

Backoff is zero (``retryDelay: 0``) so no test sleeps through one; the delays the engine would have
waited are still recorded (``detail.retry_in``)."""
from __future__ import annotations

import pytest

from e2e_support import attempts, one_step, settle, worker
from goflow.paging import every


def run_one(make_engine, workers, **flow):
    """An engine serving the one-step flow with ``workers``, and a started instance of it."""
    eng = make_engine(one_step(workers, **flow))
    return eng, eng.start("e2e/one", {"customer": 42})


def keys(server):
    return [s.headers.get("Idempotency-Key") for s in server.seen]


def test_200_json_completes_and_output_lands_in_context(server, make_engine):
    url = server.url("/ok")
    eng, iid = run_one(make_engine, [worker(url, retry=3)])
    st = eng.wait(iid, timeout=10)
    assert (st["status"], st["state"]) == ("completed", "done")
    assert st["context"] == {"customer": 42, "call": {"echo": {"customer": 42}}}
    hist = list(every(eng.history, iid))
    assert attempts(hist) == [(url, 1, "200")]
    rec = next(r for r in hist if r["endpoint"])
    assert rec["latency"] > 0 and rec["step"] == 1 and rec["state"] == "calling" and set(rec["detail"]) == {"traceparent"}
    # the request the worker saw: the SPEC §4 document and the Idempotency-Key
    (seen,) = server.seen
    assert seen.method == "POST" and seen.headers["Idempotency-Key"] == f"{iid}:1"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.body == {"instance": iid, "project": "e2e", "activity": "one", "version": 1, "action": "call",
                         "state": "calling", "step": 1, "attempt": 1, "input": {"customer": 42},
                         "context": {"customer": 42}}
    # history order: created, start applied, the attempt, success applied, completed
    outcomes = [(r["event"], r["outcome"]) for r in hist]
    assert outcomes == [(None, "created"), ("start", "applied"), (None, "200"), ("success", "applied"),
                        (None, "completed")]


def test_named_event_drives_its_branch(server, make_engine):
    url = server.url("/event/approved")
    eng, iid = run_one(make_engine, [worker(url)])
    st = settle(eng, iid)
    assert (st["status"], st["state"]) == ("waiting", "approved")
    assert st["context"]["call"] == {"event": "approved", "n": 1}
    hist = list(every(eng.history, iid))
    assert attempts(hist) == [(url, 1, "200")]
    assert any(r["event"] == "approved" and r["outcome"] == "applied" and r["next"] == "approved" for r in hist)


def test_unknown_named_event_fails_the_instance(server, make_engine):
    eng, iid = run_one(make_engine, [worker(server.url("/event/bogus"))])
    st = eng.wait(iid, timeout=10)
    assert st["status"] == "failed" and st["state"] == "calling"
    assert "'bogus'" in st["reason"] and "no transition" in st["reason"]


def test_non_json_body_is_kept_as_text(server, make_engine):
    url = server.url("/text")
    eng, iid = run_one(make_engine, [worker(url)])
    st = eng.wait(iid, timeout=10)
    assert st["status"] == "completed" and st["context"]["call"] == "hello, not json"
    rec = next(r for r in every(eng.history, iid) if r["endpoint"])
    assert (rec["outcome"], rec["detail"]["body"]) == ("200", "not-json")


def test_empty_body_leaves_no_output(server, make_engine):
    eng, iid = run_one(make_engine, [worker(server.url("/empty"))])
    st = eng.wait(iid, timeout=10)
    assert st["status"] == "completed" and "call" not in st["context"]


def test_4xx_ends_the_endpoint_at_once(server, make_engine):
    url = server.url("/status/404")
    eng, iid = run_one(make_engine, [worker(url, retry=3)])
    st = settle(eng, iid)
    assert (st["status"], st["state"]) == ("waiting", "errored")
    assert attempts(every(eng.history, iid)) == [(url, 1, "404")]
    assert server.paths() == ["/status/404"]
    rec = next(r for r in every(eng.history, iid) if r["endpoint"])
    assert rec["detail"]["body"] == {"error": "status 404"} and set(rec["detail"]) == {"body", "traceparent"}


def test_4xx_falls_back_to_the_next_priority(server, make_engine):
    bad, good = server.url("/status/422"), server.url("/ok")
    eng, iid = run_one(make_engine, [worker(good, priority=2), worker(bad, retry=3, priority=1)])
    st = eng.wait(iid, timeout=10)
    assert st["status"] == "completed"
    assert attempts(every(eng.history, iid)) == [(bad, 1, "422"), (good, 2, "200")]
    assert keys(server) == [f"{iid}:1"] * 2


@pytest.mark.parametrize("status", [500, 503, 408])
def test_retryable_status_uses_every_attempt_then_error(server, make_engine, status):
    url = server.url(f"/status/{status}")
    eng, iid = run_one(make_engine, [worker(url, retry=2)])
    st = settle(eng, iid)
    assert (st["status"], st["state"]) == ("waiting", "errored")
    hist = list(every(eng.history, iid))
    assert attempts(hist) == [(url, n, str(status)) for n in (1, 2, 3)]
    details = [r["detail"] for r in hist if r["endpoint"]]
    assert [d.get("retry_in") for d in details] == [0.0, 0.0, None]
    assert keys(server) == [f"{iid}:1"] * 3
    assert [s.body["attempt"] for s in server.seen] == [1, 2, 3]


def test_429_retry_after_is_honoured_within_the_bound(server, make_engine):
    # Retry-After: 120 asks for two minutes; maxRetryDelay 0.01 bounds it (the wait recorded is 0.01 s)
    url = server.url("/retry-after/120")
    eng, iid = run_one(make_engine, [worker(url, retry=2, maxRetryDelay=0.01),
                                     worker(server.url("/ok"), priority=2)])
    st = eng.wait(iid, timeout=10)
    assert st["status"] == "completed"
    hist = list(every(eng.history, iid))
    assert attempts(hist) == [(url, 1, "429"), (url, 2, "429"), (url, 3, "429"), (server.url("/ok"), 4, "200")]
    assert [r["detail"].get("retry_in") if r["detail"] else None for r in hist if r["endpoint"]] == \
        [0.01, 0.01, None, None]


def test_503_retry_after_raises_a_zero_backoff(server, make_engine):
    # a short Retry-After (0.02 s) lengthens a zero backoff; a longer one (5 s) is cut to maxRetryDelay 0.03
    short, long_ = server.url("/unavailable/0.02"), server.url("/unavailable/5")
    eng, iid = run_one(make_engine, [worker(short, retry=1), worker(long_, retry=1, priority=2, maxRetryDelay=0.03)])
    st = settle(eng, iid)
    assert st["state"] == "errored"
    hist = list(every(eng.history, iid))
    assert attempts(hist) == [(short, 1, "503"), (short, 2, "503"), (long_, 3, "503"), (long_, 4, "503")]
    assert [r["detail"].get("retry_in") for r in hist if r["endpoint"]] == [0.02, None, 0.03, None]


def test_flaky_endpoint_succeeds_on_a_retry(server, make_engine):
    url = server.url("/flaky/2")
    eng, iid = run_one(make_engine, [worker(url, retry=3)])
    st = eng.wait(iid, timeout=10)
    assert st["status"] == "completed" and st["context"]["call"] == {"after": 3}
    assert attempts(every(eng.history, iid)) == [(url, 1, "503"), (url, 2, "503"), (url, 3, "200")]
    assert server.flaky == {f"{iid}:1": 3}      # the server counted by Idempotency-Key


def test_oversized_body_is_an_error_outcome_and_ends_the_endpoint(server, make_engine):
    big = server.url("/big/1100000")             # over the default bound of 1 MiB (Content-Length)
    chunked = server.url("/bigchunked/1100000")  # no Content-Length: refused while reading
    eng, iid = run_one(make_engine, [worker(big, retry=3), worker(chunked, retry=3, priority=2)])
    st = settle(eng, iid)
    assert (st["status"], st["state"]) == ("waiting", "errored")
    assert "call" not in st["context"]
    hist = list(every(eng.history, iid))
    assert attempts(hist) == [(big, 1, "body-too-large"), (chunked, 2, "body-too-large")]
    assert all("1048576" in r["detail"]["error"] for r in hist if r["endpoint"])


def test_response_timeout_per_attempt_gives_timeout_or_error(server, make_engine):
    # answers held back against a 0.15 s responseTimeout: every attempt times out
    url = server.url("/gate/e2e-never")
    eng = make_engine(one_step([worker(url, retry=1, timeout=0.15)], activity="t1", timeout_state=True),
                      one_step([worker(url, retry=1, timeout=0.15)], activity="t2"))
    a = eng.start("e2e/t1", {})
    b = eng.start("e2e/t2", {})
    sa, sb = settle(eng, a), settle(eng, b)
    assert sa["state"] == "timed_out"            # the state handles timeout
    assert sb["state"] == "errored"              # it does not: timeout becomes error
    for iid in (a, b):
        hist = list(every(eng.history, iid))
        assert attempts(hist) == [(url, 1, "timeout"), (url, 2, "timeout")]
        lat = [r["latency"] for r in hist if r["endpoint"]]
        assert all(x >= 0.1 for x in lat), lat      # not before the timeout (a lower bound only)


def test_last_failure_decides_timeout_versus_error(server, closed_port, make_engine):
    slow, down = server.url("/slow/1000"), f"http://127.0.0.1:{closed_port}/x"
    eng = make_engine(one_step([worker(down, retry=1), worker(slow, priority=2, timeout=0.1)],
                               activity="a", timeout_state=True),
                      one_step([worker(slow, timeout=0.1), worker(down, priority=2)],
                               activity="b", timeout_state=True))
    a, b = eng.start("e2e/a", {}), eng.start("e2e/b", {})
    assert settle(eng, a)["state"] == "timed_out"
    assert settle(eng, b)["state"] == "errored"
    assert attempts(every(eng.history, a)) == [(down, 1, "connect-error"), (down, 2, "connect-error"),
                                              (slow, 3, "timeout")]
    assert attempts(every(eng.history, b)) == [(slow, 1, "timeout"), (down, 2, "connect-error")]


def test_dropped_connection_and_closed_port_are_retryable_connect_errors(server, closed_port, make_engine):
    drop, down = server.url("/drop"), f"http://127.0.0.1:{closed_port}/w"
    eng, iid = run_one(make_engine, [worker(drop, retry=2), worker(down, retry=1, priority=2)])
    st = settle(eng, iid)
    assert st["state"] == "errored"
    hist = list(every(eng.history, iid))
    assert attempts(hist) == [(drop, 1, "connect-error"), (drop, 2, "connect-error"), (drop, 3, "connect-error"),
                              (down, 4, "connect-error"), (down, 5, "connect-error")]
    assert all(r["detail"]["error"] for r in hist if r["endpoint"])
    assert keys(server) == [f"{iid}:1"] * 3


def test_exact_fallback_order_and_one_idempotency_key_across_priorities(server, closed_port, make_engine):
    p1 = f"http://127.0.0.1:{closed_port}/p1"
    p2, p3, p4, p5 = (server.url(p) for p in ("/status/502", "/status/409", "/event/approved", "/ok"))
    workers = [worker(p5, priority=5), worker(p3, retry=4, priority=3), worker(p1, retry=1, priority=1),
               worker(p4, retry=2, priority=4), worker(p2, retry=2, priority=2)]
    eng, iid = run_one(make_engine, workers)
    st = settle(eng, iid)
    assert st["state"] == "approved"
    assert attempts(every(eng.history, iid)) == [
        (p1, 1, "connect-error"), (p1, 2, "connect-error"),
        (p2, 3, "502"), (p2, 4, "502"), (p2, 5, "502"),
        (p3, 6, "409"),
        (p4, 7, "200")]
    assert server.paths() == ["/status/502"] * 3 + ["/status/409", "/event/approved"]
    assert keys(server) == [f"{iid}:1"] * 5
    assert [s.body["attempt"] for s in server.seen] == [3, 4, 5, 6, 7]


def test_every_step_has_its_own_key(server, make_engine):
    """Two steps of one instance: keys <instance>:1 and <instance>:2, each stable over its retries."""
    doc = one_step([worker(server.url("/flaky/1"), retry=1)], events=())
    doc["states"].append("second")
    doc["actions"].append({"name": "again", "type": "sync"})
    doc["workers"].append(worker(server.url("/flaky/1"), name="again", retry=1))
    for t in doc["transitions"]:
        if (t["current"], t["event"]) == ("calling", "success"):
            t.update(action="again", next="second")
    doc["transitions"].append({"current": "second", "event": "success", "action": "continue", "next": "done"})
    eng = make_engine(doc)
    iid = eng.start("e2e/one", {})
    st = eng.wait(iid, timeout=10)
    assert st["status"] == "completed" and st["context"]["again"] == {"after": 2}
    assert keys(server) == [f"{iid}:1", f"{iid}:1", f"{iid}:2", f"{iid}:2"]
    assert attempts(every(eng.history, iid), "again") == [(server.url("/flaky/1"), 1, "503"),
                                                   (server.url("/flaky/1"), 2, "200")]
    # the second step's request carries the first step's output in its context
    assert server.seen[2].body["context"]["call"] == {"after": 2}
