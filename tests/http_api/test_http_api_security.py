"""The HTTP API's guard against a real daemon over real HTTP (SPEC §10): the token, the Origin and
Host checks, the JSON content type; each attack as a browser or a local user would make it."""
from __future__ import annotations

import os
import stat

import httpx
import pytest

from http_api_support import PROJECT

GATE = f"{PROJECT}/gate"


def refused(r, status: int, kind: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()["error"]
    assert err["type"] == kind and err["message"], err
    return err


@pytest.fixture
def anon(stack):
    """A client without the token."""
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        yield client


def test_the_token_file_is_private_and_random(stack):
    path = os.path.join(stack.data, "api.token")
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    token = open(path).read().strip()
    assert len(token) == 64 and int(token, 16) and token == stack.token          # 256 bits, hex
    assert not [n for n in os.listdir(stack.data) if n.startswith(".api.token")]  # no temp file left


def test_no_token_is_401_and_nothing_happens(stack, anon, api):
    for r in (anon.get("/instances"), anon.get("/instances/x"), anon.get("/instances/x/history"),
              anon.post("/instances", json={"blueprint": GATE, "id": "anon-1"}),
              anon.post("/instances/x/events", json={"event": "go"}), anon.post("/instances/x/terminate")):
        refused(r, 401, "Unauthorized")
        assert r.headers["www-authenticate"].startswith("Bearer")
    refused(api.get("/instances/anon-1"), 404, "InstanceNotFound")


@pytest.mark.parametrize("authorization", ["Bearer wrong", "Bearer", "Basic dXNlcjpwYXNz", "Token x",
                                           "Bearer " + "0" * 64])
def test_a_wrong_token_is_401(stack, anon, authorization):
    r = anon.post("/instances", json={"blueprint": GATE}, headers={"Authorization": authorization})
    refused(r, 401, "Unauthorized")


def test_the_token_with_any_case_of_bearer(stack, anon):
    r = anon.get("/instances", headers={"Authorization": f"bearer {stack.token}"})
    assert r.status_code == 200, r.text


def test_health_and_the_openapi_document_need_no_token(stack, anon):
    r = anon.get("/health")
    assert (r.status_code, r.json()["status"]) == (200, "ok")
    r = anon.get("/openapi.json")
    assert r.status_code == 200 and r.json()["openapi"].startswith("3.1")


def test_a_no_cors_text_plain_post_is_415(stack, api):
    """fetch(url, {method: "POST", mode: "no-cors", body: JSON.stringify(...)}) sends text/plain (no
    preflight); even with the token (which such a page has not) it never reaches a handler."""
    body = '{"blueprint": "api/gate", "id": "csrf-1"}'
    for ctype in ("text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data"):
        r = api.post("/instances", content=body, headers={"Content-Type": ctype})
        refused(r, 415, "UnsupportedMediaType")
    r = api.post("/instances", content=body, headers={"Content-Type": ""})
    refused(r, 415, "UnsupportedMediaType")
    refused(api.get("/instances/csrf-1"), 404, "InstanceNotFound")
    # JSON with a charset is JSON; an empty POST (pause) needs no content type
    r = api.post("/instances", content=body, headers={"Content-Type": "application/json; charset=utf-8"})
    assert r.status_code == 201, r.text
    assert api.post("/instances/csrf-1/pause").json()["status"] == "paused"


@pytest.mark.parametrize("origin", ["https://evil.example", "null", "http://127.0.0.1:1",
                                    "https://127.0.0.1:{port}", "http://evil.example:{port}", "garbage"])
def test_a_foreign_origin_is_403(stack, api, origin):
    r = api.post("/instances", json={"blueprint": GATE}, headers={"Origin": origin.format(port=stack.api_port)})
    refused(r, 403, "ForbiddenOrigin")
    refused(api.get("/health", headers={"Origin": origin.format(port=stack.api_port)}), 403, "ForbiddenOrigin")


@pytest.mark.parametrize("origin", ["http://127.0.0.1:{port}", "http://localhost:{port}"])
def test_the_api_s_own_origin_is_served(stack, api, origin):
    r = api.get("/instances", headers={"Origin": origin.format(port=stack.api_port)})
    assert r.status_code == 200, r.text


@pytest.mark.parametrize("host", ["evil.example:{port}", "evil.example", "127.0.0.1.evil.example:{port}",
                                  "127.0.0.1:1", "localhost", "10.0.0.1:{port}", "[::1:{port}", ""])
def test_a_rebinding_host_is_403(stack, api, host):
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: the Host says so."""
    r = api.get("/instances", headers={"Host": host.format(port=stack.api_port)})
    refused(r, 403, "ForbiddenHost")
    r = api.get("/health", headers={"Host": host.format(port=stack.api_port)})
    refused(r, 403, "ForbiddenHost")


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LOCALHOST.:{port}"])
def test_the_bound_address_and_localhost_are_served(stack, api, host):
    r = api.get("/instances", headers={"Host": host.format(port=stack.api_port)})
    assert r.status_code == 200, r.text


# ------------------------------------------------------------------------------------ hostile input
def _raw(stack, request: bytes) -> bytes:
    """One raw HTTP/1.1 exchange (bytes no HTTP client would send)."""
    import socket
    with socket.create_connection(("127.0.0.1", stack.api_port), timeout=30) as s:
        s.sendall(request)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_lone_surrogates_in_names_are_400_at_once(stack, api):
    """``{"id": "\\ud800"}`` used to reach the dispatcher, which raised: the request waited 30 s for
    a reply (503), and an ``event_id`` like it failed the instance."""
    iid = api.post("/instances", json={"blueprint": GATE}).json()["id"]
    for path, body in (("/instances", '{"blueprint": "api/gate", "id": "\\ud800"}'),
                       (f"/instances/{iid}/events", '{"event": "ping", "event_id": "x\\udfff"}'),
                       (f"/instances/{iid}/events", '{"event": "\\ud800"}')):
        r = api.post(path, content=body, headers={"Content-Type": "application/json"}, timeout=5)
        err = refused(r, 400, "InvalidIdentifier" if "id" in body else "InvalidInput")   # ids: goflow.ids
        assert "lone surrogate" in err["message"]
    # an Idempotency-Key of bytes that are not UTF-8
    body = b'{"event": "ping"}'
    answer = _raw(stack, b"POST /instances/%s/events HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
                         b"Content-Type: application/json\r\nIdempotency-Key: \xed\xa0\x80\r\nContent-Length: %d\r\n"
                         b"Connection: close\r\n\r\n%s" % (iid.encode(), stack.api_port, stack.token.encode(),
                                                          len(body), body))
    assert answer.startswith(b"HTTP/1.1 400 ") and b"lone surrogate" in answer, answer
    assert api.get(f"/instances/{iid}").json()["status"] == "waiting"


def test_an_id_that_needs_escaping_gets_a_valid_location(stack, api):
    """A Location header holding the raw id: a control character in it made aiohttp drop the
    connection after the instance was created."""
    from urllib.parse import quote
    r = api.post("/instances", json={"blueprint": GATE, "id": "ünï code?#%"})
    assert r.status_code == 201, r.text
    assert r.headers["location"] == "/instances/" + quote("ünï code?#%", safe="")
    assert api.get(r.headers["location"]).json()["id"] == "ünï code?#%"
    r = api.post("/instances", json={"blueprint": GATE, "id": "nul\u0000 cr\r lf\n"})
    assert r.status_code in (201, 400), r.text        # answered either way (400 once ids must be printable)
    assert r.headers["content-type"].startswith("application/json")
    if r.status_code == 201:
        assert r.headers["location"] == "/instances/nul%00%20cr%0D%20lf%0A"
