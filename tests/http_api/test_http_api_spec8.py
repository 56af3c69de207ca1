"""SPEC §8 over HTTP against a real daemon: the async-answer rule (a 2xx naming ``success`` is the
outcome at once; a 2xx naming no event means accepted), retry and rewind (recorded as asked by
``api``), terminate with ``force`` and the cancel handler, ``end_state`` listing, and the refusals
(a 4xx with a JSON body, the instance unchanged)."""
from __future__ import annotations

import json

import pytest

from http_api_support import PROJECT, async_flow, poll

# An order whose reserve step calls a port nothing listens on: it fails (error has no transition there).
DEAD = "http://127.0.0.1:9/reserve"


def order(endpoint: str, activity: str) -> dict:
    t = lambda c, e, a, n: {"current": c, "event": e, "action": a, "next": n}  # noqa: E731
    return {"project": PROJECT, "activity": activity, "states": ["reserving", "awaiting", "releasing"],
            "end": {"declined": "failed", "cancelled": "completed"}, "postpone": ["approve"],
            "actions": [{"name": "reserve", "type": "sync"}],
            "transitions": [t("init", "start", "reserve", "reserving"),
                            t("reserving", "success", "continue", "awaiting"),
                            t("awaiting", "approve", "continue", "done"),
                            t("awaiting", "decline", "continue", "declined"),
                            t("awaiting", "cancel", "continue", "releasing"),
                            t("releasing", "released", "continue", "cancelled")],
            "workers": [{"name": "reserve", "workerEndpoint": endpoint, "retryCount": 0, "responseTimeout": 5,
                         "priority": 1}]}


@pytest.fixture(scope="module")
def deployed(stack):
    stack.engine.deploy(async_flow(stack.worker.at("now"), "now"), async_flow(stack.worker.at("later"), "later"),
                        order(DEAD, "dead_order"), order(stack.worker.at("now"), "order"))
    return stack


def start(api, activity: str, **input) -> str:
    r = api.post("/instances", json={"blueprint": f"{PROJECT}/{activity}", "input": input})
    assert r.status_code == 201, r.text
    return r.json()["id"]


def settled(api, iid, what="the instance to settle", **want):
    def check():
        st = api.get(f"/instances/{iid}").json()
        return st if all(st.get(k) == v for k, v in want.items()) else None
    return poll(check, 15, what=f"{iid} to have {want}")


def test_a_2xx_naming_success_is_the_outcome_at_once(deployed, api):
    iid = start(api, "now", amount=3)
    st = settled(api, iid, status="completed")
    assert st["state"] == "done" and st["context"]["charge"] == {"event": "success", "paid": 3}
    hist = api.get(f"/instances/{iid}/history", params={"order": "oldest"}).json()["history"]
    assert [r["outcome"] for r in hist if r["event"] == "success"] == ["applied"]     # never "accepted"


def test_a_2xx_naming_no_event_means_accepted(deployed, api):
    iid = start(api, "later", amount=4)
    st = settled(api, iid, status="completed")
    assert st["context"]["charge"] == {"charged": 4, "receipt": f"r-{iid}"}        # the callback's data
    hist = api.get(f"/instances/{iid}/history", params={"order": "oldest"}).json()["history"]
    assert ("success", "accepted") in [(r["event"], r["outcome"]) for r in hist]


def test_retry_and_rewind_over_http(deployed, api):
    iid = start(api, "dead_order")
    st = settled(api, iid, status="failed")
    assert st["state"] == "reserving"
    r = api.post(f"/instances/{iid}/rewind", json={"to": "awaiting"})
    assert r.status_code == 409 and r.json()["error"]["type"] == "NotVisited", r.text
    assert "never entered it" in r.json()["error"]["message"]
    assert api.get(f"/instances/{iid}").json()["updated"] == st["updated"]             # unchanged
    r = api.post(f"/instances/{iid}/retry")
    assert r.status_code == 200 and r.json()["status"] == "running", r.text
    settled(api, iid, status="failed")                                                  # still nothing there
    r = api.post(f"/instances/{iid}/rewind", json={"to": "init"})
    assert r.status_code == 200, r.text
    settled(api, iid, status="failed")
    hist = api.get(f"/instances/{iid}/history", params={"order": "oldest"}).json()["history"]
    assert [(r["outcome"], r["detail"]) for r in hist if r["outcome"] in ("retried", "rewound")] == [
        ("retried", "api"), ("rewound", "api")]
    assert [r["step"] for r in hist if r["attempt"] == 1] == [1, 2, 3]                 # a new step each time


def test_refusals_are_409_with_a_json_body(deployed, api):
    iid = start(api, "order")
    settled(api, iid, state="awaiting")
    r = api.post(f"/instances/{iid}/retry")
    assert r.status_code == 409 and r.json()["error"]["type"] == "WrongStatus"
    assert r.json()["error"]["status"] == "waiting"
    r = api.post(f"/instances/{iid}/rewind", json={})
    assert r.status_code == 400 and "'to'" in r.json()["error"]["message"]
    r = api.post("/instances/nope/retry")
    assert r.status_code == 404 and r.json()["error"]["type"] == "InstanceNotFound"
    r = api.post(f"/instances/{iid}/terminate", json={"force": "yes"})
    assert r.status_code == 400


def test_terminate_cancels_or_forces_and_list_by_end_state(deployed, api):
    cancelled, forced, declined = start(api, "order"), start(api, "order"), start(api, "order")
    for iid in (cancelled, forced, declined):
        settled(api, iid, state="awaiting")
    r = api.post(f"/instances/{cancelled}/terminate", json={"reason": "customer left"})
    assert r.status_code == 200 and r.json()["state"] == "releasing"
    api.post(f"/instances/{cancelled}/events", json={"event": "released"})
    assert api.post(f"/instances/{forced}/terminate", json={"force": True}).json()["status"] == "terminated"
    api.post(f"/instances/{declined}/events", json={"event": "decline"})
    assert settled(api, declined, status="failed")["result"] == "declined"
    assert settled(api, cancelled, status="completed")["result"] == "cancelled"
    rows = api.get("/instances", params={"blueprint": f"{PROJECT}/order", "end_state": "declined"}).json()
    assert [r["id"] for r in rows["instances"]] == [declined]
    rows = api.get("/instances", params={"blueprint": f"{PROJECT}/order", "end_state": "cancelled"}).json()
    assert [r["id"] for r in rows["instances"]] == [cancelled]


# ------------------------------------------------------------------------------ the command line
def cli(stack, *args):
    from http_api_support import goflow
    return goflow(*args, "--port", str(stack.port), env=stack.procs.env())


def test_cli_retry_rewind_wait_and_their_one_line_refusals(deployed, api):
    iid = start(api, "order")
    p = cli(deployed, "wait", iid, "--state", "awaiting", "--timeout", "15")
    assert p.returncode == 0 and p.stdout.strip() == f"{iid}: waiting in state awaiting", p.stderr
    for args, want in ((("retry", iid), "cannot retry instance"),
                       (("rewind", iid, "--to", "releasing"), "never entered it"),
                       (("wait", "no-such-id", "--timeout", "5"), "no instance 'no-such-id'")):
        p = cli(deployed, *args)
        assert p.returncode == 1 and p.stderr.count("\n") == 1 and want in p.stderr, (args, p.stderr)
    p = cli(deployed, "wait", iid, "--state", "done", "--timeout", "0.5")
    assert p.returncode == 1 and "was not in state 'done' or ended within 0.5s" in p.stderr
    p = cli(deployed, "terminate", iid, "--reason", "stop")
    assert p.returncode == 0 and "cancel delivered; now waiting in state releasing" in p.stdout
    p = cli(deployed, "rewind", iid, "--to", "awaiting", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["state"] == "awaiting"
    p = cli(deployed, "terminate", iid, "--force")
    assert p.returncode == 0 and "terminated; now terminated" in p.stdout
    assert [r["detail"] for r in api.get(f"/instances/{iid}/history", params={"order": "oldest"}).json()["history"]
            if r["outcome"] == "rewound"] == ["cli"]
    dead = start(api, "dead_order")
    p = cli(deployed, "wait", dead, "--status", "failed", "--timeout", "15")
    assert p.returncode == 0 and "failed in state reserving" in p.stdout
    p = cli(deployed, "retry", dead)
    assert p.returncode == 0 and p.stdout.strip() == f"{dead}: retried; now running in state reserving"
    p = cli(deployed, "list", "--blueprint", f"{PROJECT}/dead_order", "--end-state", "declined", "--json")
    assert p.returncode == 0 and json.loads(p.stdout)["instances"] == []


def test_children_listed_by_parent_with_parent_in_their_status(deployed, api, stack):
    fan = {"project": PROJECT, "activity": "fan", "states": ["run"],
           "actions": [{"name": "kids", "type": "workflow", "blueprint": f"{PROJECT}/now", "forEach": "xs"}],
           "transitions": [{"current": "init", "event": "start", "action": "kids", "next": "run"},
                           {"current": "run", "event": "success", "action": "continue", "next": "done"}]}
    stack.engine.deploy(fan)
    r = api.post("/instances", json={"blueprint": f"{PROJECT}/fan", "id": "fan-1", "input": {"xs": [1, 2]}})
    assert r.status_code == 201, r.text
    settled(api, "fan-1", status="completed")
    rows = api.get("/instances", params={"parent": "fan-1"}).json()["instances"]
    assert sorted(row["id"] for row in rows) == ["fan-1~1~0", "fan-1~1~1"]
    assert api.get("/instances/fan-1~1~1").json()["parent"] == {"id": "fan-1", "step": 1, "index": 1}
    assert api.get("/instances/fan-1").json()["parent"] is None
    assert api.get("/instances", params={"parent": "a/b"}).status_code == 400
