"""goflow.config: defaults, the documented file, precedence, refusals naming the key."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from goflow.config import SCHEMA, Config, cpu_shards, load_config
from goflow.errors import ConfigError

CONFIG_FILE = Path(__file__).resolve().parents[2] / "config" / "goflow.yaml"


def test_documented_file_lists_every_setting_with_its_default():
    doc = yaml.safe_load(CONFIG_FILE.read_text())
    flat = {f"{s}.{k}": v for s, body in doc.items() for k, v in body.items()}
    assert set(flat) == set(SCHEMA)
    for key, (_kind, default) in SCHEMA.items():
        assert flat[key] == default, key
    assert load_config(CONFIG_FILE, env={}) == Config(source=str(CONFIG_FILE))


def test_precedence_file_env_overrides(tmp_path):
    f = tmp_path / "c.yaml"
    f.write_text("daemon:\n  port: 7000\nengine:\n  shards: 3\n")
    env = {"GOFLOW_CONFIG": str(f), "GOFLOW_DAEMON_PORT": "7100", "GOFLOW_LOG_LEVEL": "DEBUG"}
    cfg = load_config(env=env)
    assert (cfg.daemon.port, cfg.engine.shards) == (7100, 3)
    cfg = load_config(env=env, overrides={"daemon.port": 7200, "engine.shards": None})
    assert (cfg.daemon.port, cfg.engine.shards) == (7200, 3)


def test_defaults_and_engine_dict():
    cfg = load_config(env={})
    assert cfg.daemon.address == "127.0.0.1" and cfg.shards == cpu_shards()
    d = cfg.to_engine_dict()
    assert {"data_dir", "shards", "concurrency", "synchronous", "intensity", "period", "watch"} <= set(d)
    assert Path(d["data_dir"]).is_absolute()
    assert load_config(env={"GOFLOW_DAEMON_ALLOW_REMOTE": "yes"}).daemon.allow_remote is True


@pytest.mark.parametrize("env, key", [
    ({"GOFLOW_DAEMON_PORT": "0"}, "daemon.port"),
    ({"GOFLOW_DAEMON_PORT": "http"}, "daemon.port"),
    ({"GOFLOW_ENGINE_CONCURRENCY": "0"}, "engine.concurrency"),
    ({"GOFLOW_DAEMON_ADDRESS": "example.com"}, "daemon.address"),
    ({"GOFLOW_RETRY_JITTER": "2"}, "retry.jitter"),
    ({"GOFLOW_DAEMON_ALLOW_REMOTE": "perhaps"}, "daemon.allow_remote"),
    ({"GOFLOW_ENGINE_COLOUR": "red"}, "engine.colour"),
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


def test_engine_dict_passes_the_proxy_check():
    from goflow.transports import HTTP_TRANSPORTS, check_config, registry_from_config
    from goflow.config import HTTP_TRANSPORTS as CONFIGURED
    assert CONFIGURED == HTTP_TRANSPORTS
    cfg = load_config(env={"GOFLOW_WORKERS_PYTHON_MODULES": "goflow.examples, myapp"})
    d = cfg.to_engine_dict()
    assert d["python_modules"] == ["goflow.examples", "myapp"]
    assert check_config(d) == 256
    registry_from_config(d)
