"""W3C trace context on worker calls (SPEC §10 "Trace context"; goflow/trace.py): a worker that records
the headers it gets, against a real daemon and its HTTP API."""
from __future__ import annotations

from goflow.trace import parse, trace_id

from console_support import poll


def test_every_attempt_carries_a_traceparent_kept_in_the_history(stack, api):
    ids = [api.post("/instances", json={"blueprint": "obs/call"}).json()["id"] for _ in range(2)]
    poll(lambda: all(api.get(f"/instances/{i}").json()["state"] == "waiting" for i in ids), 30, 0.05,
         "both call steps to be over")
    spans = set()
    for iid in ids:
        seen = [(path, headers) for path, headers, body in stack.worker.seen if body["instance"] == iid]
        assert [path for path, _h in seen] == ["/fail", "/fail", "/ok"]       # two attempts, one fallback
        sent = [headers["traceparent"] for _p, headers in seen]
        parsed = [parse(v) for v in sent]
        assert None not in parsed, sent
        # one trace per instance (derived from its id), a new span per attempt
        assert {t for t, _s in parsed} == {trace_id(iid)}
        assert len({s for _t, s in parsed}) == 3
        spans |= {s for _t, s in parsed}
        # the history keeps each attempt's traceparent, in order
        history = api.get(f"/instances/{iid}/history", params={"order": "oldest"}).json()["history"]
        kept = [r["detail"]["traceparent"] for r in history if r["attempt"] is not None]
        assert kept == sent
    assert len(spans) == 6
    assert trace_id(ids[0]) != trace_id(ids[1])


def test_trace_ids_are_stable_and_well_formed():
    assert trace_id("a1") == trace_id("a1") != trace_id("a2")
    assert len(trace_id("a1")) == 32 and int(trace_id("a1"), 16)
    assert parse("00-" + "0" * 32 + "-" + "1" * 16 + "-01") is None          # an all-zero trace id is invalid
    assert parse("00-" + "a" * 32 + "-" + "b" * 16 + "-01") == ("a" * 32, "b" * 16)
    assert parse("garbage") is None
