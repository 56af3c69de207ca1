"""Helpers shared by the ``goflow`` subcommands: exit codes, problem output, blueprint selection."""
from __future__ import annotations

import json
from typing import Iterable, Sequence

import click

from .model import Blueprint
from .problems import ERROR, WARNING, Problem

__all__ = [
    "EXIT_OK", "EXIT_FAILURE", "EXIT_USAGE",
    "format_problem", "problem_dict", "problems_json", "echo_problems", "count_levels", "plural",
    "select_blueprint", "blueprint_label",
]

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2  # click's code for usage errors

_JSON_FIELDS = ("level", "file", "path", "line", "column", "message", "rule")


def format_problem(p: Problem) -> str:
    """``file:line:column: level: message [rule]``; where the text has no position, the JSON
    pointer follows the message instead: ``file: level: message (at /pointer) [rule]``."""
    where = p.file or "<blueprint>"
    if p.line is not None:
        return f"{where}:{p.line}:{p.column or 1}: {p.level}: {p.message} [{p.rule}]"
    at = f" (at {p.path})" if p.path else ""
    return f"{where}: {p.level}: {p.message}{at} [{p.rule}]"


def problem_dict(p: Problem) -> dict:
    return {name: getattr(p, name) for name in _JSON_FIELDS}


def problems_json(problems: Iterable[Problem]) -> str:
    return json.dumps([problem_dict(p) for p in problems], indent=2)


def echo_problems(problems: Iterable[Problem], *, err: bool = False) -> None:
    for p in problems:
        click.echo(format_problem(p), err=err)


def count_levels(problems: Sequence[Problem]) -> tuple[int, int]:
    """(errors, warnings)."""
    errors = sum(1 for p in problems if p.level == ERROR)
    warnings = sum(1 for p in problems if p.level == WARNING)
    return errors, warnings


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def blueprint_label(bp: Blueprint) -> str:
    return f"{bp.project}/{bp.activity}@{bp.version}"


def select_blueprint(blueprints: Sequence[Blueprint], wanted: str | None) -> Blueprint:
    """The one blueprint ``wanted`` names (``project/activity`` or ``project/activity@version``), or
    the only one loaded. Raises :class:`click.UsageError` (exit 2) when that is ambiguous or absent."""
    available = ", ".join(blueprint_label(b) for b in blueprints) or "none"
    if wanted is None:
        if len(blueprints) == 1:
            return blueprints[0]
        if not blueprints:
            raise click.UsageError("the paths hold no blueprint")
        raise click.UsageError(f"the paths hold {len(blueprints)} blueprints ({available}); "
                               "choose one with --blueprint PROJECT/ACTIVITY[@VERSION]")
    name, _, version = wanted.partition("@")
    matches = [b for b in blueprints if b.name == name and (not version or str(b.version) == version)]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        raise click.UsageError(f"no blueprint {wanted!r} in the paths (found: {available})")
    raise click.UsageError(f"{wanted!r} matches {len(matches)} versions "
                           f"({', '.join(blueprint_label(b) for b in matches)}); add @VERSION")
