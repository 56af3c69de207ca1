"""The API through the command line: ``goflow api`` in the foreground, and ``goflow daemon start`` with
``api.enabled`` (a detached process recorded in daemon.json, stopped by ``goflow daemon stop``)."""
from __future__ import annotations

import json
import signal
import subprocess
import sys

import httpx

from http_api_support import REPO, Processes, alive, free_port, goflow, poll


def test_goflow_api_in_the_foreground(stack):
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "actors.cli", "api", "--port", str(port), "--daemon-port",
                             str(stack.port), "--data-dir", stack.data], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=stack.procs.env(), cwd=str(REPO),
                            stdin=subprocess.DEVNULL)
    try:
        line = proc.stdout.readline()
        assert line.startswith(f"goflow api listening on http://127.0.0.1:{port} (daemon port {stack.port}, "
                               f"loopback only); token in {stack.data}/api.token"), \
            (line, proc.stderr.read() if proc.poll() is not None else "")
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=stack.auth) as c:
            assert c.get("/health").json()["status"] == "ok"
            iid = c.post("/instances", json={"blueprint": "api/gate"}).json()["id"]
            assert c.post(f"/instances/{iid}/events", json={"event": "go"}).json()["status"] == "completed"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_goflow_api_refusals(stack):
    env = stack.procs.env()
    p = goflow("api", "--address", "0.0.0.0", "--daemon-port", str(stack.port), env=env)
    assert p.returncode == 1 and p.stderr.startswith("Error: api.address 0.0.0.0 is not a loopback address")
    assert "--allow-remote" in p.stderr and len(p.stderr.splitlines()) == 1
    p = goflow("api", "--port", str(free_port()), "--daemon-port", str(free_port()), env=env)
    assert p.returncode == 1 and "no GoFlow daemon is running" in p.stderr, p.stderr
    p = goflow("api", "--port", str(stack.api_port), "--daemon-port", str(stack.port), "--data-dir", stack.data,
               env=env)
    assert p.returncode == 1 and f"cannot listen on 127.0.0.1:{stack.api_port}" in p.stderr, p.stderr


def test_daemon_start_with_the_api_enabled_and_stop(tmp_path):
    procs = Processes()
    port, api_port = free_port(), free_port()
    env = procs.env(GOFLOW_DAEMON_PORT=port, GOFLOW_ENGINE_DATA_DIR=tmp_path / "data", GOFLOW_ENGINE_SHARDS=1,
                    GOFLOW_API_ENABLED="true", GOFLOW_API_PORT=api_port)
    try:
        p = goflow("daemon", "start", "--json", env=env)
        assert p.returncode == 0, p.stderr
        out = json.loads(p.stdout)
        assert out["api"] == f"http://127.0.0.1:{api_port}"
        api_pid = out["pids"]["api"]
        info = json.loads((tmp_path / "data" / "daemon.json").read_text())
        assert (info["pids"]["api"], info["api"]) == (api_pid, out["api"])
        with httpx.Client(base_url=out["api"], timeout=30) as c:
            assert c.get("/health").json()["daemon_port"] == port
        status = json.loads(goflow("daemon", "status", "--json", env=env).stdout)
        assert status["pids"]["api"] == api_pid and status["api"] == out["api"]
        p = goflow("daemon", "stop", env=env)
        assert p.returncode == 0, p.stderr
        assert not alive(api_pid)
        poll(lambda: not procs.left(), 10, what="every process of the daemon to exit")
    finally:
        if procs.left():
            goflow("daemon", "stop", env=env)
        procs.assert_none_left()
