"""goflow.testing itself: the manual clock, the fake sleep, the mock transport, the FSM driver."""
from __future__ import annotations

import asyncio

import pytest

from goflow.calls import perform_step
from goflow.errors import EventRefused
from goflow.model import Worker
from goflow.testing import FakeSleep, FlowDriver, ManualClock, MockTransport, no_sleep, run_script
from goflow.transports import ConnectFailed, Registry, Response, default_registry
from goflow.loading import blueprint_from_document

REQUEST = {"instance": "i", "action": "check", "state": "s", "step": 1}


def worker(url: str, retry: int = 0) -> Worker:
    return Worker(name="check", endpoint=url, retry_count=retry, response_timeout=1.0, priority=1,
                  retry_delay=1.0, jitter=0.0)


def test_manual_clock_moves_only_forward_and_only_when_told():
    clock = ManualClock(10.0)
    assert clock() == clock.now() == 10.0
    assert clock.advance(2.5) == 12.5 and clock() == 12.5
    with pytest.raises(ValueError):
        clock.advance(-1)
    assert clock() == 12.5


def test_fake_sleep_records_and_advances_a_shared_clock():
    clock = ManualClock(0.0)
    fake = FakeSleep(clock=clock)
    asyncio.run(fake(1.5))
    asyncio.run(fake(0.5))
    assert fake.delays == [1.5, 0.5] and clock() == fake.now == 2.0
    assert asyncio.run(no_sleep(100)) is None


def test_mock_transport_answers_and_plays_failures():
    def handler(request, worker):
        if request["attempt"] == 1:
            raise ConnectFailed(worker.endpoint, "refused")
        if request["attempt"] == 2:
            return 503
        return {"event": "approved", "n": request["attempt"]}

    mock = MockTransport(handler)
    fake = FakeSleep(0.0)
    result = asyncio.run(perform_step(dict(REQUEST), [worker("mock://svc", retry=2)],
                                      registry=Registry({"mock": mock}), sleep=fake, clock=fake.clock))
    assert (result.event, result.output) == ("approved", {"event": "approved", "n": 3})
    assert [r.outcome for r in result.attempts] == ["connect-error", "503", "200"]
    assert [r["attempt"] for r in mock.requests] == [1, 2, 3] and fake.delays == [1.0, 2.0]


def test_mock_transport_async_handler_and_bad_answer():
    async def handler(request, worker):
        return Response(201, b'{"ok": 1}')

    assert asyncio.run(MockTransport(handler).call(dict(REQUEST), worker("mock://x"), 1.0)).status == 201
    with pytest.raises(TypeError):
        asyncio.run(MockTransport(lambda r, w: "nope").call(dict(REQUEST), worker("mock://x"), 1.0))


def test_installed_registers_for_the_block_only():
    mock = MockTransport(lambda r, w: 200)
    with mock.installed("mocked"):
        assert default_registry.transport_for("mocked://a") is mock
    assert "mocked" not in default_registry.schemes()


BP = blueprint_from_document({
    "project": "t", "activity": "a", "states": ["waiting", "late"],
    "actions": [{"name": "ask", "type": "async", "timeout": 10}],
    "transitions": [
        {"current": "init", "event": "start", "action": "ask", "next": "waiting"},
        {"current": "waiting", "event": "success", "action": "continue", "next": "done"},
        {"current": "waiting", "event": "timeout", "action": "continue", "next": "late"}],
    "workers": [{"name": "ask", "workerEndpoint": "mock://ask", "retryCount": 0, "responseTimeout": 1,
                 "priority": 1}]})


def test_driver_fires_a_due_timer_on_advance_and_not_before():
    d = run_script(BP, [{"send": "start"}, {"outcome": "success", "accepted": True}], clock=ManualClock(0.0))
    assert d.instance.status == "waiting" and d.timers == {1: 10.0}
    assert d.advance(9.999).records == []
    turn = d.advance(0.001)
    assert d.instance.state == "late" and d.timers == {}
    assert [(r.event, r.outcome, r.time) for r in turn.records] == [("timeout", "applied", 10.0)]


def test_driver_cancels_a_timer_when_the_outcome_comes_first():
    d = FlowDriver(BP, clock=ManualClock(0.0))
    d.run([{"send": "start"}, {"outcome": "success", "accepted": True}, {"advance": 5}, {"send": "success"}])
    assert all(t.error is None for t in d.turns)
    assert d.instance.status == "completed" and d.timers == {}
    assert d.advance(100).records == []


def test_driver_keeps_a_refusal_and_leaves_the_instance():
    d = FlowDriver(BP)
    d.apply({"send": "start"})
    before = d.instance
    turn = d.apply({"send": "nonsense"})
    assert isinstance(turn.error, EventRefused) and d.instance is before and turn.records == []
