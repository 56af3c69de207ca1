"""The ``goflow`` group itself: version, help, log level, usage errors, every command imports."""
from __future__ import annotations

import logging

import click
import pytest

import goflow
from goflow.cli import COMMANDS, main


def test_version(runner):
    result = runner.invoke(main, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"goflow {goflow.__version__}"


def test_help_lists_the_commands(runner):
    result = runner.invoke(main, ["--help"])
    assert result.exit_code == 0, result.output
    for name in ("validate", "graph"):
        assert name in result.output


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_every_registered_command_imports_and_has_help(runner, name):
    result = runner.invoke(main, [name, "--help"])
    assert result.exit_code == 0, result.output
    assert isinstance(main.get_command(click.Context(main), name), click.Command)


@pytest.mark.parametrize("argv", [
    ["no-such-command"],
    ["validate"],                                  # PATH is required
    ["validate", "/no/such/blueprint.json"],       # PATH must exist
    ["validate", "--no-such-option", "x"],
    ["graph", "--format", "png", "."],
    ["--log-level", "LOUD", "validate", "."],
])
def test_usage_errors_exit_2(runner, argv):
    result = runner.invoke(main, argv)
    assert result.exit_code == 2, result.output


def test_log_level_configures_the_goflow_logger(runner):
    logger = logging.getLogger("goflow")
    before = logger.level
    try:
        result = runner.invoke(main, ["--log-level", "debug", "graph", "--help"])
        assert result.exit_code == 0, result.output
        assert logger.getEffectiveLevel() == logging.DEBUG
        assert logging.getLogger("goflow.loading").isEnabledFor(logging.DEBUG)
        handlers = len(logger.handlers)
        runner.invoke(main, ["--log-level", "ERROR", "graph", "--help"])
        assert logger.level == logging.ERROR
        assert len(logger.handlers) == handlers  # configuring twice adds no second handler
    finally:
        logger.setLevel(before)


def test_log_records_go_to_stderr(runner):
    @click.command()
    def speak():
        logging.getLogger("goflow.test").info("hello from goflow.test")

    main.add_command(speak, "speak-test")
    logger = logging.getLogger("goflow")
    before = logger.level
    try:
        result = runner.invoke(main, ["--log-level", "INFO", "speak-test"])
        assert result.exit_code == 0
        assert "hello from goflow.test" in result.stderr
        assert "hello from goflow.test" not in result.stdout
        quiet = runner.invoke(main, ["speak-test"])      # default WARNING
        assert "hello" not in quiet.stderr
    finally:
        main.commands.pop("speak-test", None)
        logger.setLevel(before)


def test_a_goflow_error_becomes_a_message_and_exit_1(runner):
    @click.command()
    def boom():
        raise goflow.InstanceNotFound("abc")

    main.add_command(boom, "boom-test")
    try:
        result = runner.invoke(main, ["boom-test"])
    finally:
        main.commands.pop("boom-test", None)
    assert result.exit_code == 1
    assert "no instance 'abc'" in result.stderr
    assert "Traceback" not in result.output
