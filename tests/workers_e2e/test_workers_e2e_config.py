"""The engine's worker-call configuration, end to end: ``http_transport`` (aiohttp default | httpx |
httpx-aiohttp), ``body_bytes``, ``python_modules`` (python:// allow-list), and python:// workers
through the engine."""
from __future__ import annotations

import pytest

from goflow.paging import every
import goflow.transports as transports
from e2e_support import attempts, one_step, settle, worker
from goflow.errors import BlueprintError, ConfigError
from goflow.transports import PythonTransport, default_registry, registry_from_config
from goflow.transports.http import HttpTransport, HttpxTransport


@pytest.fixture
def served_by(monkeypatch):
    """Which transport classes made calls (the embedded engine runs in this process)."""
    seen: list[str] = []
    for cls in (HttpTransport, HttpxTransport):
        original = cls.call

        async def call(self, request, worker_, timeout, _original=original):
            seen.append(type(self).__name__ if type(self) is HttpTransport else f"HttpxTransport:{self.backend}")
            return await _original(self, request, worker_, timeout)

        monkeypatch.setattr(cls, "call", call)
    return seen


@pytest.mark.parametrize("choice, served", [(None, "HttpTransport"), ("aiohttp", "HttpTransport"),
                                            ("httpx", "HttpxTransport:httpx"),
                                            ("httpx-aiohttp", "HttpxTransport:httpx-aiohttp")])
def test_http_transport_choice_gives_the_same_outcomes(server, closed_port, make_engine, served_by, choice, served):
    down, unavailable, slow, text = (f"http://127.0.0.1:{closed_port}/x", server.url("/status/503"),
                                     server.url("/slow/1000"), server.url("/text"))
    cfg = {} if choice is None else {"http_transport": choice}
    cfg["call_process"] = False      # served_by sees this process's calls (the call process's: same settings)
    eng = make_engine(one_step([worker(down, retry=1), worker(unavailable, retry=1, priority=2),
                                worker(slow, timeout=0.15, priority=3), worker(text, priority=4)]), **cfg)
    iid = eng.start("e2e/one", {"k": "v"})
    st = eng.wait(iid, timeout=15)
    assert st["status"] == "completed" and st["context"]["call"] == "hello, not json"
    assert attempts(every(eng.history, iid)) == [(down, 1, "connect-error"), (down, 2, "connect-error"),
                                          (unavailable, 3, "503"), (unavailable, 4, "503"),
                                          (slow, 5, "timeout"), (text, 6, "200")]
    assert [s.headers["Idempotency-Key"] for s in server.seen] == [f"{iid}:1"] * 4
    assert set(served_by) == {served} and len(served_by) == 6


@pytest.mark.parametrize("choice", ["aiohttp", "httpx", "httpx-aiohttp"])
def test_max_body_bytes_bounds_responses(server, make_engine, choice):
    big, fits = server.url("/big/1001"), server.url("/big/1000")
    eng = make_engine(one_step([worker(big, retry=2), worker(fits, priority=2)]), body_bytes=1000,
                      http_transport=choice)
    iid = eng.start("e2e/one", {})
    st = eng.wait(iid, timeout=10)
    assert st["status"] == "completed" and st["context"]["call"] == "x" * 1000
    hist = list(every(eng.history, iid))
    assert attempts(hist) == [(big, 1, "body-too-large"), (fits, 2, "200")]
    assert "over 1000 bytes" in next(r for r in hist if r["endpoint"] == big)["detail"]["error"]


def test_python_workers_through_the_engine(server, make_engine):
    import transport_workers
    boom, echo = "python://transport_workers:boom", "python://transport_workers:echo"
    eng = make_engine(one_step([worker(boom, retry=1), worker(echo, priority=2)], activity="py"),
                      one_step([worker("python://transport_workers:aecho")], activity="pyev"))
    a, b = eng.start("e2e/py", {"n": 1}), eng.start("e2e/pyev", {"n": 2})
    st = eng.wait(a, timeout=10)
    assert st["status"] == "completed"
    assert {k: v for k, v in st["context"]["call"].items() if k != "thread"} == {"got": {"n": 1}, "attempt": 3}
    hist = list(every(eng.history, a))
    assert attempts(hist) == [(boom, 1, "exception"), (boom, 2, "exception"), (echo, 3, "200")]
    assert "RuntimeError: kaput" in hist[2]["detail"]["error"]
    sb = settle(eng, b)
    assert (sb["state"], sb["context"]["call"]) == ("approved", {"event": "approved", "got": {"n": 2}})
    assert transport_workers.calls["boom"] >= 2


@pytest.mark.parametrize("allowed, ok", [(None, False), (["transport_workers"], True), ("transport_workers", True),
                                         (["goflow.examples"], False), ([], False)])
def test_python_modules_allow_list(server, tmp_path, allowed, ok):
    """Allowed: the call is made. Not allowed (the default is goflow.examples only): a deploy is
    refused naming the endpoint, and a blueprint deployed earlier (under other settings) meets the
    check at the call: that endpoint is refused at once (no retry) and the next priority serves."""
    from actors import Engine
    url = "python://transport_workers:echo"
    doc = one_step([worker(url, retry=3), worker(server.url("/event/approved"), priority=2)])
    cfg = {} if allowed is None else {"python_modules": allowed}
    data = tmp_path / "d"
    if not ok:
        with pytest.raises(BlueprintError) as info:
            Engine.embedded(tmp_path / "refused", blueprints=[doc], **cfg).close()
        assert [(p.rule, p.path) for p in info.value.problems] == [("endpoint-not-allowed",
                                                                   "/workers/0/workerEndpoint")]
        assert url in str(info.value)
        Engine.embedded(data, blueprints=[doc], python_modules=["transport_workers"]).close()
    with Engine.embedded(data, **({**cfg} if not ok else {"blueprints": [doc], **cfg})) as eng:
        iid = eng.start("e2e/one", {})
        st = settle(eng, iid)
        hist = list(every(eng.history, iid))
    if ok:
        assert st["state"] == "done" and attempts(hist) == [(url, 1, "200")]
    else:
        assert st["state"] == "approved"
        assert attempts(hist) == [(url, 1, "bad-endpoint"), (server.url("/event/approved"), 2, "200")]
        assert "not among the allowed python:// modules" in hist[2]["detail"]["error"]


@pytest.mark.parametrize("cfg, key", [({"concurrency": 0}, "engine.concurrency"),
                                      ({"concurrency": "8"}, "engine.concurrency"),
                                      ({"http_transport": "curl"}, "workers.http_transport"),
                                      ({"body_bytes": -1}, "limits.body_bytes"),
                                      ({"python_modules": 3}, "workers.python_modules"),
                                      ({"max_body_bytes": 10}, "max_body_bytes")])
def test_a_bad_worker_setting_is_refused_naming_it(tmp_path, cfg, key):
    from actors import Engine
    with pytest.raises(ConfigError) as info:
        Engine.embedded(tmp_path / "d", **cfg).close()
    assert info.value.key == key


def test_registry_from_config():
    from goflow.config import Config
    assert registry_from_config(Config()) is default_registry    # plug-ins registered by the program apply
    assert registry_from_config(Config().with_options({"concurrency": 3})) is default_registry
    reg = registry_from_config(Config().with_options({"http_transport": "httpx", "body_bytes": 10}))
    assert reg is not default_registry
    http = reg.transport_for("https://x/")
    assert isinstance(http, HttpxTransport) and http.backend == "httpx" and http.max_body_bytes == 10
    assert reg.transport_for("http://x/") is http
    assert reg.transport_for("python://m:f") is default_registry.transport_for("python://m:f")
    reg = registry_from_config(Config().with_options({"python_modules": ["a", "b.c"]}))
    py = reg.transport_for("python://a:f")
    assert isinstance(py, PythonTransport) and py.allowed == ("a", "b.c")
    assert reg.transport_for("http://x/") is default_registry.transport_for("http://x/")
    assert isinstance(registry_from_config(Config().with_options({"body_bytes": 5})).transport_for("http://x/"),
                      HttpTransport)
    assert transports.check_config(Config()) == Config().engine.concurrency
    assert transports.check_config(Config().with_options({"concurrency": 7})) == 7


class EchoScheme:
    """A plugged-in transport for ``echo://`` (stands for gRPC & co.)."""

    def __init__(self):
        self.calls = []

    async def call(self, request, worker_, timeout):
        self.calls.append((worker_.endpoint, request["attempt"]))
        return transports.Response(200, {"scheme": "echo", "step": request["step"]})


@pytest.mark.parametrize("cfg", [{}, {"body_bytes": 4096}])
def test_a_plugged_in_scheme_serves_the_engine(server, make_engine, cfg):
    plug = EchoScheme()
    transports.register("echo", plug)
    try:
        eng = make_engine(one_step([worker("nope://x/y", retry=2), worker("echo://svc/a", priority=2)]), **cfg)
        iid = eng.start("e2e/one", {})
        st = eng.wait(iid, timeout=10)
    finally:
        transports.unregister("echo")
    assert st["status"] == "completed" and st["context"]["call"] == {"scheme": "echo", "step": 1}
    assert attempts(every(eng.history, iid)) == [("nope://x/y", 1, "unknown-scheme"),
                                                ("echo://svc/a", 2, "200")]
    assert plug.calls == [("echo://svc/a", 2)]


def test_a_blueprint_deployed_at_runtime_reaches_the_proxy(server, make_engine):
    eng = make_engine()
    assert eng.deploy(one_step([worker(server.url("/event/approved"))], activity="late")) == [("e2e", "late", 1)]
    iid = eng.start("e2e/late", {})
    assert settle(eng, iid)["state"] == "approved"
