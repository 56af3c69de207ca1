"""``goflow validate`` and ``goflow graph``: commands about blueprint files."""
from __future__ import annotations

import click

from ._cli_common import (EXIT_FAILURE, blueprint_label, count_levels, echo_problems, plural,
                          problems_json, select_blueprint)
from .graph import FORMATS, render
from .problems import ERROR

__all__ = ["validate", "graph"]

_PATHS = click.argument(
    "paths", nargs=-1, required=True,
    type=click.Path(exists=True, dir_okay=True, file_okay=True, readable=True))


def _load(paths, strict: bool):
    from .loading import load_paths  # imported here so the CLI frame imports without it
    return load_paths(list(paths), strict=strict)


@click.command()
@_PATHS
@click.option("--strict", is_flag=True, help="Treat warnings as errors.")
@click.option("--json", "as_json", is_flag=True,
              help="Print the problems as a JSON list (level, file, path, line, column, message, "
                   "rule) and nothing else.")
def validate(paths, strict: bool, as_json: bool) -> None:
    """Load the blueprint files or directories PATHS and report every problem.

    Exit 0 when every blueprint loads, 1 when one does not (any error; with --strict, any warning
    too), 2 for a usage error.
    """
    result = _load(paths, strict)
    problems = list(result.problems)
    errors, warnings = count_levels(problems)
    failed = (not result.ok) or errors > 0 or (strict and warnings > 0) or not result.blueprints
    if as_json:
        click.echo(problems_json(problems))
    else:
        echo_problems(problems)
        counts = f"{plural(errors, 'error')}, {plural(warnings, 'warning')}"
        loaded = ", ".join(blueprint_label(b) for b in result.blueprints)
        if not failed:
            click.echo(f"ok: {counts}; loaded {loaded}")
        else:
            why = ""
            if strict:
                why = " (--strict: warnings count as errors)"
            elif not result.blueprints and not problems:
                why = " (no blueprint found)"
            click.echo(f"failed: {counts}{why}; "
                       + (f"loaded {loaded}" if loaded else "no blueprint loaded"))
    if failed:
        raise SystemExit(EXIT_FAILURE)


@click.command()
@_PATHS
@click.option("--format", "-f", "fmt", type=click.Choice(FORMATS), default="mermaid",
              show_default=True, help="Mermaid stateDiagram-v2 or Graphviz DOT.")
@click.option("--blueprint", "-b", "wanted", metavar="PROJECT/ACTIVITY[@VERSION]",
              help="Which blueprint to draw when PATHS hold several.")
def graph(paths, fmt: str, wanted: str | None) -> None:
    """Print the state machine of the blueprint in PATHS (Mermaid or Graphviz DOT).

    Draws one blueprint: when PATHS hold several, choose one with --blueprint. A blueprint that
    does not load prints its problems to stderr and exits 1. Warnings go to stderr; stdout holds
    only the drawing, ready for `dot -Tsvg` or a Markdown ```mermaid block.
    """
    result = _load(paths, False)
    problems = list(result.problems)
    errors, _ = count_levels(problems)
    if not result.ok or errors:
        echo_problems([p for p in problems if p.level == ERROR] or problems, err=True)
        click.echo(f"failed: {plural(errors, 'error')}; nothing to draw", err=True)
        raise SystemExit(EXIT_FAILURE)
    bp = select_blueprint(result.blueprints, wanted)
    echo_problems(problems, err=True)
    click.echo(render(bp, fmt), nl=False)
