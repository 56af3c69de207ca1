"""goflow.auth: the token file written once, atomically and privately; what clients send."""
from __future__ import annotations

import os
import stat
import threading

import pytest

from goflow import auth


def test_written_once_0600_and_read_back(tmp_path):
    data = tmp_path / "data"
    old = os.umask(0)               # even with a permissive umask
    try:
        token = auth.ensure_token(str(data))
    finally:
        os.umask(old)
    path = data / "api.token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(token) == 64 and int(token, 16) >= 0
    assert auth.ensure_token(str(data)) == token == auth.read_token(str(data))
    assert os.listdir(data) == ["api.token"]
    assert auth.ensure_token(str(tmp_path / "other")) != token


def test_a_readable_token_file_is_made_private(tmp_path):
    path = tmp_path / "api.token"
    path.write_text("abc\n")
    path.chmod(0o644)
    assert auth.ensure_token(str(tmp_path)) == "abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_servers_starting_at_once_agree_on_one_token(tmp_path):
    tokens, barrier = [], threading.Barrier(8)

    def one():
        barrier.wait()
        tokens.append(auth.ensure_token(str(tmp_path)))

    threads = [threading.Thread(target=one) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(tokens)) == 1 and tokens[0] == auth.read_token(str(tmp_path))
    assert os.listdir(tmp_path) == ["api.token"]


def test_an_empty_token_file_is_an_error_naming_it(tmp_path):
    (tmp_path / "api.token").write_text("\n")
    with pytest.raises(auth.TokenError, match="api.token: is empty") as info:
        auth.ensure_token(str(tmp_path))
    assert info.value.path == str(tmp_path / "api.token")


def test_client_token_prefers_goflow_token(tmp_path):
    assert auth.client_token(str(tmp_path), {}) is None
    token = auth.ensure_token(str(tmp_path))
    assert auth.client_token(str(tmp_path), {}) == token
    assert auth.client_token(str(tmp_path), {"GOFLOW_TOKEN": "from-env\n"}) == "from-env"
    assert auth.client_token(None, {"GOFLOW_TOKEN": "from-env"}) == "from-env"


def test_matches():
    assert auth.matches("a" * 64, "a" * 64)
    assert not auth.matches("a" * 64, "a" * 63)
    assert not auth.matches("a" * 64, None)
    assert not auth.matches("a" * 64, "")
    assert not auth.matches("a" * 64, "\ud800")
