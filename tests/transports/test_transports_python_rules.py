"""SPEC §12 for ``python://``: what may be called (allowed module, top-level function, no dotted
path, no re-export), checked at deploy with the endpoint's line:column and again at the call; and a
function that raises SystemExit or KeyboardInterrupt is an ``error`` outcome, never the end of the
step runner (the worker proxy)."""
from __future__ import annotations

import select
import time

import pytest

import transport_workers as tw
from goflow.calls import perform_step
from goflow.config import Config
from goflow.loading import load_text
from goflow.model import ERROR, SUCCESS, Blueprint, Worker
from goflow.steps import CallPool, LoopPump
from goflow.testing import FakeSleep
from goflow.transports import EndpointPolicy, PythonTransport, Registry, policy_from_config
from goflow.transports.python import refusal, resolve
from transport_support import REQUEST, TEST_REGISTRY, job, outcomes, run, worker

ALLOWED = ["transport_workers", "goflow.examples"]


def settings(**options) -> Config:
    return Config().with_options(options)


def step(workers, registry=TEST_REGISTRY):
    return run(perform_step(dict(REQUEST), workers, sleep=FakeSleep(), registry=registry), registry)


# ----------------------------------------------------------------------------------- at the call
@pytest.mark.parametrize("url, why", [
    ("python://os:system", "not among the allowed python:// modules"),
    ("python://transport_workers:os.system", "dotted path"),
    ("python://transport_workers:Service.method", "dotted path"),
    ("python://transport_workers:joined", "re-exported or aliased"),          # from os.path import join
    ("python://transport_workers:echo_alias", "re-exported or aliased"),      # echo_alias = echo
    ("python://transport_workers:Service", "is not a function"),
    ("python://transport_workers:_count", "public function"),
    ("python://transport_workers_other:echo", "not among the allowed"),        # a prefix is not a package
])
def test_what_may_not_be_called_is_a_bad_endpoint_at_the_call(url, why):
    result = step([worker(url, retry=3)])
    assert result.event == ERROR and outcomes(result) == [(url, 1, "bad-endpoint")]
    assert why in result.attempts[0].detail["error"]


def test_a_top_level_function_of_an_allowed_module_is_called():
    assert step([worker("python://transport_workers:plain")]).output == "just text"
    assert resolve("python://transport_workers:plain", ALLOWED) is tw.plain
    assert resolve("python://goflow.examples.workers:get_product") is not None   # the default modules


@pytest.mark.parametrize("fn, exc", [("exits", "SystemExit: 3"), ("ainterrupt", "KeyboardInterrupt")])
def test_system_exit_and_keyboard_interrupt_are_an_error_outcome(fn, exc):
    tw.calls.pop(fn, None)
    url = f"python://transport_workers:{fn}"
    result = step([worker(url, retry=3), worker("python://transport_workers:plain", priority=2)])
    assert tw.calls[fn] == 1                                        # not retried: the endpoint ends at once
    assert outcomes(result) == [(url, 1, "exception"), ("python://transport_workers:plain", 2, "200")]
    assert exc in result.attempts[0].detail["error"]


def _results(runner, n: int, timeout: float = 15.0) -> dict:
    """Drive a CallPool or LoopPump as the worker proxy does until ``n`` results are in (bounded)."""
    got, deadline = {}, time.monotonic() + timeout
    while len(got) < n:
        left = deadline - time.monotonic()
        assert left > 0, f"only {len(got)} of {n} results: {got}"
        done = runner.pump() if isinstance(runner, LoopPump) else runner.drain()
        got.update((j.instance, result) for j, result in done)
        if len(got) < n:
            delay = runner.next_timer() if isinstance(runner, LoopPump) else None
            select.select([runner.fileno()], [], [], left if delay is None else min(delay, left))
    return got


@pytest.mark.parametrize("runner", [CallPool, LoopPump])
def test_sys_exit_does_not_stop_the_step_runners(runner):
    """python://sys:exit (sys allowed on purpose) through the embedded proxy's CallPool and the
    daemon proxy's LoopPump: the step answers ``error`` and the runner goes on serving. Before, the
    pool's thread died with SystemExit (the step never answered) and SystemExit left LoopPump.pump(),
    ending the proxy process, which the root restarted into the same call: a crash loop."""
    registry = Registry({"python": PythonTransport(["sys", "transport_workers"])})
    with runner(concurrency=2, sleep=FakeSleep(), registry=registry) as r:
        r.submit([job("exit", REQUEST, [worker("python://sys:exit")])])
        result = _results(r, 1)["exit"]
        assert result.event == ERROR and [a.outcome for a in result.attempts] == ["exception"]
        assert "python://sys:exit: SystemExit: " in result.attempts[0].detail["error"]
        r.submit([job("after", REQUEST, [worker("python://transport_workers:plain")])])
        assert _results(r, 1)["after"].event == SUCCESS


# --------------------------------------------------------------------------------- at deploy
FLOW = """\
project: sec
activity: py
states: [work]
actions:
  - {name: work, type: sync}
transitions:
  - {current: init, event: start, action: work, next: work}
  - {current: work, event: success, action: continue, next: done}
  - {current: work, event: error, action: continue, next: done}
workers:
  - name: work
    workerEndpoint: ENDPOINT
    retryCount: 0
    responseTimeout: 2
    priority: 1
"""


def _load(endpoint: str, policy: EndpointPolicy):
    text = FLOW.replace("ENDPOINT", endpoint)
    return text, load_text(text, "sec.yaml", endpoints=policy)


@pytest.mark.parametrize("endpoint, why", [
    ("python://os:system", "module 'os' is not among the allowed python:// modules (goflow.examples)"),
    ("python://goflow.examples.workers:os.system", "dotted path"),
    ("python://goflow.examples:workers.get_product", "dotted path"),
])
def test_deploy_refuses_an_endpoint_with_its_line_and_column(endpoint, why):
    text, result = _load(endpoint, EndpointPolicy())            # the default settings, nothing imported
    assert not result.ok and not result.blueprints
    (p,) = result.errors
    assert (p.rule, p.file, p.path) == ("endpoint-not-allowed", "sec.yaml", "/workers/0/workerEndpoint")
    assert (p.line, p.column) == (12, 21) and text.splitlines()[11][20:].startswith(endpoint)
    assert why in p.message and endpoint in p.message
    assert str(p).startswith("sec.yaml:12:21: error: ")


def test_deploy_in_the_engine_imports_the_allowed_module_and_refuses_a_re_export():
    policy = policy_from_config(settings(python_modules=ALLOWED), resolve=True)
    for endpoint, why in [("python://transport_workers:joined", "posixpath:join"),
                          ("python://transport_workers:missing", "has no function 'missing'")]:
        _, result = _load(endpoint, policy)
        assert [p.rule for p in result.errors] == ["endpoint-not-allowed"] and why in result.errors[0].message
    assert _load("python://transport_workers:echo", policy)[1].ok
    # without resolve (the CLI: it may not import what the daemon can), only the static rules
    assert _load("python://transport_workers:joined", policy_from_config(settings(python_modules=ALLOWED)))[1].ok


def test_the_engine_check_of_a_blueprint_names_the_endpoint():
    bp = Blueprint(project="sec", activity="py", states=("work",),
                   workers=(Worker("work", "python://os:system", 0, 2.0, 1),), source=("sec.yaml",))
    (p,) = policy_from_config(settings(), resolve=True).blueprint_problems(bp)
    assert (p.rule, p.file, p.path) == ("endpoint-not-allowed", "sec.yaml", "/workers/0/workerEndpoint")
    assert "'python://os:system'" in p.message


def test_an_empty_allow_list_allows_nothing():
    assert "none: workers.python_modules is empty" in refusal("python://goflow.examples.workers:get_product", [])
    assert policy_from_config(settings(python_modules=[])).refusal("python://goflow.examples.workers:get_product")
