"""The ``goflow`` command: a click group whose subcommands live in ``goflow/_cli_*.py`` modules.

Adding a command family
-----------------------
Write ``goflow/_cli_<family>.py`` with plain ``@click.command()`` functions (use the helpers in
:mod:`goflow._cli_common`), then add one line per command to :data:`COMMANDS` below
(``"name": "goflow._cli_<family>:function"``). Commands are imported only when they run (or when
``goflow --help`` lists them), so a heavy import (the actor runtime) costs nothing to ``goflow
validate``. ``tests/cli/test_cli_frame.py`` checks that every registered command imports and
answers ``--help``.

Exit codes: 0 success, 1 failure (a blueprint did not load, a :class:`~goflow.errors.GoflowError`
escaped a command), 2 usage error (click's own code, kept).
"""
from __future__ import annotations

import importlib
import logging
import sys

import click

from . import __version__
from .config import LOG_LEVELS, LoggingSection
from .errors import GoflowError

__all__ = ["main", "COMMANDS", "register_command", "GoflowGroup", "LOG_LEVELS", "configure_logging"]

# name -> "module:attribute" of a click.Command. Keep sorted by family.
COMMANDS: dict[str, str] = {
    # blueprints
    "validate": "goflow._cli_blueprints:validate",
    "graph": "goflow._cli_blueprints:graph",
    # the store's schema
    "store": "goflow._cli_store:store",
    # runtime commands (daemon, start, send, status, run, ...) are registered here as they land.
}



def register_command(name: str, target: str) -> None:
    """Register a subcommand lazily: ``target`` is ``"package.module:attribute"``."""
    COMMANDS[name] = target


class GoflowGroup(click.Group):
    """A click group that imports its registered subcommands on demand and turns a
    :class:`~goflow.errors.GoflowError` escaping a command into a one-line error and exit 1."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is not None or cmd_name not in COMMANDS:
            return command
        module_name, _, attr = COMMANDS[cmd_name].partition(":")
        command = getattr(importlib.import_module(module_name), attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[cmd_name]} is not a click command")
        return command

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except GoflowError as exc:
            logging.getLogger("goflow.cli").debug("command failed", exc_info=True)
            raise click.ClickException(str(exc)) from exc


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever ``sys.stderr`` is at the time of the record (click's test runner swaps it)."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure_logging(level: str) -> None:
    """Send ``goflow.*`` log records at ``level`` and above to stderr (one handler, however often
    this is called)."""
    logger = logging.getLogger("goflow")
    logger.setLevel(level.upper())
    if not any(isinstance(h, _StderrHandler) for h in logger.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        logger.addHandler(handler)


@click.group(cls=GoflowGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", "-V", prog_name="goflow",
                      message="%(prog)s %(version)s")
@click.option("--log-level", type=click.Choice(LOG_LEVELS, case_sensitive=False), default=LoggingSection.level,
              show_default=True, envvar="GOFLOW_LOGGING_LEVEL", show_envvar=True,
              help="Log records of the goflow.* loggers at this level and above go to stderr.")
def main(log_level: str) -> None:
    """GoFlow: a workflow engine for orchestrating microservices.

    Workflows are blueprints, finite state machines written as JSON or YAML. Exit codes: 0 success,
    1 failure, 2 usage error.
    """
    configure_logging(log_level)


if __name__ == "__main__":  # pragma: no cover
    main()
