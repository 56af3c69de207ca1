"""TLS (api.tls_cert, api.tls_key): the API process serves HTTPS with a certificate made in the test
(trustme: a throwaway CA), on 127.0.0.1, with the same token; plain HTTP is not answered."""
from __future__ import annotations

import os
import signal
import ssl

import httpx
import pytest

from http_api_support import alive, free_port, poll

trustme = pytest.importorskip("trustme", reason="trustme is not installed (pip install -e '.[test]')")


def test_the_api_over_tls(stack, tmp_path):
    from actors.http_api import spawn
    ca = trustme.CA()
    cert = ca.issue_cert("127.0.0.1", "localhost")
    cert_path, key_path, ca_path = tmp_path / "cert.pem", tmp_path / "key.pem", tmp_path / "ca.pem"
    cert.private_key_and_cert_chain_pem.write_to_path(str(cert_path))
    cert.private_key_pem.write_to_path(str(key_path))
    ca.cert_pem.write_to_path(str(ca_path))
    port = free_port()
    pid = spawn(stack.port, port, "127.0.0.1", data_dir=stack.data, log_path=stack.log, event_bytes=65536,
                tls_cert=str(cert_path), tls_key=str(key_path), env=stack.procs.env())
    try:
        url = f"https://127.0.0.1:{port}"
        trusted = ssl.create_default_context(cafile=str(ca_path))
        with httpx.Client(base_url=url, verify=trusted, timeout=30, headers=stack.auth) as c:
            assert c.get("/health").json()["status"] == "ok"
            iid = c.post("/instances", json={"blueprint": "api/gate"}).json()["id"]
            assert c.post(f"/instances/{iid}/events", json={"event": "go"}).json()["status"] == "completed"
            assert c.get("/instances", headers={"Origin": url}).status_code == 200
            r = c.get("/instances", headers={"Origin": f"http://127.0.0.1:{port}"})    # not its scheme
            assert (r.status_code, r.json()["error"]["type"]) == (403, "ForbiddenOrigin")
            r = c.get("/instances", headers={"Authorization": "Bearer wrong"})
            assert r.status_code == 401
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            with pytest.raises(httpx.HTTPError):
                c.get("/health")
        with httpx.Client(base_url=url, timeout=10) as c:                   # an untrusted certificate
            with pytest.raises(httpx.ConnectError):
                c.get("/health")
    finally:
        os.kill(pid, signal.SIGTERM)
        poll(lambda: not alive(pid), 15, what="the TLS API process to exit")


def test_a_certificate_without_its_key_is_refused(stack, tmp_path):
    from actors.http_api import spawn
    from goflow.errors import RuntimeUnavailable
    with pytest.raises(RuntimeUnavailable, match="did not start"):
        spawn(stack.port, free_port(), "127.0.0.1", data_dir=stack.data, log_path=stack.log, event_bytes=65536,
              tls_cert=str(tmp_path / "missing.pem"), env=stack.procs.env())
    log = open(stack.log).read()
    assert "api.tls_cert and api.tls_key go together" in log
