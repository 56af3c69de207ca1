"""Hostile identifiers over the real HTTP API (issue 10 item 3, SPEC §12): lone surrogates, 300-byte
ids, ids with '/', control characters, bad cursors — each a 400 at once, before anything reaches the
actor system, while good requests interleaved with them are all answered; and cursor pagination of
history and list over HTTP (the latest first by default)."""
from __future__ import annotations

import asyncio
import json
import random

import aiohttp

from importlib import resources

from goflow import ids, paging
from http_api_support import PROJECT

GATE = f"{PROJECT}/gate"
# Each request, as its client sends it; far below the engine's 30 s request timeout, so an API that
# stalls on a hostile request (as it did: 30 s per request) fails the test instead of slowing it.
CLIENT_TIMEOUT = aiohttp.ClientTimeout(total=15)


def _hostile(target: str) -> list[tuple[str, str, bytes | None, dict]]:
    """(method, path, raw body, headers): every one must be a 400."""
    def body(doc: dict) -> bytes:
        return json.dumps(doc).encode()          # "\ud800" travels as the JSON escape \\ud800
    bad_ids = ["\ud800", "\udfff-tail", "x" * 300, "é" * 129, "a/b", "bell\x07", "zero\u200bwidth", "line\nbreak"]
    out = []
    for bad in bad_ids:
        out += [
            ("POST", "/instances", body({"blueprint": GATE, "id": bad}), {}),
            ("POST", f"/instances/{target}/events", body({"event": "ping", "event_id": bad}), {}),
        ]
    out += [("POST", "/instances", body({"blueprint": f"{PROJECT}/\ud800"}), {}),
            ("POST", "/instances", body({"blueprint": f"{PROJECT}/gate/x"}), {}),
            ("POST", f"/instances/{target}/events", body({"event": "ping"}), {"Idempotency-Key": "k" * 300}),
            ("GET", "/instances/" + "y" * 300, None, {}),
            ("GET", "/instances/" + "y" * 300 + "/history", None, {}),
            ("POST", "/instances/" + "y" * 300 + "/pause", b"{}", {}),
            ("POST", "/instances/" + "y" * 257 + "/events", body({"event": "ping"}), {}),
            ("GET", "/instances", None, {"x-query": "cursor=not-a-cursor"}),
            ("GET", f"/instances/{target}/history", None, {"x-query": "cursor=WyJsIiwibGF0ZXN0IiwwXQ"}),
            ("GET", "/instances", None, {"x-query": "offset=10"}),
            ("GET", "/instances", None, {"x-query": f"blueprint={PROJECT}%2Fbell%07"}),   # blueprint names too
            ("GET", "/instances", None, {"x-query": f"blueprint={'p' * 257}%2Fgate"}),
            ("GET", "/instances", None, {"x-query": f"blueprint={PROJECT}%2Fga%2Fte"}),
            ("POST", "/instances", body({"blueprint": "tab\there/gate"}), {})]
    return out


async def _request(session, url, method, path, raw, headers):
    query = headers.pop("x-query", None)
    full = f"{url}{path}" + (f"?{query}" if query else "")
    kw = {"data": raw, "headers": {"Content-Type": "application/json", **headers}} if raw is not None else \
        {"headers": headers}
    async with session.request(method, full, **kw) as r:
        return r.status, json.loads(await r.read())


def test_hostile_ids_are_400s_and_good_requests_all_answered(stack, api):
    target = api.post("/instances", json={"blueprint": GATE, "id": "target"}).json()["id"]
    hostile = _hostile(target)
    hostile = (hostile * (100 // len(hostile) + 1))[:100]
    good = []
    for n in range(100):
        good.append(("POST", "/instances", json.dumps({"blueprint": GATE, "id": f"good-{n}"}).encode(), {})
                    if n % 2 == 0 else
                    ("POST", f"/instances/{target}/events",
                     json.dumps({"event": "ping", "event_id": f"ping-{n}"}).encode(), {}))
    mixed = [("bad", r) for r in hostile] + [("good", r) for r in good]
    random.Random(7).shuffle(mixed)

    async def run():
        limit = asyncio.Semaphore(20)
        async with aiohttp.ClientSession(timeout=CLIENT_TIMEOUT, headers=stack.auth) as session:
            async def one(kind, req):
                method, path, raw, headers = req
                async with limit:
                    return kind, req, await _request(session, stack.url, method, path, raw, dict(headers))
            return await asyncio.gather(*(one(kind, req) for kind, req in mixed))

    answers = asyncio.run(run())
    bad = [(req[:2], status, body) for kind, req, (status, body) in answers if kind == "bad"]
    good = [(req[:2], status, body) for kind, req, (status, body) in answers if kind == "good"]
    assert len(bad) == 100 and len(good) == 100
    assert [b for b in bad if b[1] != 400 or b[2]["error"]["type"] not in ("InvalidIdentifier", "InvalidInput")] == []
    assert [g for g in good if g[1] not in (200, 201)] == []
    # nothing hostile reached an instance: the target took every good ping and is still waiting
    st = api.get(f"/instances/{target}").json()
    assert (st["status"], st["state"]) == ("waiting", "waiting")
    listed = api.get("/instances", params={"blueprint": GATE, "limit": 1000}).json()["instances"]
    assert {f"good-{n}" for n in range(0, 100, 2)} <= {r["id"] for r in listed}
    pings = [r for r in api.get(f"/instances/{target}/history", params={"limit": 1000}).json()["history"]
             if r["event"] == "ping"]
    assert len(pings) == 50 and {r["outcome"] for r in pings} == {"applied"}
    assert api.get("/health").status_code == 200


def test_the_openapi_document_states_the_same_rules():
    doc = json.loads(resources.files("goflow").joinpath("schemas", "openapi.json").read_text())
    schemas = doc["components"]["schemas"]
    assert schemas["Identifier"]["pattern"] == ids.pattern()
    assert schemas["BlueprintName"]["pattern"] == ids.blueprint_pattern()
    cursors = {path: p["schema"]["pattern"] for path, item in doc["paths"].items()
               for p in item.get("get", {}).get("parameters", []) if p["name"] == "cursor"}
    assert cursors == {"/instances": paging.LIST_CURSOR, "/instances/{id}/history": paging.HISTORY_CURSOR}


def test_an_invalid_identifier_names_the_field(api):
    r = api.post("/instances", content=b'{"blueprint": "api/gate", "id": "\\ud800"}',
                 headers={"Content-Type": "application/json"})
    err = r.json()["error"]
    assert (r.status_code, err["type"], err["field"]) == (400, "InvalidIdentifier", "id")
    assert "lone surrogate" in err["message"]


def test_history_and_list_pages_over_http(api):
    iid = api.post("/instances", json={"blueprint": GATE}).json()["id"]
    for n in range(7):
        assert api.post(f"/instances/{iid}/events", json={"event": "ping", "data": n}).status_code == 200
    oldest = api.get(f"/instances/{iid}/history", params={"order": "oldest", "limit": 1000}).json()["history"]
    assert oldest[0]["outcome"] == "created" and len(oldest) >= 9
    # the latest N by default, then the cursor walks back to the first record, every record once
    page = api.get(f"/instances/{iid}/history", params={"limit": 3}).json()
    assert page["history"] == oldest[:-4:-1]
    walked = list(page["history"])
    while page["next"]:
        page = api.get(f"/instances/{iid}/history", params={"limit": 4, "cursor": page["next"]}).json()
        walked += page["history"]
    assert walked == oldest[::-1]
    # a page of the list, oldest first, and the next page after its cursor (the same order again)
    first = api.get("/instances", params={"blueprint": GATE, "limit": 2, "order": "oldest"}).json()
    second = api.get("/instances", params={"blueprint": GATE, "limit": 2, "order": "oldest",
                                           "cursor": first["next"]}).json()
    keys = [(r["created"], r["id"]) for r in first["instances"] + second["instances"]]
    assert keys == sorted(keys) and len(set(keys)) == 4
    # a cursor is a position: walked the other way, it gives what came before it
    back = api.get("/instances", params={"blueprint": GATE, "limit": 5, "cursor": first["next"]}).json()
    assert [(r["created"], r["id"]) for r in back["instances"]] == keys[:1] and back["next"] is None
    assert len(api.get(f"/instances/{iid}/history").json()["history"]) <= 50
