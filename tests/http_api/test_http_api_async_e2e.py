"""An ``async`` action end to end: GoFlow calls the worker, the worker answers 202 and later POSTs the
outcome to the GoFlow HTTP API (``/instances/{id}/events``, ``Idempotency-Key: <instance>:<step>``)."""
from __future__ import annotations

from http_api_support import PROJECT, poll

CHARGE = f"{PROJECT}/charge"


def test_async_worker_calls_back_through_the_api(stack, api):
    r = api.post("/instances", json={"blueprint": CHARGE, "input": {"amount": 12.5, "callbacks": 2}})
    assert r.status_code == 201, r.text
    iid = r.json()["id"]
    st = poll(lambda: (s := api.get(f"/instances/{iid}").json())["status"] == "completed" and s, 15,
              what="the instance to complete")
    assert st["state"] == "done"
    # the worker's outcome data, under the action's name
    assert st["context"] == {"amount": 12.5, "callbacks": 2, "charge": {"charged": 12.5, "receipt": f"r-{iid}"}}
    call = next(c for c in stack.worker.calls if c["body"]["instance"] == iid)
    assert (call["body"]["action"], call["body"]["step"], call["key"]) == ("charge", 1, f"{iid}:1")
    # the callback was acknowledged, and the repeated one (same Idempotency-Key) as a duplicate
    acks = poll(lambda: [a for a in stack.worker.acks if a[1].get("id") == iid] if
                len([a for a in stack.worker.acks if a[1].get("id") == iid]) == 2 else None, 10,
                what="both callbacks' acks")
    assert acks == [(200, {"id": iid, "state": "done", "status": "completed", "duplicate": False}),
                    (200, {"id": iid, "state": "done", "status": "completed", "duplicate": True})]
    hist = api.get(f"/instances/{iid}/history").json()["history"]
    applied = [r for r in hist if r["event"] == "success" and r["outcome"] == "applied"]
    assert len(applied) == 1
    assert [r["outcome"] for r in hist if r["event"] == "success" and r["outcome"] == "duplicate"] == ["duplicate"]
    # the worker's own answer (202: accepted) is recorded too; it may reach the host after the callback
    attempts = poll(lambda: [(r["endpoint"], r["outcome"]) for r in api.get(f"/instances/{iid}/history").json()
                             ["history"] if r.get("endpoint")], 10, what="the worker attempt's record")
    assert attempts == [(stack.worker.url, "202")]
