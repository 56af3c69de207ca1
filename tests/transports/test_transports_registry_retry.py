"""The scheme registry, the backoff policy and Retry-After parsing (no real sleeping)."""
from __future__ import annotations

import email.utils

import pytest
import tenacity

import goflow.transports as transports
from goflow.calls import perform_step
from goflow.errors import TransportError, UnknownScheme
from goflow.model import SUCCESS
from goflow.retry import Backoff, parse_retry_after, wait_strategy
from goflow.testing import FakeSleep, no_sleep
from goflow.transports import (BodyTooLarge, CallTimedOut, ConnectFailed, PythonTransport,
                               Registry, Response, WorkerFailed, default_registry, idempotency_key,
                               safe_endpoint, scheme_of, transport_for)
from goflow.transports.http import HttpTransport
from transport_support import REQUEST, run, worker


class FakeRpc:
    def __init__(self):
        self.calls = []

    async def call(self, request, worker, timeout):
        self.calls.append((request["attempt"], worker.endpoint, timeout))
        return Response(200, b'{"event": "grpc-done"}', {})


def test_default_registry_schemes():
    assert {"http", "https", "grpc", "grpcs", "python"} <= set(default_registry.schemes())
    assert isinstance(transport_for("HTTPS://example.org/x"), HttpTransport)
    assert transport_for("http://a") is transport_for("https://a")
    assert isinstance(transport_for("python://m:f"), PythonTransport)


def test_unknown_scheme():
    with pytest.raises(UnknownScheme) as info:
        transport_for("fakerpc://user:pw@svc:50051/Check")
    assert info.value.scheme == "fakerpc" and "pw" not in str(info.value)
    assert isinstance(info.value, TransportError)
    with pytest.raises(UnknownScheme):
        transport_for("no-scheme-here")


def test_plugging_a_new_scheme_needs_no_engine_change():
    fake = FakeRpc()
    transports.register("fakerpc", fake)
    try:
        result = run(perform_step(dict(REQUEST), [worker("fakerpc://svc/Check", timeout=1.5)], sleep=no_sleep))
        assert result.event == "grpc-done" and fake.calls == [(1, "fakerpc://svc/Check", 1.5)]
    finally:
        transports.unregister("fakerpc")
    assert "fakerpc" not in default_registry.schemes()


def test_register_refuses_a_non_transport():
    with pytest.raises(TypeError):
        Registry().register("x", object())


def test_error_classes_are_transport_errors():
    for cls in (ConnectFailed, CallTimedOut, BodyTooLarge, WorkerFailed):
        assert issubclass(cls, TransportError)
    assert ConnectFailed is not CallTimedOut


def test_helpers():
    assert scheme_of("Http://x") == "http" and scheme_of("x") == ""
    assert idempotency_key({"instance": "i", "step": 3}) == "i:3"
    assert safe_endpoint("https://u:p@h:1/a@b") == "https://h:1/a@b"


def test_backoff_exponential_fixed_cap():
    b = Backoff(worker("http://x", retry_delay=0.5, max_retry_delay=3.0))
    assert [b.delay(n) for n in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]
    f = Backoff(worker("http://x", retry_delay=2.0, backoff="fixed", max_retry_delay=1.0))
    assert f.delay(1) == 1.0 and f.delay(9) == 1.0
    assert Backoff(worker("http://x", retry_delay=1.0)).delay(5000) == 30.0   # no overflow


def test_backoff_jitter_bounds():
    w = worker("http://x", retry_delay=1.0, jitter=0.25)
    assert Backoff(w, rng=lambda: 0.0).delay(2) == pytest.approx(1.5)
    assert Backoff(w, rng=lambda: 1.0).delay(2) == pytest.approx(2.5)
    assert Backoff(w, rng=lambda: 0.5).delay(2) == pytest.approx(2.0)


def test_backoff_retry_after():
    b = Backoff(worker("http://x", retry_delay=1.0, max_retry_delay=10.0))
    assert b.delay(1, retry_after=4.0) == 4.0      # longer than the backoff: honoured
    assert b.delay(3, retry_after=0.1) == 4.0      # shorter: the backoff stands
    assert b.delay(1, retry_after=99.0) == 10.0    # bounded
    assert Backoff(worker("http://x"), retry_after_cap=2.0).delay(1, retry_after=99.0) == 2.0


def test_bad_backoff_name():
    with pytest.raises(ValueError, match="fixed"):
        Backoff(worker("http://x", backoff="linear"))


def test_parse_retry_after():
    now = 1_700_000_000.0
    assert parse_retry_after("5", now) == 5.0
    assert parse_retry_after(" 2.5 ", now) == 2.5
    assert parse_retry_after("-3", now) == 0.0
    assert parse_retry_after(email.utils.formatdate(now + 30, usegmt=True), now) == pytest.approx(30.0)
    assert parse_retry_after(email.utils.formatdate(now - 30, usegmt=True), now) == 0.0
    for junk in (None, "", "soon", "nan", "inf"):
        assert parse_retry_after(junk, now) is None


def test_wait_strategy_plugs_into_tenacity_with_fake_sleep():
    fake = FakeSleep()
    attempts = []

    async def flaky():
        attempts.append(1)
        if len(attempts) < 4:
            raise ConnectionError
        return "ok"

    async def main():
        retrying = tenacity.AsyncRetrying(wait=wait_strategy(worker("http://x", retry_delay=0.1)),
                                          stop=tenacity.stop_after_attempt(5), sleep=fake)
        return await retrying(flaky)

    assert run(main()) == "ok"
    assert fake.delays == pytest.approx([0.1, 0.2, 0.4])


def test_unexpected_transport_bug_is_a_recorded_failure():
    class Broken:
        async def call(self, request, worker, timeout):
            raise KeyError("oops")

    registry = Registry({"x": Broken()})
    result = run(perform_step(dict(REQUEST), [worker("x://y", retry=2)], registry=registry, sleep=no_sleep))
    assert [r.outcome for r in result.attempts] == ["transport-error"]
    assert result.event == "error"


def test_python_result_with_event_key_but_not_string_is_success():
    registry = Registry({"py": PythonTransport()})

    class T:
        async def call(self, request, worker, timeout):
            return Response(201, {"event": None, "a": 1})

    registry.register("t", T())
    result = run(perform_step(dict(REQUEST), [worker("t://")], registry=registry))
    assert (result.event, result.output, result.attempts[0].outcome) == (SUCCESS, {"event": None, "a": 1}, "201")
