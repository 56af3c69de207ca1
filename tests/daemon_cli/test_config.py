"""goflow.config: one settings object -- defaults written once, the documented file, precedence,
keyword options, pickling (Thespian pickles it between processes), refusals naming the key, and
every documented key read by something."""
from __future__ import annotations

import inspect
import pickle
import re
from pathlib import Path

import pytest
import yaml

from goflow.config import SCHEMA, Config, LimitsSection, RetrySection, cpu_shards, load_config, option_key
from goflow.errors import ConfigError

REPO = Path(__file__).resolve().parents[2]
CONFIG_FILE = REPO / "config" / "goflow.yaml"


def test_documented_file_lists_every_setting_with_its_default():
    doc = yaml.safe_load(CONFIG_FILE.read_text())
    flat = {f"{s}.{k}": v for s, body in doc.items() for k, v in body.items()}
    assert set(flat) == set(SCHEMA)
    for key, (_kind, default) in SCHEMA.items():
        assert flat[key] == default, key
    assert load_config(CONFIG_FILE, env={}) == Config(source=str(CONFIG_FILE))


def test_operations_doc_names_every_setting():
    text = (REPO / "docs" / "operations.md").read_text()
    table = {m for row in re.findall(r"^\| `([^|]+)` \|", text, re.M) for m in re.findall(r"[a-z_]+\.[a-z_]+", row)}
    assert table == set(SCHEMA)


def test_precedence_file_env_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("daemon:\n  port: 7000\nengine:\n  shards: 3\n")
    env = {"GOFLOW_CONFIG": str(f), "GOFLOW_DAEMON_PORT": "7100", "GOFLOW_LOGGING_LEVEL": "debug"}
    cfg = load_config(env=env)
    assert (cfg.daemon.port, cfg.engine.shards, cfg.logging.level) == (7100, 3, "DEBUG")
    cfg = load_config(env=env, overrides={"daemon.port": 7200, "engine.shards": None})
    assert (cfg.daemon.port, cfg.engine.shards) == (7200, 3)


def test_for_engine_resolves_what_the_actors_read(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cfg = load_config(env={})
    assert cfg.daemon.address == "127.0.0.1" and cfg.engine.shards == 0
    daemon = cfg.for_engine(in_daemon=True)
    assert daemon.in_daemon and daemon.engine.shards == cpu_shards() == daemon.shards
    assert daemon.engine.data_dir == str(tmp_path / "goflow-data")
    embedded = cfg.for_engine(in_daemon=False)
    assert not embedded.in_daemon and embedded.engine.shards == 1
    assert cfg.with_options({"shards": 3}).for_engine(in_daemon=True).engine.shards == 3
    assert load_config(env={"GOFLOW_DAEMON_ALLOW_REMOTE": "yes"}).daemon.allow_remote is True


def test_settings_pickle_and_stay_frozen():
    """Thespian pickles Boot, HostInit and ProxyInit between processes: the settings go along."""
    from actors.messages import Boot, HostInit, ProxyInit
    cfg = Config().with_options({"event_bytes": 1000, "retry_backoff": "fixed", "python_modules": ["a", "b.c"],
                                 "level": "info", "intensity": 5}).for_engine(in_daemon=True)
    again = pickle.loads(pickle.dumps(cfg))
    assert again == cfg and again.limits.event_bytes == 1000 and again.retry.backoff == "fixed"
    assert again.python_modules == ["a", "b.c"] and again.logging.level == "INFO" and again.in_daemon
    for msg in (Boot(cfg, 7, []), HostInit(0, cfg, [], None), ProxyInit(1, cfg)):
        assert pickle.loads(pickle.dumps(msg)).config == cfg
    with pytest.raises(AttributeError):
        cfg.limits.event_bytes = 5            # frozen: what an actor received cannot drift
    with pytest.raises(AttributeError):
        cfg.engine = None


def test_keyword_options_take_key_names_or_section_key():
    assert option_key("event_bytes") == option_key("limits_event_bytes") == "limits.event_bytes"
    assert option_key("port") is None                     # daemon.port or api.port: say which
    assert option_key("daemon_port") == "daemon.port" and option_key("api_port") == "api.port"
    cfg = Config().with_options({"event_bytes": 10, "api_port": 8000, "concurrency": None})
    assert (cfg.limits.event_bytes, cfg.api.port, cfg.engine.concurrency) == (10, 8000, 256)
    for name in ("max_event_bytes", "max_body_bytes", "watch", "port"):     # old or ambiguous names
        with pytest.raises(ConfigError) as info:
            Config().with_options({name: 1})
        assert info.value.key == name and "limits_event_bytes" in str(info.value)
    with pytest.raises(ConfigError) as info:              # no string parsing for Python callers
        Config().with_options({"concurrency": "8"})
    assert info.value.key == "engine.concurrency"


@pytest.mark.parametrize("env, key", [
    ({"GOFLOW_DAEMON_PORT": "0"}, "daemon.port"),
    ({"GOFLOW_DAEMON_PORT": "http"}, "daemon.port"),
    ({"GOFLOW_ENGINE_CONCURRENCY": "0"}, "engine.concurrency"),
    ({"GOFLOW_DAEMON_ADDRESS": "example.com"}, "daemon.address"),
    ({"GOFLOW_RETRY_JITTER": "2"}, "retry.jitter"),
    ({"GOFLOW_RETRY_BACKOFF": "linear"}, "retry.backoff"),
    ({"GOFLOW_DAEMON_ALLOW_REMOTE": "perhaps"}, "daemon.allow_remote"),
    ({"GOFLOW_ENGINE_COLOUR": "red"}, "engine.colour"),
    ({"GOFLOW_LIMITS_BLUEPRINT_BYTES": str(2 << 20)}, "limits.blueprint_bytes"),
    ({"GOFLOW_WORKERS_PYTHON_MODULES": "my app"}, "workers.python_modules"),
])
def test_bad_values_name_the_key(env, key):
    with pytest.raises(ConfigError) as info:
        load_config(env=env)
    assert info.value.key == key and key in str(info.value)


@pytest.mark.parametrize("text, key", [
    ("engine:\n  shards: two\n", "engine.shards"),
    ("engine:\n  shards: true\n", "engine.shards"),
    ("nosuch:\n  x: 1\n", "nosuch"),
    ("engine: 3\n", "engine"),
    ("[1, 2]\n", "<file>"),
    ("engine: {shards: 1\n", "<file>"),
])
def test_bad_files_name_the_key(tmp_path, text, key):
    f = tmp_path / "c.yaml"
    f.write_text(text)
    with pytest.raises(ConfigError) as info:
        load_config(f, env={})
    assert info.value.key == key and str(f) in str(info.value)


def test_worker_settings_make_the_proxy_registry():
    from goflow.transports import HTTP_TRANSPORTS, check_config, registry_from_config
    from goflow.transports.http import HttpxTransport
    from goflow.config import HTTP_TRANSPORTS as CONFIGURED
    assert CONFIGURED == HTTP_TRANSPORTS
    cfg = load_config(env={"GOFLOW_WORKERS_PYTHON_MODULES": "goflow.examples, myapp",
                           "GOFLOW_WORKERS_HTTP_TRANSPORT": "httpx", "GOFLOW_LIMITS_BODY_BYTES": "100",
                           "GOFLOW_ENGINE_CONCURRENCY": "9"})
    assert cfg.python_modules == ["goflow.examples", "myapp"]
    assert check_config(cfg) == 9
    registry = registry_from_config(cfg)
    http = registry.transport_for("https://x/")
    assert isinstance(http, HttpxTransport) and http.max_body_bytes == 100
    assert registry.transport_for("python://myapp.w:f").allowed == ("goflow.examples", "myapp")


# ------------------------------------------------------------------------- defaults written once
def test_each_default_is_the_settings_default():
    """The code that has a default for a setting takes it from the settings' dataclasses."""
    from goflow.config import ApiSection, EngineSection, LoggingSection
    from goflow.logs import logging_dict
    from goflow.model import Worker
    from goflow.retry import Backoff
    from goflow.shard import Shard
    from goflow.transports import MAX_BODY_BYTES
    from actors.bridge import DEFAULT_WINDOW
    from actors.http_routes import make_app
    params = inspect.signature(Shard).parameters
    assert params["event_bytes"].default == LimitsSection.event_bytes == 64 * 1024
    assert (params["intensity"].default, params["period"].default) == (EngineSection.intensity, EngineSection.period)
    assert MAX_BODY_BYTES == LimitsSection.body_bytes
    assert inspect.signature(make_app).parameters["event_bytes"].default == LimitsSection.event_bytes
    assert DEFAULT_WINDOW * 1000 == ApiSection.batch_window_ms
    assert [inspect.signature(logging_dict).parameters[p].default for p in ("level", "fmt")] == \
        [LoggingSection.level, LoggingSection.format]
    bare = Worker("a", "http://x/")                       # a blueprint that sets no backoff field
    assert (bare.retry_delay, bare.backoff, bare.max_retry_delay, bare.jitter) == (None, None, None, None)
    assert Backoff(bare, rng=lambda: 0.5).delay(1) == RetrySection.retry_delay
    assert Backoff(bare, rng=lambda: 0.5).delay(100) == RetrySection.max_retry_delay


def test_old_names_of_the_settings_are_gone():
    """One name per setting: the dict keys and constants the settings replaced appear nowhere."""
    old = ("max_event_bytes", "max_input_bytes", "DEFAULT_MAX_INPUT_BYTES", "max_blueprint_bytes", "to_engine_dict",
           "DEFAULT_RETRY_DELAY", "DEFAULT_BACKOFF", "DEFAULT_MAX_RETRY_DELAY", "DEFAULT_JITTER",
           "DEFAULT_CONCURRENCY", "TRANSPORT_CONFIG_KEYS", 'get("watch")', 'cfg.get(', "GOFLOW_LOG_LEVEL")
    found = []
    for path in [*(REPO / "goflow").rglob("*.py"), *(REPO / "actors").rglob("*.py"), *(REPO / "docs").glob("*.md"),
                 REPO / "README.md", CONFIG_FILE]:
        text = path.read_text(encoding="utf-8")
        found += [f"{path.relative_to(REPO)}: {name}" for name in old if name in text]
    assert found == []


# --------------------------------------------------------------------- every key has a consumer
# Where each documented key is read (file, the text that reads it). The effects are tested where
# they show: tests/runtime/test_settings.py (engine, limits, retry), tests/workers_e2e (workers),
# tests/daemon_cli and tests/http_api (daemon, api, logging).
CONSUMERS = {
    "engine.data_dir": [("actors/root.py", "settings.engine.data_dir"), ("actors/host.py", "engine.data_dir")],
    "engine.shards": [("actors/root.py", "settings.shards"), ("goflow/config.py", "self.engine.shards or")],
    "engine.concurrency": [("goflow/transports/__init__.py", "settings.engine.concurrency"),
                           ("actors/proxy.py", "concurrency, registry = check_config(settings)")],
    "engine.synchronous": [("actors/host.py", "synchronous=engine.synchronous")],
    "engine.intensity": [("actors/host.py", "intensity=engine.intensity")],
    "engine.period": [("actors/host.py", "period=engine.period")],
    "daemon.address": [("actors/daemon.py", "settings.daemon.address"), ("actors/_cli_daemon.py", "cfg.daemon.address")],
    "daemon.port": [("actors/daemon.py", "settings.daemon.port"), ("actors/_cli_shared.py", "cfg.daemon.port")],
    "daemon.allow_remote": [("actors/_cli_daemon.py", "cfg.daemon.allow_remote")],
    "daemon.blueprints": [("actors/_cli_daemon.py", "cfg.daemon.blueprints")],
    "daemon.log_file": [("goflow/config.py", "self.daemon.log_file"), ("actors/daemon.py", "settings.log_file")],
    "store.url": [("actors/host.py", "settings.store.url"), ("actors/root.py", "settings.store.url"),
                  ("actors/_cli_shared.py", "cfg.store.url")],
    "store.synchronous_commit": [("actors/host.py", "synchronous_commit=settings.store.synchronous_commit")],
    "daemon.start_timeout": [("actors/daemon.py", "settings.daemon.start_timeout")],
    "daemon.stop_timeout": [("actors/_cli_daemon.py", "cfg.daemon.stop_timeout")],
    "api.enabled": [("actors/_cli_daemon.py", "cfg.api.enabled")],
    "api.port": [("actors/_cli_daemon.py", "api.port"), ("actors/_cli_api.py", "a.port")],
    "api.address": [("actors/_cli_daemon.py", "api.address"), ("actors/_cli_api.py", "a.address")],
    "api.allow_remote": [("actors/_cli_daemon.py", "api.allow_remote"), ("actors/_cli_api.py", "a.allow_remote")],
    "api.tls_cert": [("actors/_cli_api.py", "tls_cert=a.tls_cert"), ("actors/_cli_daemon.py", "api.tls_cert")],
    "api.tls_key": [("actors/_cli_api.py", "tls_key=a.tls_key")],
    "api.batch_window_ms": [("actors/_cli_daemon.py", "api.batch_window_ms"), ("actors/_cli_api.py", "a.batch_window_ms")],
    "grpc.enabled": [("actors/_cli_daemon.py", "cfg.grpc.enabled")],
    "grpc.port": [("actors/_cli_daemon.py", "rpc.port"), ("actors/_cli_grpc.py", "g.port")],
    "grpc.address": [("actors/_cli_daemon.py", "rpc.address"), ("actors/_cli_grpc.py", "g.address")],
    "grpc.allow_remote": [("actors/_cli_daemon.py", "rpc.allow_remote"), ("actors/_cli_grpc.py", "g.allow_remote")],
    "grpc.tls_cert": [("actors/_cli_grpc.py", "tls_cert=g.tls_cert"), ("actors/_cli_daemon.py", "rpc.tls_cert")],
    "grpc.tls_key": [("actors/_cli_grpc.py", "tls_key=g.tls_key"), ("actors/_cli_daemon.py", "rpc.tls_key")],
    "workers.http_transport": [("goflow/transports/__init__.py", "settings.workers.http_transport")],
    "workers.python_modules": [("goflow/config.py", "self.workers.python_modules"),
                               ("goflow/transports/__init__.py", "settings.python_modules")],
    "workers.allowed_hosts": [("goflow/config.py", "self.workers.allowed_hosts"),
                              ("goflow/transports/__init__.py", "settings.allowed_hosts"),
                              ("goflow/transports/policy.py", "settings.allowed_hosts")],
    "workers.trust_env": [("goflow/transports/__init__.py", "settings.workers.trust_env")],
    "workers.call_process": [("goflow/steps/split.py", "settings.workers.call_process")],
    "retry.retry_delay": [("actors/host.py", "retry=settings.retry"), ("goflow/shard.py", "self.retry.apply_to_blueprint(")],
    "retry.backoff": [("actors/host.py", "retry=settings.retry")],
    "retry.max_retry_delay": [("actors/host.py", "retry=settings.retry")],
    "retry.jitter": [("actors/host.py", "retry=settings.retry")],
    "limits.blueprint_bytes": [("actors/root.py", "self.config.limits.blueprint_bytes"),
                               ("actors/_cli_shared.py", "cfg.limits.blueprint_bytes")],
    "limits.event_bytes": [("actors/host.py", "event_bytes=settings.limits.event_bytes"),
                           ("actors/_cli_daemon.py", "event_bytes=cfg.limits.event_bytes"),
                           ("actors/_cli_api.py", "event_bytes=cfg.limits.event_bytes")],
    "limits.body_bytes": [("goflow/transports/__init__.py", "settings.limits.body_bytes")],
    "limits.postponed": [("actors/host.py", "postponed=settings.limits.postponed")],
    "limits.paused_events": [("actors/host.py", "paused_events=settings.limits.paused_events")],
    "limits.children": [("actors/host.py", "children=settings.limits.children")],
    "limits.child_depth": [("actors/host.py", "child_depth=settings.limits.child_depth"),
                           ("actors/root.py", "self.config.limits.child_depth")],
    "client.batch_items": [("actors/api.py", "client=settings.client"), ("actors/api.py", "self.client.batch_items"),
                           ("actors/_posting.py", "self.client.batch_items")],
    "client.batches_in_flight": [("actors/api.py", "window=self.client.batches_in_flight"),
                                 ("actors/daemon.py", "settings=settings")],
    "runtime.passivate_after": [("actors/host.py", "passivate_after=settings.runtime.passivate_after")],
    "runtime.cache_size": [("actors/host.py", "cache_size=settings.runtime.cache_size")],
    "logging.level": [("actors/_logging.py", "settings.logging.level"), ("actors/daemon.py", "settings.logging.level")],
    "logging.format": [("actors/daemon.py", "settings.logging.format")],
    "metrics.enabled": [("goflow/metrics.py", "settings.metrics.enabled"), ("actors/daemon.py", "settings.metrics.enabled")],
}


def test_every_documented_key_is_read():
    assert set(CONSUMERS) == set(SCHEMA)
    missing = [f"{key}: {path} does not read it ({text!r})" for key, places in CONSUMERS.items()
               for path, text in places if text not in (REPO / path).read_text(encoding="utf-8")]
    assert missing == []
    # RetrySection.apply fills every retry.* key of a worker that leaves it unset
    assert {f"retry.{name}" for name in inspect.signature(RetrySection).parameters} == \
        {k for k in SCHEMA if k.startswith("retry.")}
