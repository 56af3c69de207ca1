"""python://module:function workers, sync and async."""
from __future__ import annotations

import pytest

import transport_workers as tw
from goflow.calls import perform_step
from goflow.model import ERROR, SUCCESS, TIMEOUT
from goflow.testing import FakeSleep
from goflow.transports import PythonTransport, Registry
from transport_support import REQUEST, TEST_REGISTRY, outcomes, run, worker


def step(workers, registry=TEST_REGISTRY):
    fake = FakeSleep()
    return run(perform_step(dict(REQUEST), workers, sleep=fake, registry=registry), registry), fake


def test_sync_callable_runs_in_a_thread():
    result, _ = step([worker("python://transport_workers:echo")])
    assert result.event == SUCCESS
    assert result.output["got"] == {"customer": 42} and result.output["attempt"] == 1
    assert result.output["thread"] != "MainThread"
    assert outcomes(result) == [("python://transport_workers:echo", 1, "200")]


def test_async_callable_names_the_event():
    result, _ = step([worker("python://transport_workers:aecho")])
    assert (result.event, result.output) == ("approved", {"event": "approved", "got": {"customer": 42}})


def test_non_dict_return_is_the_output():
    result, _ = step([worker("python://transport_workers:plain")])
    assert (result.event, result.output) == (SUCCESS, "just text")


def test_a_dotted_attribute_path_is_refused():
    result, _ = step([worker("python://transport_workers:Service.method")])
    assert result.event == ERROR and result.attempts[0].outcome == "bad-endpoint"
    assert "dotted path" in result.attempts[0].detail["error"]


def test_exception_is_retryable():
    tw.calls.pop("boom", None)
    url = "python://transport_workers:boom"
    result, fake = step([worker(url, retry=2)])
    assert result.event == ERROR and tw.calls["boom"] == 3
    assert outcomes(result) == [(url, 1, "exception"), (url, 2, "exception"), (url, 3, "exception")]
    assert "RuntimeError: kaput" in result.attempts[0].detail["error"]
    assert fake.delays == [0.5, 1.0]


def test_retry_then_success():
    url = "python://transport_workers:flaky"
    result, _ = step([worker(url, retry=3)])
    assert result.event == SUCCESS and result.output == {"ok": 3}
    assert [r.outcome for r in result.attempts] == ["exception", "exception", "200"]


def test_permanent_failure_ends_the_endpoint_like_a_4xx():
    tw.calls.pop("refuse", None)
    bad, good = "python://transport_workers:refuse", "python://transport_workers:plain"
    result, fake = step([worker(bad, retry=3), worker(good, priority=2)])
    assert tw.calls["refuse"] == 1 and fake.delays == []
    assert outcomes(result) == [(bad, 1, "404"), (good, 2, "200")]
    assert {k: v for k, v in result.attempts[0].detail.items() if k != "traceparent"} == \
        {"body": {"reason": "unknown"}}


@pytest.mark.parametrize("fn", ["aslow", "slow"])
def test_timeout_bounds_sync_and_async_callables(fn):
    # the callable cannot return for HOLD seconds: a timeout outcome proves it was abandoned, not awaited
    url = f"python://transport_workers:{fn}"
    tw.release.clear()

    async def attempt():
        try:
            return await perform_step(dict(REQUEST), [worker(url, timeout=0.1)], sleep=FakeSleep(),
                                      registry=TEST_REGISTRY)
        finally:
            tw.release.set()                 # now let the abandoned sync call's thread finish

    result = run(attempt(), TEST_REGISTRY)
    assert result.event == TIMEOUT and outcomes(result) == [(url, 1, "timeout")]


@pytest.mark.parametrize("url", ["python://no_such_module_xyz:f", "python://transport_workers:missing",
                                 "python://transport_workers:not_callable", "python://transport_workers"])
def test_unresolvable_endpoint_is_not_retried(url):
    result, fake = step([worker(url, retry=3)])
    assert result.event == ERROR and outcomes(result) == [(url, 1, "bad-endpoint")] and fake.delays == []


def test_allowed_modules():
    registry = Registry({"python": PythonTransport(allowed=["transport_workers"])})
    assert step([worker("python://transport_workers:plain")], registry)[0].event == SUCCESS
    result, _ = step([worker("python://os:getcwd")], registry)
    assert result.attempts[0].outcome == "bad-endpoint"
    assert "not among the allowed" in result.attempts[0].detail["error"]


def test_the_default_registry_allows_goflow_examples_only():
    ok, _ = step([worker("python://goflow.examples.workers:get_product")], None)
    assert ok.event == SUCCESS
    result, _ = step([worker("python://transport_workers:plain")], None)
    assert result.attempts[0].outcome == "bad-endpoint"
    assert "not among the allowed python:// modules (goflow.examples)" in result.attempts[0].detail["error"]
