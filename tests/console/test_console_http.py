"""The console over plain HTTP (no browser): the token swap, the cookie's attributes, refusals, every
page, the actions and their errors, against a real daemon and its API (SPEC §10 "Console")."""
from __future__ import annotations

import re
from contextlib import closing
import subprocess
import sys

import httpx
import pytest

from console_support import REPO, poll


def console_client(stack) -> httpx.Client:
    """A client that opened the link `goflow console` prints (the cookie set)."""
    c = httpx.Client(base_url=stack.url, timeout=30, follow_redirects=False)
    r = c.get(f"/ui/?token={stack.token}")
    assert r.status_code == 303 and r.headers["location"] == "/ui/"
    return c


def post(c: httpx.Client, stack, path: str, data: dict, csrf: str) -> httpx.Response:
    return c.post(path, data={**data, "csrf": csrf}, headers={"Origin": stack.url})


def csrf_of(html: str) -> str:
    return re.search(r'name="csrf" value="([0-9a-f]+)"', html).group(1)


def test_goflow_console_prints_the_link_and_the_token_becomes_a_cookie(stack):
    out = subprocess.run([sys.executable, "-m", "actors.cli", "console", "--data-dir", stack.data],
                         capture_output=True, text=True, cwd=str(REPO), timeout=60, env=stack.procs.env())
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == f"{stack.url}/ui/?token={stack.token}"
    with httpx.Client(timeout=30, follow_redirects=False) as c:
        r = c.get(out.stdout.strip())
        assert r.status_code == 303 and r.headers["location"] == "/ui/"      # the token leaves the URL
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/ui/" in cookie
        assert stack.token not in cookie                                    # an HMAC, not the token
        page = c.get(f"{stack.url}/ui/")
        assert page.status_code == 200 and "<h1>Instances</h1>" in page.text
        assert "default-src 'none'" in page.headers["content-security-policy"]


@pytest.mark.parametrize("cookie", [None, "0" * 64])
def test_without_a_good_cookie_every_page_is_the_login_page(stack, cookie):
    with httpx.Client(base_url=stack.url, timeout=30, follow_redirects=False) as c:
        if cookie:
            c.cookies.set("goflow_console", cookie, path="/ui/")
        for path in ("/ui/", "/ui/instances/x", "/ui/blueprints", "/ui/blueprints/obs/gate"):
            r = c.get(path)
            assert r.status_code == 401 and "Sign in to the GoFlow console" in r.text, path
            assert "Traceback" not in r.text
        if cookie:
            assert "expired" in c.get("/ui/").text
        r = c.get("/ui/?token=wrong")
        assert r.status_code == 401 and "That token is wrong" in r.text and "set-cookie" not in r.headers


def test_login_form_needs_origin_and_the_token(stack):
    with httpx.Client(base_url=stack.url, timeout=30, follow_redirects=False) as c:
        assert c.post("/ui/login", data={"token": stack.token}).status_code == 403           # no Origin
        assert c.post("/ui/login", data={"token": stack.token},
                      headers={"Origin": "http://evil.example"}).status_code == 403          # the guard
        assert c.post("/ui/login", data={"token": "nope"}, headers={"Origin": stack.url}).status_code == 401
        r = c.post("/ui/login", data={"token": stack.token}, headers={"Origin": stack.url})
        assert r.status_code == 303 and "goflow_console" in r.headers["set-cookie"]


def test_instances_page_counts_filters_search_and_pages(stack, api):
    ids = [api.post("/instances", json={"blueprint": "obs/gate"}).json()["id"] for _ in range(3)]
    api.post(f"/instances/{ids[0]}/events", json={"event": "go"})
    with closing(console_client(stack)) as c:
        page = c.get("/ui/").text
        assert "obs/gate" in page and all(i in page for i in ids)
        assert page.index(ids[2]) < page.index(ids[1]) < page.index(ids[0])            # newest first
        waiting = c.get("/ui/", params={"blueprint": "obs/gate", "status": "waiting"}).text
        assert ids[1] in waiting and ids[0] not in waiting.split("<table class=\"instances\"")[1]
        r = c.get("/ui/", params={"id": ids[1]})
        assert r.status_code == 303 and r.headers["location"] == f"/ui/instances/{ids[1]}"
        r = c.get("/ui/", params={"id": "no-such-instance"})
        assert r.status_code == 404 and "InstanceNotFound" in r.text
        r = c.get("/ui/", params={"status": "bogus"})
        assert r.status_code == 200 and "Traceback" not in r.text


def test_instance_page_shows_everything_and_actions_work(stack, api):
    iid = api.post("/instances", json={"blueprint": "obs/call", "input": {"amount": 7}}).json()["id"]
    poll(lambda: api.get(f"/instances/{iid}").json()["state"] == "waiting", 30, 0.05, "the step to end")
    with closing(console_client(stack)) as c:
        page = c.get(f"/ui/instances/{iid}").text
        assert 'id="status">waiting' in page and "<svg" in page and 'class="node state current' in page
        assert "<details" in page and "amount" in page
        assert page.count('class="rec retry') == 1 and page.count('class="rec fallback') == 1
        assert "traceparent <code>00-" in page and "/fail" in page and "/ok" in page
        csrf = csrf_of(page)
        # bad JSON: the error, nothing changed
        r = post(c, stack, f"/ui/instances/{iid}/events", {"event": "go", "data": "{nope"}, csrf)
        assert r.status_code == 400 and "InvalidInput" in r.text and "not JSON" in r.text
        assert api.get(f"/instances/{iid}").json()["state"] == "waiting"
        # an event the state refuses: the API's 409 and its accepted events
        r = post(c, stack, f"/ui/instances/{iid}/events", {"event": "stop"}, csrf)
        assert r.status_code == 409 and "EventRefused" in r.text and "accepted here: go" in r.text
        assert api.get(f"/instances/{iid}").json()["state"] == "waiting"
        # no csrf field, no Origin: refused
        assert c.post(f"/ui/instances/{iid}/pause", data={}, headers={"Origin": stack.url}).status_code == 403
        assert c.post(f"/ui/instances/{iid}/pause", data={"csrf": csrf}).status_code == 403
        assert api.get(f"/instances/{iid}").json()["status"] == "waiting"
        # pause, resume, then the event with data
        r = post(c, stack, f"/ui/instances/{iid}/pause", {}, csrf)
        assert r.status_code == 303 and r.headers["location"] == f"/ui/instances/{iid}?done=pause"
        assert api.get(f"/instances/{iid}").json()["status"] == "paused"
        assert post(c, stack, f"/ui/instances/{iid}/resume", {}, csrf).status_code == 303
        r = post(c, stack, f"/ui/instances/{iid}/events", {"event": "go", "data": '{"by": "console"}'}, csrf)
        assert r.status_code == 303
        assert api.get(f"/instances/{iid}").json()["status"] == "completed"
        # unknown instance: the error page
        r = post(c, stack, "/ui/instances/nobody/terminate", {}, csrf)
        assert r.status_code == 404 and "InstanceNotFound" in r.text
        r = c.get("/ui/instances/nobody")
        assert r.status_code == 404 and "InstanceNotFound" in r.text and "Traceback" not in r.text


def test_blueprint_pages(stack):
    with closing(console_client(stack)) as c:
        page = c.get("/ui/blueprints").text
        assert "obs/call" in page and "obs/gate" in page
        page = c.get("/ui/blueprints/obs/call").text
        assert "<svg" in page and "Validation" in page
        r = c.get("/ui/blueprints/obs/nothing")
        assert r.status_code == 404 and "BlueprintNotFound" in r.text


def test_blueprint_page_hides_worker_secrets(stack, api):
    secret = {"project": "obs", "activity": "secret", "states": ["called"], "actions": [{"name": "call", "type": "sync"}],
              "transitions": [{"current": "init", "event": "start", "action": "call", "next": "called"},
                              {"current": "called", "event": "success", "action": "continue", "next": "done"}],
              "workers": [{"name": "call", "workerEndpoint": "http://127.0.0.1:9/w?api_key=SECRET-ONE",
                           "headers": {"Authorization": "Bearer SECRET-TWO"}, "priority": 1, "responseTimeout": 5,
                           "retryCount": 0}]}
    stack.engine.deploy(secret)
    with closing(console_client(stack)) as c:
        page = c.get("/ui/blueprints/obs/secret").text
        assert "workerEndpoint" in page and "Authorization" in page
        assert "SECRET-ONE" not in page and "SECRET-TWO" not in page


def test_static_assets_are_served_from_this_origin_only(stack):
    with closing(console_client(stack)) as c:
        for name in ("console.css", "console.js"):
            r = c.get(f"/ui/static/{name}")
            assert r.status_code == 200 and len(r.content) > 100
        page = c.get("/ui/").text
        assert not re.search(r'(src|href)="(https?:)?//', page)                     # nothing from another host


def test_a_parents_history_links_its_children_and_a_child_its_parent(stack, api):
    fan = {"project": "obs", "activity": "fan", "states": ["run"],
           "actions": [{"name": "kids", "type": "workflow", "blueprint": "obs/gate", "forEach": "xs"}],
           "transitions": [{"current": "init", "event": "start", "action": "kids", "next": "run"},
                           {"current": "run", "event": "success", "action": "continue", "next": "done"}]}
    stack.engine.deploy(fan)
    api.post("/instances", json={"blueprint": "obs/fan", "id": "fan-c", "input": {"xs": ["a", "b"]}})
    poll(lambda: api.get("/instances/fan-c~1~1").status_code == 200, 30, 0.05, "the children")
    api.post("/instances/fan-c~1~0/events", json={"event": "go"})
    poll(lambda: api.get("/instances/fan-c~1~0").json()["status"] == "completed", 30, 0.05, "a child to end")
    poll(lambda: any(r["outcome"] == "child-ended" for r in
                     api.get("/instances/fan-c/history").json()["history"]), 30, 0.05, "the parent to hear")
    with closing(console_client(stack)) as c:
        page = c.get("/ui/instances/fan-c").text
        assert page.count('child <a href="/ui/instances/fan-c~1~0">') == 2      # started, then ended
        assert 'child <a href="/ui/instances/fan-c~1~1">fan-c~1~1</a>' in page
        kid = c.get("/ui/instances/fan-c~1~1").text
        assert '<a href="/ui/instances/fan-c">fan-c</a> (step 1, item 1)' in kid
