"""The grpc:// transport through perform_step against a real grpc.aio server on 127.0.0.1: the same
fault matrix as HTTP (SPEC §4, §9). No real sleeping: FakeSleep records the backoff delays."""
from __future__ import annotations

import asyncio

import pytest

from goflow.calls import perform_step
from goflow.model import Worker
from goflow.testing import FakeSleep
from goflow.trace import parse, trace_id
from goflow.transports import new_registry
from goflow.transports.grpc import DEFAULT_METHOD, RETRYABLE, GrpcTransport, parse_endpoint

from grpc_worker_support import CUSTOM


def worker(url, *, retry=0, timeout=5.0, priority=1, **kw):
    return Worker(name="call", endpoint=url, retry_count=retry, response_timeout=timeout, priority=priority,
                  retry_delay=0.25, backoff="fixed", max_retry_delay=10.0, jitter=0.0, **kw)


def request(plan=None, **extra):
    doc = {"instance": "i-1", "project": "p", "activity": "a", "version": 1, "action": "call", "state": "s",
           "step": 3, "input": {"k": 1} if plan is None else {"k": 1, "plan": plan}, "context": {"c": [1, 2]}}
    doc.update(extra)
    return doc


def run(req, workers, registry=None, sleep=None):
    async def main():
        reg = registry or new_registry()
        try:
            return await perform_step(req, workers, registry=reg, sleep=sleep or FakeSleep())
        finally:
            await reg.aclose()
    return asyncio.run(main())


def outcomes(result):
    return [(r.endpoint, r.attempt, r.outcome) for r in result.attempts]


def test_success_sends_the_request_and_the_idempotency_key(gserver):
    url = gserver.url()
    result = run(request(), [worker(url, headers=(("X-Tenant", "t1"),))])
    assert result.event == "success" and result.output == {"echo": {"k": 1}}
    assert outcomes(result) == [(url, 1, "OK")]
    seen = gserver.seen[-1]
    assert seen.method == DEFAULT_METHOD
    assert seen.metadata["idempotency-key"] == "i-1:3" and seen.metadata["x-tenant"] == "t1"
    assert seen.request["idempotency_key"] == "i-1:3" and seen.request["attempt"] == "1"
    assert seen.request["context"] == {"c": [1.0, 2.0]} and seen.request["instance"] == "i-1"
    # the W3C trace context as metadata, kept in the attempt's record (goflow.trace)
    assert parse(seen.metadata["traceparent"])[0] == trace_id("i-1")
    assert result.attempts[0].detail["traceparent"] == seen.metadata["traceparent"]


def test_named_event_and_custom_method(gserver):
    url = gserver.url(f"/{CUSTOM}")
    result = run(request(["event:approved"]), [worker(url)])
    assert result.event == "approved" and result.output == {"said": "approved"}
    assert gserver.seen[-1].method == f"/{CUSTOM}"


def test_accepted_is_a_success_with_status_202():
    async def main():
        from grpc_worker_support import serving
        with serving() as srv:
            t = GrpcTransport()
            try:
                resp = await t.call(request(["accept"]), worker(srv.url()), 5)
            finally:
                await t.aclose()
        return resp
    resp = asyncio.run(main())
    assert (resp.status, resp.outcome, resp.event, resp.body) == (202, "OK", None, None)


@pytest.mark.parametrize("code", sorted(c.name for c in RETRYABLE if c.name != "DEADLINE_EXCEEDED"))
def test_each_retryable_code_is_retried_on_the_same_endpoint(gserver, code):
    url = gserver.url()
    sleep = FakeSleep()
    result = run(request([code, code, "ok"]), [worker(url, retry=2)], sleep=sleep)
    assert result.event == "success"
    assert outcomes(result) == [(url, 1, code), (url, 2, code), (url, 3, "OK")]
    assert sleep.delays == [0.25, 0.25]
    assert gserver.keys()[-3:] == ["i-1:3"] * 3


def test_a_non_retryable_code_ends_the_endpoint_then_the_fallback_serves(gserver, server):
    bad, ok = gserver.url(), server.url("/ok")
    result = run(request(["INVALID_ARGUMENT"]), [worker(bad, retry=3), worker(ok, priority=2)])
    assert outcomes(result) == [(bad, 1, "INVALID_ARGUMENT"), (ok, 2, "200")]
    assert result.event == "success"
    assert result.attempts[0].detail["error"].endswith("INVALID_ARGUMENT: planned INVALID_ARGUMENT")
    assert server.seen[-1].headers["Idempotency-Key"] == gserver.keys()[-1] == "i-1:3"


def test_every_endpoint_failing_is_error_with_each_attempt_recorded(gserver):
    url = gserver.url()
    result = run(request(["PERMISSION_DENIED"]), [worker(url, retry=2), worker(url, priority=2)])
    assert result.event == "error" and result.output is None
    assert outcomes(result) == [(url, 1, "PERMISSION_DENIED"), (url, 2, "PERMISSION_DENIED")]


def test_deadline_exceeded_is_a_timeout(gserver):
    url = gserver.url()
    result = run(request(["hang"]), [worker(url, retry=1, timeout=0.2)])
    assert result.event == "timeout"
    assert outcomes(result) == [(url, 1, "timeout"), (url, 2, "timeout")]


def test_pushback_is_honoured_as_retry_after_within_the_cap(gserver):
    url = gserver.url()
    sleep = FakeSleep()
    result = run(request(["RESOURCE_EXHAUSTED@3000", "UNAVAILABLE@60000", "ok"]), [worker(url, retry=2)],
                 sleep=sleep)
    assert result.event == "success"
    assert sleep.delays == [3.0, 10.0]          # 3 s asked; 60 s asked, capped at maxRetryDelay
    assert result.attempts[0].detail["retry_in"] == 3.0


def test_pushback_on_a_non_retryable_code_does_not_retry(gserver):
    url = gserver.url()
    result = run(request(["FAILED_PRECONDITION@10"]), [worker(url, retry=2)])
    assert outcomes(result) == [(url, 1, "FAILED_PRECONDITION")]


def test_an_oversized_answer_ends_the_endpoint(gserver):
    url = gserver.url()
    registry = new_registry(max_body_bytes=2000)
    small = run(request(["big:1000"]), [worker(url)], registry=registry)
    assert small.event == "success" and len(small.output["blob"]) == 1000
    result = run(request(["big:5000"]), [worker(url, retry=2)], registry=new_registry(max_body_bytes=2000))
    assert outcomes(result) == [(url, 1, "body-too-large")] and result.event == "error"
    result = run(request(["big:2000000"]), [worker(url, retry=2)], registry=new_registry(max_body_bytes=2000))
    assert outcomes(result) == [(url, 1, "body-too-large")]


def test_a_server_that_is_down_is_unavailable_and_retried(closed_port):
    url = f"grpc://127.0.0.1:{closed_port}"
    result = run(request(), [worker(url, retry=1)])
    assert result.event == "error"
    assert outcomes(result) == [(url, 1, "UNAVAILABLE"), (url, 2, "UNAVAILABLE")]


def test_mixed_grpc_and_http_priorities(gserver, server, closed_port):
    down = f"http://127.0.0.1:{closed_port}/x"
    g = gserver.url()
    result = run(request(["unused", "UNAVAILABLE", "event:approved"]),   # plans go by attempt number
                 [worker(down), worker(g, priority=2, retry=1), worker(server.url("/ok"), priority=3)])
    assert outcomes(result) == [(down, 1, "connect-error"), (g, 2, "UNAVAILABLE"), (g, 3, "OK")]
    assert result.event == "approved"
    result = run(request(["ABORTED"]), [worker(g), worker(server.url("/event/rejected"), priority=2)])
    assert outcomes(result) == [(g, 1, "ABORTED"), (server.url("/event/rejected"), 2, "200")]
    assert result.event == "rejected"


def test_one_channel_per_target_is_reused(gserver):
    async def main():
        t = GrpcTransport()
        try:
            for _ in range(3):
                await t.call(request(), worker(gserver.url()), 5)
            await t.call(request(), worker(gserver.url(f"/{CUSTOM}")), 5)   # same target, other method
            return len(t._channels)
        finally:
            await t.aclose()
    assert asyncio.run(main()) == 1


@pytest.mark.parametrize("url", ["grpc://127.0.0.1", "grpc://127.0.0.1:1/only", "grpc://127.0.0.1:1/a/b/c",
                                 "grpc://127.0.0.1:1?x=1", "grpc://u:p@127.0.0.1:1"])
def test_bad_endpoints_end_the_endpoint(url):
    result = run(request(), [worker(url, retry=2)])
    assert [r.outcome for r in result.attempts] == ["bad-endpoint"]
    assert "p@" not in str(result.attempts[0].detail)


def test_parse_endpoint():
    assert parse_endpoint("grpc://h:1") == ("h:1", DEFAULT_METHOD, False)
    assert parse_endpoint("GRPCS://h:2/x.Y/Z") == ("h:2", "/x.Y/Z", True)
    assert parse_endpoint("grpc://[::1]:3") == ("[::1]:3", DEFAULT_METHOD, False)


def test_grpcs_with_the_workers_ca_and_client_certificate(tmp_path):
    trustme = pytest.importorskip("trustme", reason="trustme is not installed (the 'test' extra)")
    from grpc_worker_support import serving
    ca, client_ca = trustme.CA(), trustme.CA()
    cert = ca.issue_cert("goflow-worker.test")
    client = client_ca.issue_cert("goflow-client")
    ca.cert_pem.write_to_path(str(tmp_path / "ca.pem"))
    client.cert_chain_pems[0].write_to_path(str(tmp_path / "client.pem"))
    client.private_key_pem.write_to_path(str(tmp_path / "client.key"))
    tls = (("ca", str(tmp_path / "ca.pem")), ("cert", str(tmp_path / "client.pem")),
           ("key", str(tmp_path / "client.key")), ("server_name", "goflow-worker.test"))
    with serving(tls=(cert.cert_chain_pems[0].bytes(), cert.private_key_pem.bytes(), client_ca.cert_pem.bytes())) as srv:
        url = srv.url(scheme="grpcs")
        result = run(request(), [worker(url, tls=tls)])
        assert result.event == "success" and outcomes(result) == [(url, 1, "OK")]
        no_client_cert = run(request(), [worker(url, tls=tls[:1] + tls[3:])])
        assert [r.outcome for r in no_client_cert.attempts] == ["UNAVAILABLE"]
        system_roots = run(request(), [worker(url, tls=tls[3:])])
        assert [r.outcome for r in system_roots.attempts] == ["UNAVAILABLE"]
        assert len(srv.seen) == 1
    plain = run(request(), [worker("grpc://127.0.0.1:1", tls=tls)])
    assert [r.outcome for r in plain.attempts] == ["bad-endpoint"]
    missing = run(request(), [worker("grpcs://127.0.0.1:1", tls=(("ca", str(tmp_path / "nope.pem")),))])
    assert [r.outcome for r in missing.attempts] == ["bad-endpoint"]
    unknown = run(request(), [worker("grpcs://127.0.0.1:1", tls=(("cafile", "x"),))])
    assert [r.outcome for r in unknown.attempts] == ["bad-endpoint"]


def test_struct_round_trip_keeps_json_values():
    from goflow.transports.grpc import from_struct, to_struct
    doc = {"i": 3, "f": 2.5, "neg": -7, "t": True, "n": None, "s": "x", "l": [1, "a", [False, None], {"k": 1.0}],
           "big": 2**60, "o": {}}
    back = from_struct(to_struct(doc))
    assert back == {**doc, "big": float(2**60)}          # past 2**53 a double is not an exact integer
    assert type(back["i"]) is int and type(back["f"]) is float and type(back["l"][3]["k"]) is int
    assert from_struct(to_struct({"b": b"raw", "t": (1, 2)})) == {"b": "raw", "t": [1, 2]}
