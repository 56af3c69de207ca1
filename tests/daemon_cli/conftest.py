"""Fixtures for tests/daemon_cli (helpers in cli_support.py)."""
from __future__ import annotations

import pytest

from cli_support import Daemon


@pytest.fixture
def daemon(tmp_path):
    d = Daemon(tmp_path / "data")
    yield d
    d.cleanup()
