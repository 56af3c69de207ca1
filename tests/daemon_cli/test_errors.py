"""Bad input to the runtime commands: one line naming the problem, a non-zero exit, nothing written."""
from __future__ import annotations

import json
import os
import socket

from cli_support import free_port, goflow, one_line_error


def test_bad_config_key_in_file(tmp_path):
    cfg = tmp_path / "goflow.yaml"
    cfg.write_text("daemon:\n  prot: 7000\n")
    data = tmp_path / "data"
    err = one_line_error(goflow("daemon", "start", "--config", str(cfg), "--data", str(data)))
    assert "daemon.prot" in err and "unknown key" in err and str(cfg) in err
    assert not data.exists()


def test_bad_config_value_from_environment(tmp_path):
    data = tmp_path / "data"
    err = one_line_error(goflow("daemon", "start", "--data", str(data), env={"GOFLOW_ENGINE_SHARDS": "many"}))
    assert "engine.shards" in err and "GOFLOW_ENGINE_SHARDS" in err and "'many'" in err
    err = one_line_error(goflow("daemon", "start", "--data", str(data), env={"GOFLOW_ENGINE_SYNCHRONOUS": "maybe"}))
    assert "engine.synchronous" in err
    assert not data.exists()


def test_config_file_via_environment(tmp_path):
    cfg = tmp_path / "goflow.yaml"
    cfg.write_text("logging:\n  level: LOUD\n")
    err = one_line_error(goflow("daemon", "status", env={"GOFLOW_CONFIG": str(cfg)}))
    assert "logging.level" in err and "'LOUD'" in err


def test_port_in_use(tmp_path):
    data = tmp_path / "data"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        err = one_line_error(goflow("daemon", "start", "--data", str(data), "--port", str(port)))
    assert f"port {port} is already in use" in err
    assert not data.exists()


def test_non_loopback_address_needs_allow_remote(tmp_path):
    data = tmp_path / "data"
    err = one_line_error(goflow("daemon", "start", "--data", str(data), "--port", str(free_port()),
                                env={"GOFLOW_DAEMON_ADDRESS": "0.0.0.0"}))
    assert "0.0.0.0 is not a loopback address" in err and "--allow-remote" in err
    assert not data.exists()


def test_no_daemon(tmp_path):
    port = str(free_port())
    for args in (["status", "x"], ["start", "goflow/inquiry_local"], ["send", "x", "go"], ["list"],
                 ["pause", "x"], ["deploy", "goflow/examples/runnable"], ["daemon", "stop"]):
        err = one_line_error(goflow(*args, "--port", port, env={"GOFLOW_ENGINE_DATA_DIR": str(tmp_path)}))
        assert f"no GoFlow daemon is running on 127.0.0.1:{port}" in err, args
    proc = goflow("daemon", "status", "--port", port, "--data", str(tmp_path))
    assert proc.returncode == 1 and "no GoFlow daemon is running" in proc.stderr


def test_stale_pid_file(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    dead = os.fork()
    if dead == 0:
        os._exit(0)
    os.waitpid(dead, 0)
    port = free_port()
    (data / "goflow.pid").write_text(f"{dead}\n")
    (data / "daemon.json").write_text(json.dumps({"pid": dead, "port": port, "pids": {"admin": dead}}))
    status = goflow("daemon", "status", "--data", str(data), "--json")
    assert status.returncode == 1 and json.loads(status.stdout)["stale_pid_file"] is True
    assert "stale pid file" in status.stderr
    err = one_line_error(goflow("daemon", "stop", "--data", str(data)))
    assert "removed the stale pid file" in err and str(dead) in err
    assert not (data / "goflow.pid").exists()


def test_unreadable_data_directory(tmp_path):
    data = tmp_path / "data"
    data.write_text("a file, not a directory")
    err = one_line_error(goflow("daemon", "start", "--data", str(data), "--port", str(free_port())))
    assert "is not a directory" in err
    if os.geteuid() != 0:                  # root reads everything
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o000)
        try:
            err = one_line_error(goflow("daemon", "start", "--data", str(locked), "--port", str(free_port())))
            assert "not readable and writable" in err
        finally:
            locked.chmod(0o755)


def test_malformed_input_without_daemon(tmp_path):
    # input is checked before anything connects or starts
    err = one_line_error(goflow("start", "a/b", "--input", "{", "--port", str(free_port())))
    assert "--input: not valid JSON" in err
    err = one_line_error(goflow("start", "a/b", "--input", "@" + str(tmp_path / "missing.json")))
    assert "--input: cannot read" in err
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"x": "y" * 100}))
    err = one_line_error(goflow("start", "a/b", "--input", f"@{big}", env={"GOFLOW_LIMITS_EVENT_BYTES": "50"}))
    assert "over the limit of 50 bytes" in err
