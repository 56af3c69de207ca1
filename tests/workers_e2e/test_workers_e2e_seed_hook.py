"""The seed flow (goflow/examples) with its workers rewritten to the 127.0.0.1 test server, and the
completion hook (the worker named ``done``)."""
from __future__ import annotations

from pathlib import Path

import pytest

from e2e_support import attempts, one_step, settle, wait_for, worker
from goflow.loading import blueprint_to_document, load_paths
from goflow.paging import every

EXAMPLES = Path(__file__).resolve().parents[2] / "goflow" / "examples"


def seed_document(urls: dict) -> dict:
    """The seed blueprint as a document, each worker's endpoint from ``urls[(name, priority)]``, with
    zero backoff (the seed's default 0.5 s exponential would sleep 3.5 s through 3 retries)."""
    result = load_paths([EXAMPLES / "inquiry.flow.json", EXAMPLES / "inquiry.workers.json"])
    assert result.ok, result.problems
    (bp,) = result.blueprints
    doc = blueprint_to_document(bp)
    for w in doc["workers"]:
        w["workerEndpoint"] = urls[(w["name"], w["priority"])]
        w["retryDelay"] = 0
    return doc


def hook_records(history):
    return [r for r in history if r["action"] == "done" and r["outcome"] and r["outcome"].startswith("hook-")]


@pytest.mark.parametrize("down", ["closed-port", "503"])
def test_seed_completes_through_priority_2_when_priority_1_is_down(server, closed_port, make_engine, down):
    p1 = f"http://127.0.0.1:{closed_port}/balance" if down == "closed-port" else server.url("/status/503")
    p2 = server.url("/ok/balance-2")
    doc = seed_document({("calculate_balance", 1): p1, ("calculate_balance", 2): p2,
                         ("get_product", 1): server.url("/ok/product"),
                         ("calculate_voucher", 1): server.url("/ok/voucher"), ("done", 1): server.url("/ok/hook")})
    eng = make_engine(doc)
    iid = eng.start("goflow/inquiry", {"customer": 42})
    st = settle(eng, iid)
    # the seed loops in calculate_voucher (continue self-loop): it waits there for an outside event
    assert (st["status"], st["state"]) == ("waiting", "calculate_voucher")
    assert st["context"] == {"customer": 42, "calculate_balance": {"echo": {"customer": 42}},
                             "get_product": {"echo": {"customer": 42}}}
    hist = list(every(eng.history, iid))
    outcome = "connect-error" if down == "closed-port" else "503"
    assert attempts(hist, "calculate_balance") == [(p1, n, outcome) for n in (1, 2, 3, 4)] + [(p2, 5, "200")]
    assert attempts(hist, "get_product") == [(server.url("/ok/product"), 1, "200")]
    paths = server.paths()
    assert paths[-2:] == ["/ok/balance-2", "/ok/product"]        # voucher never called, no hook
    assert [s.headers["Idempotency-Key"] for s in server.seen if s.path != "/ok/product"] == [f"{iid}:1"] * (
        1 if down == "closed-port" else 5)
    assert server.seen[-1].headers["Idempotency-Key"] == f"{iid}:2"


def test_seed_with_every_balance_endpoint_down_ends_in_done_and_calls_the_hook_once(server, closed_port, make_engine):
    down = f"http://127.0.0.1:{closed_port}/balance"
    doc = seed_document({("calculate_balance", 1): down, ("calculate_balance", 2): server.url("/status/500"),
                         ("get_product", 1): server.url("/ok/product"),
                         ("calculate_voucher", 1): server.url("/ok/voucher"), ("done", 1): server.url("/ok/hook")})
    eng = make_engine(doc)
    iid = eng.start("goflow/inquiry", {"customer": 7})
    st = eng.wait(iid, timeout=15)
    assert (st["status"], st["state"]) == ("completed", "done")
    hist = wait_for_hook(eng, iid)
    assert attempts(hist, "calculate_balance") == (
        [(down, n, "connect-error") for n in (1, 2, 3, 4)] + [(server.url("/status/500"), n, "500") for n in (5, 6, 7, 8)])
    hooks = [s for s in server.seen if s.path == "/ok/hook"]
    assert len(hooks) == 1
    assert hooks[0].body["context"] == {"customer": 7} == st["context"]
    assert hooks[0].body["state"] == "done" and hooks[0].body["action"] == "done"
    assert hooks[0].headers["Idempotency-Key"] == f"{iid}:{hooks[0].body['step']}"
    assert [r["outcome"] for r in hook_records(hist)] == ["hook-ok"]


def wait_for_hook(eng, iid, timeout=10.0):
    import time
    deadline = time.monotonic() + timeout
    while True:
        hist = list(every(eng.history, iid))
        if hook_records(hist):
            return hist
        assert time.monotonic() < deadline, f"no hook outcome in {hist}"
        time.sleep(0.01)


def test_hook_gets_the_final_context_once(server, make_engine):
    doc = one_step([worker(server.url("/ok/step"))], hook=[worker(server.url("/ok/hook"), name="done")])
    eng = make_engine(doc)
    iid = eng.start("e2e/one", {"n": 1})
    st = eng.wait(iid, timeout=10)
    assert st["status"] == "completed"
    hist = wait_for_hook(eng, iid)
    (hook,) = [s for s in server.seen if s.path == "/ok/hook"]
    assert hook.body["context"] == {"n": 1, "call": {"echo": {"n": 1}}} == st["context"]
    assert hook.headers["Idempotency-Key"] == f"{iid}:2" and hook.body["step"] == 2
    assert attempts(hist, "done") == [(server.url("/ok/hook"), 1, "200")]
    assert eng.status(iid)["status"] == "completed"
    assert eng.status(iid)["context"] == st["context"]     # the hook's answer is not kept in the context


def test_failing_hook_is_retried_and_recorded_but_the_instance_stays_completed(server, make_engine):
    hook = server.url("/status/500")
    doc = one_step([worker(server.url("/ok"))], hook=[worker(hook, name="done", retry=2)])
    eng = make_engine(doc)
    iid = eng.start("e2e/one", {})
    assert eng.wait(iid, timeout=10)["status"] == "completed"
    hist = wait_for_hook(eng, iid)
    assert attempts(hist, "done") == [(hook, 1, "500"), (hook, 2, "500"), (hook, 3, "500")]
    assert [r["outcome"] for r in hook_records(hist)] == ["hook-failed"]
    st = eng.status(iid)
    assert (st["status"], st["state"], st["reason"]) == ("completed", "done", None)
