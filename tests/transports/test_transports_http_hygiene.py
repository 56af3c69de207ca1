"""Worker HTTP clients ignore the environment by default (no proxy, no .netrc picked up silently) and
refuse hosts outside ``workers.allowed_hosts`` (SSRF), at deploy and at the call."""
from __future__ import annotations

import base64

import pytest

import transport_support
from goflow.calls import perform_step
from goflow.config import Config
from goflow.errors import ConfigError
from goflow.loading import load_text
from goflow.model import ERROR, SUCCESS
from goflow.testing import FakeSleep
from goflow.transports import Registry, http_transport, policy_from_config, registry_from_config
from transport_support import REQUEST, outcomes, run, worker

KINDS = ["aiohttp", "httpx", "httpx-aiohttp"]


def settings(options: dict | None = None) -> Config:
    return Config().with_options(options or {})


def step(workers, registry):
    return run(perform_step(dict(REQUEST), workers, sleep=FakeSleep(), registry=registry), registry)


def registry_of(kind: str, **options) -> Registry:
    transport = http_transport(kind, **options)
    return Registry({"http": transport, "https": transport})


@pytest.fixture
def proxy():
    """A second server standing in for an HTTP proxy named by the environment: it records what reaches it."""
    with transport_support.serving("test-proxy") as srv:
        yield srv


@pytest.fixture
def hostile_env(monkeypatch, proxy, tmp_path):
    for name in ("NO_PROXY", "no_proxy", "HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy.url(""))
    monkeypatch.setenv("http_proxy", proxy.url(""))
    netrc = tmp_path / "netrc"
    netrc.write_text("machine 127.0.0.1 login netrc-user password netrc-secret\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))


@pytest.mark.parametrize("kind", KINDS)
def test_no_proxy_and_no_netrc_from_the_environment_by_default(server, proxy, hostile_env, kind):
    result = step([worker(server.url("/ok"))], registry_of(kind))
    assert result.event == SUCCESS
    assert server.paths() == ["/ok"] and proxy.paths() == []        # straight to the worker
    assert "Authorization" not in server.seen[0].headers            # no .netrc credentials


@pytest.mark.parametrize("kind", ["aiohttp", "httpx"])
def test_trust_env_true_does_read_the_environment(server, proxy, hostile_env, kind):
    """The positive control: opted in, the same environment sends the call through the proxy
    (so the test above would see it)."""
    result = step([worker(server.url("/ok"))], registry_of(kind, trust_env=True))
    assert result.event == SUCCESS
    assert proxy.paths() == ["/ok"] and server.paths() == []


def test_trust_env_true_reads_netrc_with_aiohttp(server, hostile_env, monkeypatch):
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.delenv(name)
    step([worker(server.url("/ok"))], registry_of("aiohttp", trust_env=True))
    expected = "Basic " + base64.b64encode(b"netrc-user:netrc-secret").decode()
    assert server.seen[0].headers.get("Authorization") == expected


def test_the_config_key_reaches_the_transport():
    assert registry_from_config(settings({"trust_env": True})).transport_for("http://x/").trust_env is True
    assert registry_from_config(settings({"http_transport": "httpx"})).transport_for("http://x/").trust_env is False


# --------------------------------------------------------------------------------- allowed hosts
@pytest.mark.parametrize("kind", KINDS)
def test_a_host_outside_allowed_hosts_is_refused_at_the_call(server, kind):
    registry = registry_from_config(settings({"http_transport": kind, "allowed_hosts": ["localhost", "10.0.0.0/8"]}))
    url = server.url("/ok")                                        # 127.0.0.1: not allowed
    result = step([worker(url, retry=3)], registry)
    assert result.event == ERROR and outcomes(result) == [(url, 1, "host-not-allowed")]
    assert "host '127.0.0.1' is not among workers.allowed_hosts" in result.attempts[0].detail["error"]
    assert server.paths() == []                                    # no connection was made
    allowed = registry_from_config(settings({"http_transport": kind, "allowed_hosts": ["127.0.0.0/8"]}))
    assert step([worker(url)], allowed).event == SUCCESS


def test_grpc_endpoints_meet_allowed_hosts_at_the_call_too():
    pytest.importorskip("grpc", reason="grpcio is not installed (a dependency of goflow: pip install -e .)")
    registry = registry_from_config(settings({"allowed_hosts": ["10.0.0.0/8"]}))
    url = "grpc://127.0.0.1:9/goflow.worker.v1.Worker/Perform"
    result = step([worker(url, retry=2)], registry)
    assert outcomes(result) == [(url, 1, "host-not-allowed")]
    allowed = registry_from_config(settings({"allowed_hosts": ["127.0.0.1"]}))
    assert step([worker(url)], allowed).attempts[0].outcome != "host-not-allowed"


FLOW = """{
  "project": "sec", "activity": "hosts", "states": ["work"],
  "actions": [{"name": "work", "type": "sync"}],
  "transitions": [
    {"current": "init", "event": "start", "action": "work", "next": "work"},
    {"current": "work", "event": "success", "action": "continue", "next": "done"},
    {"current": "work", "event": "error", "action": "continue", "next": "done"}],
  "workers": [
    {"name": "work", "workerEndpoint": "https://api.example.com/work", "retryCount": 0, "responseTimeout": 2, "priority": 1},
    {"name": "work", "workerEndpoint": "http://169.254.169.254/latest/meta-data", "retryCount": 0, "responseTimeout": 2, "priority": 2}]
}
"""


def test_deploy_refuses_a_host_outside_allowed_hosts_with_its_line_and_column():
    policy = policy_from_config(settings({"allowed_hosts": ["*.example.com"]}))
    result = load_text(FLOW, "hosts.json", endpoints=policy)
    (p,) = result.errors
    assert (p.rule, p.path, p.line, p.column) == ("endpoint-not-allowed", "/workers/1/workerEndpoint", 10, 40)
    assert "'169.254.169.254' is not among workers.allowed_hosts (*.example.com)" in p.message
    assert load_text(FLOW, "hosts.json", endpoints=policy_from_config(settings())).ok      # unset: any host


@pytest.mark.parametrize("entries, host, ok", [
    (["api.example.com"], "API.example.com", True), (["api.example.com"], "example.com", False),
    (["*.example.com"], "a.b.example.com", True), (["*.example.com"], "example.com", False),
    (["*.example.com"], "evilexample.com", False), (["10.0.0.0/8"], "10.9.8.7", True),
    (["10.0.0.0/8"], "11.0.0.1", False), (["::1"], "[::1]", True), (["127.0.0.1"], "localhost", False),
])
def test_allowed_hosts_entries(entries, host, ok):
    refused = policy_from_config(settings({"allowed_hosts": entries})).refusal(f"http://{host}:8080/x")
    assert (refused is None) == ok, refused


@pytest.mark.parametrize("bad", [["http://x/"], ["a b"], ["*"], ["x/y"]])
def test_a_bad_allowed_hosts_entry_is_a_config_error(bad):
    with pytest.raises(ConfigError) as info:
        registry_from_config(settings({"allowed_hosts": bad}))
    assert info.value.key == "workers.allowed_hosts"
    with pytest.raises(ConfigError):
        settings({"allowed_hosts": []})          # "" is any host: an empty list must not mean that
