"""The layers hold: import-linter contracts (``[tool.importlinter]`` in pyproject.toml), ``python://``
without the HTTP clients, and ``benchmarks`` as a development tool that is not installed.

Each contract is also broken on purpose, in a copy of the packages, to show this test can fail.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("goflow", "actors", "benchmarks")


def _lint_imports_exe() -> str:
    exe = Path(sys.executable).with_name("lint-imports")
    if not exe.exists():
        pytest.skip("import-linter is not installed (it is in the 'test' extra: pip install -e '.[test]')")
    return str(exe)


def _lint(cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([_lint_imports_exe(), "--config", "pyproject.toml", "--no-cache"], cwd=str(cwd),
                          env=env, capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_the_import_contracts_hold():
    proc = _lint(REPO)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "0 broken" in proc.stdout, proc.stdout[-2000:]


@pytest.mark.parametrize("module, line, contract", [
    ("goflow/fsm.py", "import thespian", "goflow never imports Thespian or the actor layer"),
    ("goflow/shard.py", "from actors import messages", "goflow never imports Thespian or the actor layer"),
    ("goflow/model.py", "from goflow import store", "the FSM core and the model import nothing of the runtime"),
    ("goflow/fsm.py", "from goflow import calls", "the FSM core and the model import nothing of the runtime"),
    ("actors/proxy.py", "import benchmarks._common", "the actor layer never imports the benchmarks"),
    ("goflow/transports/base.py", "from goflow.steps import pool",
     "worker calls: transports below calls below step runners"),
    # a late import (inside a function, as the planted line is) closes a cycle just as well
    ("goflow/_fsm_children.py", "from goflow import fsm", "goflow's modules import each other without a cycle"),
    ("goflow/_fsm_transitions.py", "from goflow._fsm_manage import _retry",
     "goflow's modules import each other without a cycle"),
])
def test_a_planted_violation_breaks_its_contract(tmp_path, module, line, contract):
    for name in PACKAGES:
        shutil.copytree(REPO / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__", "results"))
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    with open(tmp_path / module, "a") as f:
        f.write(f"\n\ndef _planted():\n    {line}  # noqa\n")
    proc = _lint(tmp_path)
    assert proc.returncode != 0, proc.stdout[-4000:]
    broken = proc.stdout.partition("Broken contracts")[2]
    assert contract in broken, proc.stdout[-4000:]


def _fresh_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=str(cwd), env=env,
                          capture_output=True, text=True, timeout=120, stdin=subprocess.DEVNULL)


def test_python_endpoints_never_import_the_http_clients_or_grpc(tmp_path):
    """A fresh interpreter runs python:// steps through the default registry, a configured one and a
    CallPool: neither aiohttp, httpx nor grpc is imported. The first http:// call (to a closed port)
    does import aiohttp, and the first grpc:// call grpc, so the check can see them."""
    proc = _fresh_python("""
        import asyncio, socket, sys
        from goflow.calls import perform_step
        from goflow.config import Config
        from goflow.model import Worker
        from goflow.jobs import Job
        from goflow.steps import CallPool
        from goflow.transports import registry_from_config

        def worker(url):
            return Worker(name="w", endpoint=url, retry_count=0, response_timeout=5, priority=1)

        py = [worker("python://goflow.examples.workers:calculate_balance")]
        request = {"instance": "i", "step": 1, "action": "w", "state": "s", "input": {"customer": "c"}}
        loaded = lambda: sorted(m for m in ("aiohttp", "httpx", "grpc") if m in sys.modules)
        configured = registry_from_config(Config().with_options(
            {"http_transport": "httpx-aiohttp", "body_bytes": 1000, "python_modules": ["goflow.examples"]}))
        assert asyncio.run(perform_step(request, py)).event == "success"
        assert asyncio.run(perform_step(request, py, registry=configured)).event == "success"
        with CallPool(2, registry=configured) as pool:
            pool.submit([Job("i", 1, "sync", "w", request, tuple(py))])
            results = []
            while not results:
                results = pool.wait(10)
        assert results[0][1].event == "success", results
        print("after python://", loaded())
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]          # closed once the block ends: connect-error
        result = asyncio.run(perform_step(request, [worker(f"http://127.0.0.1:{port}/")]))
        assert result.attempts[0].outcome == "connect-error", result
        print("after http://", loaded())
        result = asyncio.run(perform_step(request, [worker(f"grpc://127.0.0.1:{port}")]))
        assert result.attempts[0].outcome == "UNAVAILABLE", result
        print("after grpc://", loaded())
    """, tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    lines = proc.stdout.splitlines()
    assert "after python:// []" in lines, proc.stdout
    assert any(ln.startswith("after http:// ['aiohttp'") and "grpc" not in ln for ln in lines), proc.stdout
    assert any(ln.startswith("after grpc:// ") and "'grpc'" in ln for ln in lines), proc.stdout


def test_benchmarks_is_not_installed(tmp_path):
    """Outside the repository root ``benchmarks`` does not import (it is not an installed package);
    goflow and actors do."""
    proc = _fresh_python("import goflow, actors; print('installed ok')", tmp_path)
    assert proc.returncode == 0 and "installed ok" in proc.stdout, proc.stderr[-2000:]
    proc = _fresh_python("import benchmarks", tmp_path)
    assert proc.returncode != 0 and "No module named 'benchmarks'" in proc.stderr, proc.stderr[-2000:]
    proc = _fresh_python("import benchmarks.throughput; print('from the root ok')", REPO)
    assert proc.returncode == 0 and "from the root ok" in proc.stdout, proc.stderr[-2000:]
