"""Blueprint validation: every problem at once, each with its file, JSON pointer and line:column.

One step per module:

* :mod:`.fields` — :func:`read_document` reads one parsed document field by field (missing,
  mistyped, unknown fields; the per-document checks) and keeps what is usable;
* :mod:`.rules` — the names, types, values and references of a blueprint's flow and workers;
* :mod:`.graph` — the shape of the flow's graph (continue cycles, reachability, paths to ``done``,
  unused actions and workers, unhandled errors).

:func:`check_blueprint` applies :mod:`.rules` and :mod:`.graph` to one blueprint (a flow and its
workers). The DSL's fields and their model names are in :mod:`goflow.dsl`. Every rule id and its
level is in :data:`RULES`; docs/blueprints.md explains each.
"""
from __future__ import annotations

import logging

from ..problems import ERROR, WARNING, Problem
from .fields import Document, Item, combined, read_document
from .graph import continue_cycles, graph_warnings, unused_workers
from .rules import flow_rules, missing_workers, worker_rules

__all__ = ["RULES", "Item", "Document", "read_document", "combined", "check_blueprint", "apply_strict"]

log = logging.getLogger("goflow.loading")

RULES: dict[str, str] = {
    # reading documents (_sourcemap, .fields)
    "syntax": ERROR, "too-large": ERROR, "too-deep": ERROR, "unreadable": ERROR,
    "duplicate-key": ERROR, "not-a-blueprint": ERROR, "missing-field": ERROR, "wrong-type": ERROR,
    "unknown-field": ERROR, "bad-value": ERROR, "bad-identifier": ERROR,
    # putting documents together (goflow.loading)
    "no-blueprint": ERROR, "not-one-blueprint": ERROR, "project-mismatch": ERROR,
    "unpaired-workers": ERROR, "duplicate-blueprint": ERROR, "duplicate-workers": ERROR,
    # the flow (.rules, and .graph for continue-cycle)
    "reserved-state": ERROR, "duplicate-state": ERROR, "duplicate-action": ERROR,
    "reserved-action": ERROR, "action-type": ERROR, "action-timeout": ERROR, "negative-delay": ERROR,
    "unknown-state": ERROR, "unknown-action": ERROR, "duplicate-transition": ERROR,
    "transition-from-done": ERROR, "no-start": ERROR, "continue-cycle": ERROR,
    # SPEC §8 (.rules): end states and postponed events
    "transition-from-end": ERROR, "end-in-states": ERROR, "end-status": ERROR, "postpone-fires": ERROR,
    "unknown-postponed": ERROR,
    # SPEC §8 child workflows: a workflow action's fields (.rules); between blueprints, at deploy (.children)
    "workflow-action": ERROR, "unknown-child": ERROR, "child-recursion": ERROR,
    # the workers (.rules)
    "missing-worker": ERROR, "duplicate-priority": ERROR, "retry-count": ERROR,
    "response-timeout": ERROR,
    # the engine's settings (goflow.transports.policy, applied at deploy)
    "endpoint-not-allowed": ERROR,
    # warnings (.graph)
    "unreachable-state": WARNING, "no-path-to-done": WARNING, "unused-action": WARNING,
    "unhandled-error": WARNING, "unused-worker": WARNING,
}


def check_blueprint(flow: Document, workers: list[Item], workers_complete: bool = True) -> list[Problem]:
    """The problems between the parts of one blueprint (the documents' own problems not included).

    ``workers_complete``: no worker was dropped as malformed (else ``missing-worker`` is not given).
    """
    out: list[Problem] = []
    flow_rules(flow, out)
    continue_cycles(flow, out)
    # Warnings about the shape of the graph are given once the flow itself has no error: on a broken
    # graph they would mostly repeat the errors.
    sound = all(flow.complete.get(k, True) for k in ("states", "actions", "transitions")) and not any(
        p.level == ERROR for p in flow.problems + out)
    worker_rules(workers, out)
    missing_workers(flow, workers, workers_complete, out)
    if sound:
        unused_workers(flow, workers, out)
        graph_warnings(flow, out)
    else:
        log.debug("skipping the graph warnings of %s: its flow has errors", flow.name)
    return out


def apply_strict(problems: list[Problem]) -> list[Problem]:
    """``--strict``: every warning becomes an error (same rule, message and place)."""
    return [Problem(ERROR, p.rule, p.message, p.file, p.path, p.line, p.column) if p.level == WARNING else p
            for p in problems]
