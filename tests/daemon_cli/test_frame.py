"""The console script's group: every runtime command is registered, imports and answers --help;
goflow validate/graph are unchanged."""
from __future__ import annotations

import pytest
from click.testing import CliRunner

from actors.cli import RUNTIME_COMMANDS, main


@pytest.mark.parametrize("name", sorted(RUNTIME_COMMANDS))
def test_runtime_command_answers_help(name):
    result = CliRunner().invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage:" in result.output


def test_group_lists_every_command():
    out = CliRunner().invoke(main, ["--help"]).output
    for name in (*RUNTIME_COMMANDS, "validate", "graph"):
        assert name in out


def test_daemon_subcommands():
    for sub in ("start", "stop", "status"):
        assert CliRunner().invoke(main, ["daemon", sub, "--help"]).exit_code == 0


def test_validate_still_works():
    result = CliRunner().invoke(main, ["validate", "goflow/examples/runnable"])
    assert result.exit_code == 0 and "loaded goflow/inquiry_local@1" in result.output
