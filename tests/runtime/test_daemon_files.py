"""A daemon's files are private (SPEC §12) whatever the starter's umask, and a data directory owned
by another user is refused before any process starts."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import httpx
import pytest

from runtime_support import free_port, gate_blueprint
from actors.daemon import add_process, start_daemon
from actors.http_api import spawn
from goflow.files import DataDirRefused

pytestmark = pytest.mark.daemon


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_every_file_and_directory_of_a_daemon_is_private_under_umask_000(daemons, tmp_path):
    old = os.umask(0)
    try:
        eng = daemons.start(blueprints=[gate_blueprint()], shards=2, log_level="DEBUG")
        eng.start("rt/gate", id="g1")
        eng.status("g1")
        # the HTTP API process, as `goflow daemon start` runs it, writes files of its own (metrics)
        api_port = free_port()
        api_pid = spawn(eng.port, api_port, "127.0.0.1", data_dir=eng.data_dir, event_bytes=65536,
                        log_path=str(tmp_path / "api.log"), watch_pid=eng.pids()["admin"], env=daemons.env())
        add_process(eng.data_dir, "api", api_pid, api=f"http://127.0.0.1:{api_port}")
        token = (Path(eng.data_dir) / "api.token").read_text().strip()
        with httpx.Client(base_url=f"http://127.0.0.1:{api_port}", timeout=30,
                          headers={"Authorization": f"Bearer {token}"}) as http:
            assert http.get("/instances/g1").status_code == 200
            assert http.get("/metrics").status_code == 200
        data = Path(eng.data_dir)
        files = [p for p in data.rglob("*") if p.is_file()]
        dirs = [data, *(p for p in data.rglob("*") if p.is_dir())]
        names = {p.name for p in files}
        assert {"daemon.json", "goflow.pid", "catalog.sqlite", "0.sqlite", "0.sqlite-wal"} <= names, names
        assert {str(p.relative_to(data)): oct(_mode(p)) for p in files if _mode(p) != 0o600} == {}
        assert {str(p): oct(_mode(p)) for p in dirs if _mode(p) != 0o700} == {}
        log = tmp_path / f"daemon-{daemons.count}.log"
        assert log.stat().st_size > 0 and _mode(log) == 0o600
        daemons.shutdown(eng)
    finally:
        os.umask(old)


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root; this run is not root")
def test_a_data_directory_of_another_user_is_refused_before_anything_starts(daemons, tmp_path):
    data = tmp_path / "theirs"
    data.mkdir(mode=0o700)
    os.chown(data, 65534, 65534)
    with pytest.raises(DataDirRefused, match="owned by uid 65534"):
        start_daemon(str(data), port=free_port(), env=daemons.env())
    assert os.listdir(data) == [] and daemons.marked() == []
