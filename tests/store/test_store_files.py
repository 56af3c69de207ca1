"""File modes and ownership of a data directory (SPEC §12): the directory 0700, every file in it 0600
whatever the umask; a data directory owned by another user is refused; atomic writes."""
from __future__ import annotations

import json
import os
import stat
import threading

import pytest

from goflow.errors import GoflowError
from goflow.files import DataDirRefused, open_append, private_dir, write_atomic
from goflow.store import open_catalog, open_shard


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def loose_umask():
    old = os.umask(0)               # the worst umask: every file would be world-writable
    yield
    os.umask(old)


def test_store_and_catalog_files_are_private_whatever_the_umask(tmp_path, loose_umask, change):
    data = tmp_path / "data"
    store = open_shard(data, 0)
    catalog = open_catalog(data)
    try:
        store.commit([change("i1")])
        catalog.save("p", "a", 1, {"project": "p"})
        files = sorted(p for p in data.rglob("*") if p.is_file())
        names = {p.name for p in files}
        # the WAL companions exist while the connections are open: they are checked too
        assert {"catalog.sqlite", "catalog.sqlite-wal", "catalog.sqlite-shm", "0.sqlite", "0.sqlite-wal",
                "0.sqlite-shm", "0.sqlite.lock"} <= names, names
        assert {p.name: _mode(p) for p in files} == {p.name: 0o600 for p in files}
        assert _mode(data) == 0o700 and _mode(data / "shards") == 0o700
    finally:
        store.close()
        catalog.close()


def test_existing_loose_files_and_directory_are_made_private(tmp_path, change):
    data = tmp_path / "data"
    store = open_shard(data, 0)
    store.commit([change("i1")])
    store.close()
    for p in [data, data / "shards", *data.rglob("*")]:
        os.chmod(p, 0o777 if p.is_dir() else 0o666)      # as an older version under umask 000 left them
    store = open_shard(data, 0)
    try:
        assert _mode(data) == 0o700 and _mode(data / "shards") == 0o700
        left = {p.name: _mode(p) for p in data.rglob("*") if p.is_file() and _mode(p) != 0o600}
        assert left == {}
    finally:
        store.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to another user needs root; this run is not root")
def test_data_directory_owned_by_another_user_is_refused(tmp_path):
    data = tmp_path / "theirs"
    data.mkdir(mode=0o700)
    os.chown(data, 65534, 65534)
    for opener in (lambda: open_catalog(data), lambda: open_shard(data, 0)):
        with pytest.raises(DataDirRefused) as err:
            opener()
        assert isinstance(err.value, GoflowError)
        assert "owned by uid 65534" in str(err.value) and str(data) in str(err.value)
    assert os.listdir(data) == []                         # nothing was created in it


def test_a_file_where_the_data_directory_should_be_is_refused(tmp_path):
    path = tmp_path / "file"
    path.write_text("x")
    with pytest.raises(DataDirRefused, match="is not a directory"):
        private_dir(path)


def test_write_atomic_is_private_and_leaves_no_temporary_file(tmp_path, loose_umask):
    target = tmp_path / "daemon.json"
    target.write_text("{}")
    os.chmod(target, 0o644)
    write_atomic(target, json.dumps({"pid": 1}))
    assert json.loads(target.read_text()) == {"pid": 1} and _mode(target) == 0o600
    assert os.listdir(tmp_path) == ["daemon.json"]


def test_write_atomic_temporary_names_are_unpredictable_and_writers_never_collide(tmp_path):
    """Concurrent writers (same process, so a pid-based name would collide) all succeed; readers
    only ever see a whole document."""
    target = tmp_path / "daemon.json"
    write_atomic(target, json.dumps({"n": -1, "pad": "x" * 10000}))
    errors: list = []
    seen: list = []

    def writer(n):
        try:
            for k in range(20):
                write_atomic(target, json.dumps({"n": n * 100 + k, "pad": "x" * 10000}))
        except Exception as exc:  # noqa: BLE001 - the assertion below shows it
            errors.append(exc)

    def reader():
        for _ in range(200):
            seen.append(json.loads(target.read_text())["n"])

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)] + [threading.Thread(target=reader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(seen) == 200
    assert os.listdir(tmp_path) == ["daemon.json"]


def test_log_files_are_opened_private(tmp_path, loose_umask):
    path = tmp_path / "daemon.log"
    with open_append(path) as f:
        f.write(b"line\n")
    assert _mode(path) == 0o600
    os.chmod(path, 0o644)
    with open_append(path) as f:
        f.write(b"more\n")
    assert _mode(path) == 0o600 and path.read_bytes() == b"line\nmore\n"
