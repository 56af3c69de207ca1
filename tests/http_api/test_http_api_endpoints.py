"""Every endpoint of the HTTP API and its error mapping, against a real daemon, over real HTTP."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from http_api_support import PROJECT, alive
from testkit import is_loopback, listening

GATE = f"{PROJECT}/gate"
JSON = {"Content-Type": "application/json"}


def start(api, **body) -> str:
    r = api.post("/instances", json={"blueprint": GATE, **body})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def error(r, status: int, kind: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert err["type"] == kind and err["message"], err
    return err


# ---------------------------------------------------------------------------------------- instances
def test_create_instance(api):
    r = api.post("/instances", json={"blueprint": GATE, "input": {"order": 7}})
    assert r.status_code == 201
    iid = r.json()["id"]
    assert r.headers["location"] == f"/instances/{iid}"
    st = api.get(f"/instances/{iid}").json()
    assert (st["status"], st["state"], st["input"], st["version"]) == ("waiting", "waiting", {"order": 7}, 1)
    # an id and a version of the caller's choosing
    r = api.post("/instances", json={"blueprint": GATE, "id": "order-42", "version": 1})
    assert (r.status_code, r.json()) == (201, {"id": "order-42"})
    err = error(api.post("/instances", json={"blueprint": GATE, "id": "order-42"}), 409, "InstanceExists")
    assert err["instance_id"] == "order-42"


@pytest.mark.parametrize("body, status, kind", [
    ({"blueprint": "api/nope"}, 404, "BlueprintNotFound"),
    ({"blueprint": GATE, "version": 9}, 404, "BlueprintNotFound"),
    ({"blueprint": "no-slash"}, 400, "InvalidIdentifier"),
    ({}, 400, "InvalidInput"),
    ({"blueprint": GATE, "input": [1, 2]}, 400, "InvalidInput"),
    ({"blueprint": GATE, "version": "one"}, 400, "InvalidInput"),
    ({"blueprint": GATE, "version": 0}, 400, "InvalidInput"),
    ({"blueprint": GATE, "id": ""}, 400, "InvalidIdentifier"),
    ({"blueprint": GATE, "id": "x" * 300}, 400, "InvalidIdentifier"),
    ({"blueprint": GATE, "colour": "red"}, 400, "InvalidInput"),
])
def test_create_instance_errors(api, body, status, kind):
    err = error(api.post("/instances", json=body), status, kind)
    if kind == "BlueprintNotFound":
        assert (err["project"], err["activity"]) == ("api", body["blueprint"].split("/")[1])


def test_status_and_history(api):
    iid = start(api, input={"k": 1})
    assert api.post(f"/instances/{iid}/events", json={"event": "go", "data": {"by": "ops"}}).status_code == 200
    st = api.get(f"/instances/{iid}").json()
    assert (st["id"], st["status"], st["state"]) == (iid, "completed", "done")
    assert st["context"]["events"]["go"] == {"by": "ops"}
    h = api.get(f"/instances/{iid}/history", params={"order": "oldest"}).json()
    assert h["id"] == iid and h["next"] is None
    assert [(r["event"], r["outcome"]) for r in h["history"] if r["event"]] == [("start", "applied"), ("go", "applied")]
    latest = api.get(f"/instances/{iid}/history", params={"limit": 1}).json()
    assert latest["history"] == h["history"][-1:] and latest["next"]      # the latest by default
    error(api.get(f"/instances/{iid}/history", params={"limit": 0}), 400, "InvalidInput")
    assert error(api.get("/instances/no-such"), 404, "InstanceNotFound")["instance_id"] == "no-such"
    error(api.get("/instances/no-such/history"), 404, "InstanceNotFound")


def test_list(api):
    ids = [start(api, input={"n": n}) for n in range(3)]
    api.post(f"/instances/{ids[0]}/events", json={"event": "go"})
    r = api.get("/instances", params={"blueprint": GATE, "limit": 1000})
    body = r.json()
    assert (r.status_code, body["next"]) == (200, None)
    listed = {row["id"]: row for row in body["instances"]}
    assert set(ids) <= set(listed)
    assert listed[ids[0]]["status"] == "completed" and listed[ids[1]]["status"] == "waiting"
    done = {row["id"] for row in api.get("/instances", params={"status": "completed", "limit": 1000}).json()["instances"]}
    assert ids[0] in done and ids[1] not in done
    first = api.get("/instances", params={"blueprint": GATE, "limit": 2}).json()
    page1 = first["instances"]
    page2 = api.get("/instances", params={"blueprint": GATE, "limit": 2, "cursor": first["next"]}).json()["instances"]
    assert len(page1) == 2 and not {r["id"] for r in page1} & {r["id"] for r in page2}
    for params in ({"status": "sleepy"}, {"limit": "many"}, {"limit": 0}, {"limit": 5000}, {"offset": -1},
                   {"offset": 2}, {"blueprint": "x"}, {"cursor": "nope"}, {"order": "sideways"}):
        error(api.get("/instances", params=params), 400, "InvalidIdentifier" if "blueprint" in params else "InvalidInput")


def test_pause_resume_terminate(api):
    iid = start(api)
    r = api.post(f"/instances/{iid}/pause")
    assert (r.status_code, r.json()["status"]) == (200, "paused")
    # an event sent while paused is kept, and applied on resume
    assert api.post(f"/instances/{iid}/events", json={"event": "ping"}).json()["status"] == "paused"
    r = api.post(f"/instances/{iid}/resume")
    assert (r.status_code, r.json()["status"], r.json()["state"]) == (200, "waiting", "waiting")
    r = api.post(f"/instances/{iid}/terminate", json={"reason": "customer left"})
    assert (r.status_code, r.json()["status"]) == (200, "terminated")
    assert api.get(f"/instances/{iid}").json()["reason"] == "customer left"
    err = error(api.post(f"/instances/{iid}/pause"), 409, "InstanceFinished")
    assert (err["instance_id"], err["status"]) == (iid, "terminated")
    error(api.post("/instances/no-such/resume"), 404, "InstanceNotFound")
    error(api.post(f"/instances/{iid}/terminate", json={"reason": 5}), 400, "InvalidInput")
    error(api.post(f"/instances/{iid}/pause", json={"now": True}), 400, "InvalidInput")


# ------------------------------------------------------------------------------------------- events
def test_event_ack_and_idempotency(api):
    iid = start(api)
    r = api.post(f"/instances/{iid}/events", json={"event": "ping", "data": [1, "two"], "event_id": "e-1"})
    assert (r.status_code, r.json()) == (200, {"id": iid, "state": "waiting", "status": "waiting", "duplicate": False})
    again = api.post(f"/instances/{iid}/events", json={"event": "ping", "event_id": "e-1"})
    assert again.json()["duplicate"] is True
    # the Idempotency-Key header is the event id when the body has none
    key = {"Idempotency-Key": "k-1"}
    assert api.post(f"/instances/{iid}/events", json={"event": "ping"}, headers=key).json()["duplicate"] is False
    assert api.post(f"/instances/{iid}/events", json={"event": "ping"}, headers=key).json()["duplicate"] is True
    # ... and the body's event_id wins over the header
    r = api.post(f"/instances/{iid}/events", json={"event": "ping", "event_id": "e-2"}, headers=key)
    assert r.json()["duplicate"] is False
    hist = api.get(f"/instances/{iid}/history", params={"order": "oldest"}).json()["history"]
    assert [r["outcome"] for r in hist if r["event"] == "ping"] == ["applied", "duplicate", "applied",
                                                                   "duplicate", "applied"]


def test_event_errors(api):
    iid = start(api)
    err = error(api.post(f"/instances/{iid}/events", json={"event": "launch"}), 409, "EventRefused")
    assert (err["instance_id"], err["state"], err["event"]) == (iid, "waiting", "launch")
    assert err["accepted"] == ["go", "ping"]
    error(api.post("/instances/no-such/events", json={"event": "go"}), 404, "InstanceNotFound")
    api.post(f"/instances/{iid}/events", json={"event": "go"})
    err = error(api.post(f"/instances/{iid}/events", json={"event": "ping"}), 409, "InstanceFinished")
    assert (err["status"], err["state"]) == ("completed", "done")
    for body in ({}, {"event": ""}, {"event": 3}, {"event": "go", "extra": 1}):
        error(api.post(f"/instances/{iid}/events", json=body), 400, "InvalidInput")
    error(api.post(f"/instances/{iid}/events", json={"event": "go", "event_id": 5}), 400, "InvalidIdentifier")
    for raw in (b"", b"{not json", b"[1]", b'{"event": "go", "data": NaN}', b"\xff\xfe", b"[" * 50_000):
        error(api.post(f"/instances/{iid}/events", content=raw, headers=JSON), 400, "InvalidInput")


def test_size_bounds(api):
    iid = start(api)
    limit = 65536                      # limits.event_bytes
    # the data alone over the bound (the body is within the envelope's room): 413
    err = error(api.post(f"/instances/{iid}/events", json={"event": "ping", "data": "x" * limit}), 413,
                "PayloadTooLarge")
    assert "limits.event_bytes" in err["message"]
    error(api.post("/instances", json={"blueprint": GATE, "input": {"x": "y" * limit}}), 413, "PayloadTooLarge")
    # a body over the bound, announced by Content-Length, and sent chunked without one
    big = json.dumps({"event": "ping", "data": "x" * (2 * limit)}).encode()
    error(api.post(f"/instances/{iid}/events", content=big, headers=JSON), 413, "PayloadTooLarge")
    error(api.post(f"/instances/{iid}/events", content=iter([big[:1000], big[1000:]]), headers=JSON), 413,
          "PayloadTooLarge")
    # a chunked body is read whole (it may arrive in pieces)
    chunks = iter([b'{"event": "pi', b'ng"}'])
    assert api.post(f"/instances/{iid}/events", content=chunks, headers=JSON).status_code == 200
    # just within the bound is taken
    ok = api.post(f"/instances/{iid}/events", json={"event": "ping", "data": "x" * (limit - 100)})
    assert ok.status_code == 200, ok.text
    assert api.get(f"/instances/{iid}").json()["status"] == "waiting"


def test_concurrent_events_are_batched(stack, api):
    ids = [start(api) for _ in range(40)]
    before = api.get("/health").json()["batching"]

    async def post_all():
        async with aiohttp.ClientSession(headers=stack.auth) as s:
            async def one(iid):
                async with s.post(f"{stack.url}/instances/{iid}/events", json={"event": "go"}) as r:
                    return r.status, await r.json()
            return await asyncio.gather(*(one(i) for i in ids))

    results = asyncio.run(post_all())
    assert all(status == 200 and ack["status"] == "completed" for status, ack in results), results
    assert {ack["id"] for _s, ack in results} == set(ids)
    after = api.get("/health").json()["batching"]
    events, batches = after["events"] - before["events"], after["batches"] - before["batches"]
    assert events == 40
    assert batches < events / 2, f"40 concurrent posts went in {batches} round trips"


# ------------------------------------------------------------------------------------ health, misc
def test_health_and_unknown_routes(stack, api):
    r = api.get("/health")
    body = r.json()
    assert (r.status_code, body["status"], body["daemon_port"]) == (200, "ok", stack.port)
    assert body["processes"] >= 6 and body["batching"]["window_ms"] == 2.0
    error(api.get("/nowhere"), 404, "NotFound")
    r = api.delete("/instances")
    error(r, 405, "MethodNotAllowed")
    assert "POST" in r.headers["allow"]


def test_api_listens_on_loopback_only(stack):
    assert alive(stack.api_pid)
    sockets = listening(stack.api_pid)
    assert any(port == stack.api_port for _addr, port, _family in sockets), sockets
    assert all(is_loopback(addr) for addr, _port, _family in sockets), sockets
