"""perform_step against a real HTTP server: every SPEC §4 outcome, attempts, fallback order."""
from __future__ import annotations

import email.utils

import pytest

from goflow.calls import perform_step
from goflow.model import ERROR, SUCCESS, TIMEOUT
from goflow.testing import FakeSleep
from goflow.trace import parse
from goflow.transports import Registry
from goflow.transports.http import HttpTransport, HttpxTransport
from transport_support import REQUEST, outcomes, run, worker


def step(workers, **kw):
    fake = kw.pop("sleep", None) or FakeSleep()
    result = run(perform_step(dict(REQUEST), workers, sleep=fake, **kw), kw.get("registry"))
    return result, fake


def test_200_json_is_success_with_output(server):
    url = server.url("/ok")
    result, fake = step([worker(url, retry=3)])
    assert result.event == SUCCESS
    assert result.output == {"echo": {"customer": 42}}
    assert outcomes(result) == [(url, 1, "200")]
    assert result.attempts[0].latency > 0 and result.attempts[0].action == "check"
    assert result.attempts[0].step == 7 and result.attempts[0].state == "checking"
    assert fake.delays == []
    seen = server.seen[0]
    assert seen.method == "POST" and seen.headers["Idempotency-Key"] == "inst-1:7"
    assert seen.headers["Content-Type"] == "application/json"
    assert seen.body == {**REQUEST, "attempt": 1}


def test_named_event(server):
    result, _ = step([worker(server.url("/event/approved"))])
    assert result.event == "approved"
    assert result.output == {"event": "approved", "n": 1}


def test_non_json_body_is_kept_as_text(server):
    result, _ = step([worker(server.url("/text"))])
    assert (result.event, result.output) == (SUCCESS, "hello, not json")
    detail = dict(result.attempts[0].detail)
    assert parse(detail.pop("traceparent")) is not None     # every attempt keeps its trace context
    assert result.attempts[0].outcome == "200" and detail == {"body": "not-json"}


def test_empty_body_is_none(server):
    result, _ = step([worker(server.url("/empty"))])
    assert (result.event, result.output, result.attempts[0].outcome) == (SUCCESS, None, "204")


def test_4xx_ends_endpoint_at_once_then_fallback(server):
    bad, good = server.url("/status/404"), server.url("/event/fallback")
    result, fake = step([worker(bad, retry=3), worker(good, priority=2)])
    assert result.event == "fallback"
    assert outcomes(result) == [(bad, 1, "404"), (good, 2, "200")]
    assert {k: v for k, v in result.attempts[0].detail.items() if k != "traceparent"} == \
        {"body": {"error": "status 404"}}
    assert fake.delays == []
    assert server.paths() == ["/status/404", "/event/fallback"]


@pytest.mark.parametrize("status", [500, 502, 503, 408])
def test_retryable_status_uses_every_attempt(server, status):
    url = server.url(f"/status/{status}")
    result, fake = step([worker(url, retry=2)])
    assert result.event == ERROR and result.output is None
    assert outcomes(result) == [(url, 1, str(status)), (url, 2, str(status)), (url, 3, str(status))]
    assert fake.delays == [0.5, 1.0]          # exponential from retry_delay 0.5, no jitter
    assert result.attempts[0].detail["retry_in"] == 0.5 and "retry_in" not in result.attempts[2].detail


def test_exponential_backoff_is_capped_and_fixed_is_fixed(server):
    url = server.url("/status/500")
    _, fake = step([worker(url, retry=5, retry_delay=1.0, max_retry_delay=5.0)])
    assert fake.delays == [1.0, 2.0, 4.0, 5.0, 5.0]
    _, fake = step([worker(url, retry=3, retry_delay=0.25, backoff="fixed")])
    assert fake.delays == [0.25, 0.25, 0.25]


def test_jitter_stays_within_its_fraction(server):
    url = server.url("/status/500")
    _, low = step([worker(url, retry=2, jitter=0.2)], rng=lambda: 0.0)
    _, high = step([worker(url, retry=2, jitter=0.2)], rng=lambda: 1.0)
    assert low.delays == pytest.approx([0.4, 0.8]) and high.delays == pytest.approx([0.6, 1.2])


def test_429_retry_after_seconds_is_honoured(server):
    url = server.url("/retry-after/3")
    result, fake = step([worker(url, retry=2)])
    assert result.event == ERROR
    assert outcomes(result) == [(url, 1, "429"), (url, 2, "429"), (url, 3, "429")]
    assert fake.delays == [3.0, 3.0]          # max(backoff 0.5/1.0, Retry-After 3)


def test_retry_after_is_bounded_by_max_retry_delay(server):
    _, fake = step([worker(server.url("/retry-after/3600"), retry=1, max_retry_delay=7.0)])
    assert fake.delays == [7.0]
    _, fake = step([worker(server.url("/unavailable/2"), retry=1)])   # 503 + Retry-After
    assert fake.delays == [2.0]


def test_retry_after_http_date(server):
    fake = FakeSleep(start=1_700_000_000.0)   # a whole second: the date's resolution
    when = email.utils.formatdate(fake.now + 10, usegmt=True).replace(" ", "_")
    _, fake = step([worker(server.url(f"/retry-after/{when}"), retry=1)], sleep=fake, clock=fake.clock)
    assert fake.delays == [10.0]


def test_flaky_worker_succeeds_on_third_attempt(server):
    url = server.url("/flaky/2")
    result, fake = step([worker(url, retry=3)])
    assert result.event == SUCCESS and result.output == {"after": 3}
    assert outcomes(result) == [(url, 1, "503"), (url, 2, "503"), (url, 3, "200")]
    assert fake.delays == [0.5, 1.0]


def test_timeout_is_retried_and_gives_timeout(server):
    url = server.url("/gate/http-never")         # held back: only the response timeout ends an attempt
    result, fake = step([worker(url, retry=1, timeout=0.2)])
    assert result.event == TIMEOUT
    assert outcomes(result) == [(url, 1, "timeout"), (url, 2, "timeout")]
    assert all(r.latency >= 0.15 for r in result.attempts)   # not before the timeout (a lower bound only)
    assert fake.delays == [0.5]


def test_error_when_last_failure_is_not_a_timeout(server):
    slow, bad = server.url("/gate/http-never"), server.url("/status/500")
    result, _ = step([worker(slow, timeout=0.2), worker(bad, priority=2)])
    assert result.event == ERROR
    assert outcomes(result) == [(slow, 1, "timeout"), (bad, 2, "500")]
    result, _ = step([worker(bad), worker(slow, timeout=0.2, priority=2)])
    assert result.event == TIMEOUT


def test_dropped_connection_is_a_retryable_connect_error(server):
    url = server.url("/drop")
    result, fake = step([worker(url, retry=1)])
    assert result.event == ERROR
    assert outcomes(result) == [(url, 1, "connect-error"), (url, 2, "connect-error")]
    assert len(server.seen) == 2


def test_refused_connection_is_a_connect_error(closed_port):
    url = f"http://127.0.0.1:{closed_port}/x"
    result, fake = step([worker(url, retry=2)])
    assert outcomes(result) == [(url, 1, "connect-error"), (url, 2, "connect-error"), (url, 3, "connect-error")]
    assert result.event == ERROR and fake.delays == [0.5, 1.0]


@pytest.mark.parametrize("path", ["/big/1100000", "/bigchunked/1100000"])
def test_oversized_body_is_an_outcome_not_a_crash(server, path):
    big, good = server.url(path), server.url("/ok")
    result, _ = step([worker(big, retry=2), worker(good, priority=2)])
    assert outcomes(result) == [(big, 1, "body-too-large"), (good, 2, "200")]
    assert result.event == SUCCESS


def test_body_bound_is_configurable(server):
    registry = Registry({"http": HttpTransport(max_body_bytes=1000)})
    url = server.url("/big/1001")
    result, _ = step([worker(url)], registry=registry)
    assert outcomes(result) == [(url, 1, "body-too-large")] and result.event == ERROR
    result, _ = step([worker(server.url("/big/1000"))], registry=registry)
    assert result.event == SUCCESS and result.output == "x" * 1000


def test_fallback_order_and_idempotency_key_across_everything(server, closed_port):
    a, b, c, d = (server.url("/status/503"), f"http://127.0.0.1:{closed_port}/", server.url("/status/400"),
                  server.url("/event/finally"))
    result, fake = step([worker(a, retry=1), worker(b, retry=1, priority=2), worker(c, retry=4, priority=3),
                         worker(d, retry=2, priority=4)])
    assert result.event == "finally"
    assert outcomes(result) == [(a, 1, "503"), (a, 2, "503"), (b, 3, "connect-error"), (b, 4, "connect-error"),
                                (c, 5, "400"), (d, 6, "200")]
    assert fake.delays == [0.5, 0.5]     # between retries only; none between endpoints
    assert [s.headers["Idempotency-Key"] for s in server.seen] == ["inst-1:7"] * 4
    assert [s.body["attempt"] for s in server.seen] == [1, 2, 5, 6]


def test_worker_headers_and_method(server):
    url = server.url("/headers")
    w = worker(url, method="PUT", headers=(("Authorization", "Bearer t"), ("Idempotency-Key", "forged")))
    result, _ = step([w])
    assert server.seen[0].method == "PUT"
    got = result.output["headers"]
    assert got["Authorization"] == "Bearer t" and got["Idempotency-Key"] == "inst-1:7"


def test_user_agent_is_goflow_once_and_a_worker_header_replaces_it(server):
    result, _ = step([worker(server.url("/headers"))])
    assert server.seen[0].headers.getall("User-Agent") == ["goflow"]
    result, _ = step([worker(server.url("/headers"), headers=(("user-agent", "mine/1"),))])
    assert server.seen[1].headers.getall("User-Agent") == ["mine/1"]


def test_response_headers_are_looked_up_by_lower_case_name(server):
    transport = HttpTransport()

    async def call():
        try:
            return await transport.call(dict(REQUEST), worker(server.url("/retry-after/3")), 2.0)
        finally:
            await transport.aclose()
    resp = run(call())
    assert resp.status == 429 and resp.headers.get("retry-after") == "3"     # sent as Retry-After
    assert resp.headers["content-type"].startswith("text/plain")


def test_credentials_in_url_are_not_recorded(server):
    url = server.url("/ok").replace("http://", "http://user:secret@")
    result, _ = step([worker(url)])
    assert result.attempts[0].endpoint == server.url("/ok")


def test_unknown_scheme_is_recorded_and_skipped(server):
    good = server.url("/ok")
    result, _ = step([worker("mq://svc/check"), worker(good, priority=2)])
    assert outcomes(result) == [("mq://svc/check", 1, "unknown-scheme"), (good, 2, "200")]


def test_no_workers_is_error():
    result, _ = step([])
    assert (result.event, result.attempts) == (ERROR, ())


@pytest.mark.parametrize("backend", ["httpx", "httpx-aiohttp"])
def test_httpx_transports_give_the_same_outcomes(server, backend):
    registry = Registry({"http": HttpxTransport(backend=backend, max_body_bytes=1000)})
    cases = [("/event/approved", "approved", "200"), ("/status/404", ERROR, "404"), ("/text", SUCCESS, "200"),
             ("/gate/httpx-never", TIMEOUT, "timeout"), ("/drop", ERROR, "connect-error"),
             ("/big/5000", ERROR, "body-too-large"), ("/bigchunked/5000", ERROR, "body-too-large")]
    for path, event, outcome in cases:
        # a short response timeout only where the answer is held back: a loaded machine's first httpx
        # call (client set-up) must not turn into a timeout
        timeout = 0.2 if outcome == "timeout" else 30.0
        result, _ = step([worker(server.url(path), timeout=timeout)], registry=registry)
        assert (path, result.event, result.attempts[0].outcome) == (path, event, outcome)
    assert server.seen[0].headers["Idempotency-Key"] == "inst-1:7"
