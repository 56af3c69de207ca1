"""SPEC §12: the daemon's ``sys.path`` does not gain the current directory implicitly, so a
``python://`` endpoint cannot import a module that merely sits where the daemon was started (the
launcher ran ``python -m actors.daemon``, which puts the current directory first)."""
from __future__ import annotations

import os

import pytest

from actors import Engine
from actors.daemon import start_daemon
from goflow.errors import BlueprintError
from testkit import alive, free_port, poll

PLANTED = "def work(request):\n    return {'planted': True}\n"
DOC = {"project": "sec", "activity": "cwd", "states": ["work"], "actions": [{"name": "work", "type": "sync"}],
       "transitions": [{"current": "init", "event": "start", "action": "work", "next": "work"},
                       {"current": "work", "event": "success", "action": "continue", "next": "done"},
                       {"current": "work", "event": "error", "action": "continue", "next": "done"}],
       "workers": [{"name": "work", "workerEndpoint": "python://planted_worker:work", "retryCount": 0,
                    "responseTimeout": 2, "priority": 1}]}


@pytest.mark.daemon
def test_the_daemon_does_not_import_from_its_current_directory(tmp_path, monkeypatch):
    here = tmp_path / "cwd"
    here.mkdir()
    (here / "planted_worker.py").write_text(PLANTED)
    monkeypatch.chdir(here)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    eng = start_daemon(str(tmp_path / "data"), port=free_port(), shards=1, env=env, timeout=30,
                       log_path=str(tmp_path / "daemon.log"), python_modules=["planted_worker"])
    pids = eng.pids()
    try:
        with pytest.raises(BlueprintError) as info:
            eng.deploy(DOC)
        assert "cannot import module 'planted_worker'" in str(info.value)
    finally:
        eng.shutdown()
        poll(lambda: not [p for p in pids.values() if alive(p)], 15, what="the daemon's processes to exit")


def test_the_same_module_deploys_where_it_is_on_the_path(tmp_path, monkeypatch):
    """The control: named on sys.path explicitly, the module and the blueprint are fine."""
    (tmp_path / "planted_worker.py").write_text(PLANTED)
    monkeypatch.syspath_prepend(str(tmp_path))
    with Engine.embedded(tmp_path / "data", python_modules=["planted_worker"]) as eng:
        assert eng.deploy(DOC) == [("sec", "cwd", 1)]
        iid = eng.start("sec/cwd")
        assert eng.wait(iid, timeout=10)["context"]["work"] == {"planted": True}
