"""Rules about the shape of a flow's graph: continue cycles, reachability, paths to ``done``,
unused actions and workers, unhandled errors.

A ``continue-cycle`` is an error; the others are warnings, given only once the flow has no error
(on a broken graph they would mostly repeat the errors): :func:`goflow.validation.check_blueprint`
decides.
"""
from __future__ import annotations

from ..model import CONTINUE, DONE, ERROR as ERROR_EVENT, INIT, START
from ..problems import ERROR, WARNING, Problem
from .fields import Document, Item

__all__ = ["continue_cycles", "unused_workers", "graph_warnings"]


def continue_cycles(flow: Document, out: list[Problem]) -> None:
    """A chain of delay-less ``continue`` transitions on ``start`` that returns to where it began.

    Entering a state by a change of state inserts ``start`` there; a ``continue`` transition on
    ``start`` into another state does it again, so such a cycle never waits for anything.
    """
    step: dict[str, tuple[str, Item]] = {}
    for item in flow.transitions:
        f = item.fields
        if (item.complete and f["event"] == START and f.get("action") == CONTINUE and not f.get("delay")
                and f["next"] != f["current"] and f["current"] not in step):
            step[f["current"]] = (f["next"], item)
    reported: set[str] = set()
    for begin in step:
        path, state = [], begin
        while state in step and state not in path and state not in reported:
            path.append(state)
            state = step[state][0]
        if state in path:
            cycle = path[path.index(state):]
            reported.update(cycle)
            item = min((step[s][1] for s in cycle), key=lambda i: int(i.ptr.rsplit("/", 1)[1]))
            loop = " -> ".join(cycle + [cycle[0]])
            out.append(flow.src.problem(ERROR, "continue-cycle", f"the continue transitions on 'start' "
                                        f"{loop} loop forever: each enters the next state and starts it at "
                                        f"once, with no worker, timer or outside event in between; give one "
                                        f"of them a worker action or a delay", item.ptr))
        reported.update(path)


def unused_workers(flow: Document, workers: list[Item], out: list[Problem]) -> None:
    """A worker that nothing calls: neither an action nor a terminal state (the completion hook)."""
    actions = {a.get("name") for a in flow.actions}
    states = {s.get("name") for s in flow.states} | {INIT, DONE}
    for w in workers:
        name = w.get("name")
        if name is None or name in actions or name == DONE or name in flow.end:
            continue
        why = ("it is neither an action nor a state" if name not in states else
               f"{name!r} is a state but not an action nor a terminal state, so nothing calls it")
        out.append(w.src.problem(WARNING, "unused-worker", f"the worker {name!r} is never called: {why}; "
                                 f"rename it after the action it serves or remove it", w.at("name")))


def graph_warnings(flow: Document, out: list[Problem]) -> None:
    """Unreachable states, states with no path to ``done``, unused actions, unhandled errors."""
    actions = {a.get("name") for a in flow.actions}
    src = flow.src
    ptr_of = {s.get("name"): s.ptr for s in flow.states}
    order = [INIT] + [s.get("name") for s in flow.states if s.get("name") not in (INIT, DONE)]
    succ: dict[str, set[str]] = {}
    pred: dict[str, set[str]] = {DONE: set(flow.end)}   # reaching an end state is finishing
    transitions = [t for t in flow.transitions if not t.get("postpone")]
    for t in transitions:
        succ.setdefault(t.get("current"), set()).add(t.get("next"))
        pred.setdefault(t.get("next"), set()).add(t.get("current"))

    def closure(start: str, edges: dict[str, set[str]]) -> set[str]:
        seen, todo = {start}, [start]
        while todo:
            for n in edges.get(todo.pop(), ()):
                if n not in seen:
                    seen.add(n)
                    todo.append(n)
        return seen

    reachable, finishing = closure(INIT, succ), closure(DONE, pred)
    for name in dict.fromkeys(order):
        at = ptr_of.get(name, "/transitions")
        if name not in reachable:
            out.append(src.problem(WARNING, "unreachable-state", f"the state {name!r} is unreachable: no "
                                   f"chain of transitions from 'init' leads to it; add a transition into it "
                                   f"or remove it", at))
        if name not in finishing:
            out.append(src.problem(WARNING, "no-path-to-done", f"the state {name!r} has no path to 'done' "
                                   f"or an end state: an instance that enters it can never complete; add a "
                                   f"transition out of it that leads to 'done'", at))
    for name in flow.end:
        if name not in reachable:
            out.append(src.problem(WARNING, "unreachable-state", f"the end state {name!r} is unreachable: no "
                                   f"chain of transitions from 'init' leads to it; add a transition into it "
                                   f"or remove it", "/end/" + name.replace("~", "~0").replace("/", "~1")))
    used = {t.get("action") for t in transitions}
    for a in flow.actions:
        if a.get("name") not in used and a.get("name") != CONTINUE:
            out.append(src.problem(WARNING, "unused-action", f"the action {a.get('name')!r} is never "
                                   f"invoked: no transition runs it; use it in a transition or remove it",
                                   a.ptr))
    handles = {(t.get("current"), t.get("event")) for t in transitions}
    warned: set[str] = set()
    for t in transitions:
        n, action = t.get("next"), t.get("action")
        if action in actions and n != DONE and n not in flow.end and n not in warned and (n, ERROR_EVENT) not in handles:
            warned.add(n)
            out.append(src.problem(WARNING, "unhandled-error", f"the state {n!r} handles no 'error' event, "
                                   f"yet the worker action {action!r} ({t.ptr}) delivers its outcome there: "
                                   f"when its workers fail the instance fails; add a transition from {n!r} "
                                   f"on 'error'", ptr_of.get(n, t.ptr)))
