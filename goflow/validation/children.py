"""Rules between blueprints (SPEC §8, child workflows), checked when blueprints are deployed.

A ``workflow`` action names another blueprint: it must be deployed already or in the same deploy
call (``unknown-child``), at the version it asks for when it asks one. A blueprint that reaches
itself through workflow actions, directly or through others (``child-recursion``), is refused unless
the operator opted in with ``limits.child_depth`` > 0; the runtime then bounds the depth of every
chain of children (a child deeper than that is an ``error`` outcome of its parent's step).

The graph is over blueprint *names* (``project/activity``): a child's version is chosen when it
starts (the latest deployed, unless the action pins one), so any version of a name may be the one
that runs.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from ..model import WORKFLOW, Blueprint
from ..problems import ERROR, Problem

__all__ = ["child_problems"]


def _file(bp: Blueprint) -> str:
    return bp.source[0] if bp.source else f"{bp.name} version {bp.version}"


def child_problems(new: Iterable[Blueprint], deployed: Mapping[tuple, Blueprint], child_depth: int = 0) -> list[Problem]:
    """The problems of deploying ``new`` next to ``deployed`` (key -> blueprint), every one at once."""
    new = list(new)
    every = {**deployed, **{bp.key: bp for bp in new}}
    names = {(p, a) for p, a, _ in every}
    out: list[Problem] = []
    for bp in new:
        for n, action in enumerate(bp.actions):
            if action.type != WORKFLOW or not action.blueprint:
                continue
            child = action.child
            if child not in names:
                out.append(Problem(ERROR, "unknown-child", f"the workflow action {action.name!r} of {bp.name} "
                                   f"starts {action.blueprint!r}, which is not deployed; deploy it first or "
                                   f"in the same call", _file(bp), f"/actions/{n}/blueprint"))
            elif action.version is not None and (*child, action.version) not in every:
                out.append(Problem(ERROR, "unknown-child", f"the workflow action {action.name!r} of {bp.name} "
                                   f"starts version {action.version} of {action.blueprint!r}, which is not "
                                   f"deployed (deployed: {', '.join(str(v) for p, a, v in sorted(every) if (p, a) == child)})",
                                   _file(bp), f"/actions/{n}/version"))
    if child_depth > 0:
        return out
    edges: dict[tuple, set] = {}
    for bp in every.values():
        edges.setdefault((bp.project, bp.activity), set()).update(
            a.child for a in bp.actions if a.type == WORKFLOW and a.blueprint)
    for bp in new:
        cycle = _cycle((bp.project, bp.activity), edges)
        if cycle:
            at = next(n for n, a in enumerate(bp.actions) if a.type == WORKFLOW and a.child == cycle[1])
            path = " -> ".join("/".join(c) for c in cycle)
            out.append(Problem(ERROR, "child-recursion", f"{bp.name} starts itself through workflow actions "
                               f"({path}); recursion is refused unless the operator sets limits.child_depth "
                               f"(the deepest chain of children allowed)", _file(bp), f"/actions/{at}/blueprint"))
    return out


def _cycle(start: tuple, edges: dict) -> list | None:
    """A path ``start -> ... -> start`` through ``edges``, or None (depth-first, iterative)."""
    stack = [(start, [start])]
    seen = set()
    while stack:
        node, path = stack.pop()
        for nxt in sorted(edges.get(node, ())):
            if nxt == start:
                return path + [start]
            if nxt not in seen:
                seen.add(nxt)
                stack.append((nxt, path + [nxt]))
    return None
