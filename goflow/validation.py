"""Blueprint validation: every problem at once, each with its file, JSON pointer and line:column.

:func:`read_document` checks one parsed document's fields (missing, mistyped, unknown) and keeps
what is usable; :func:`check_blueprint` applies the rules between the parts of one blueprint (a flow
and its workers) and :func:`build_blueprint` turns a blueprint without errors into the model.
Every rule id and its level is in :data:`RULES`; docs/blueprints.md explains each.
"""
from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from typing import Any

from ._sourcemap import Source, pointer
from .model import (ASYNC, CONTINUE, DONE, ERROR as ERROR_EVENT, INIT, START, SYNC, Action, Blueprint,
                    Transition, Worker)
from .problems import ERROR, WARNING, Problem

__all__ = ["RULES", "Item", "Document", "read_document", "check_blueprint", "build_blueprint",
           "apply_strict"]

log = logging.getLogger("goflow.loading")

RULES: dict[str, str] = {
    # reading documents
    "syntax": ERROR, "too-large": ERROR, "too-deep": ERROR, "unreadable": ERROR,
    "duplicate-key": ERROR, "not-a-blueprint": ERROR, "missing-field": ERROR, "wrong-type": ERROR,
    "unknown-field": ERROR, "bad-value": ERROR,
    # putting documents together
    "no-blueprint": ERROR, "not-one-blueprint": ERROR, "project-mismatch": ERROR,
    "unpaired-workers": ERROR, "duplicate-blueprint": ERROR, "duplicate-workers": ERROR,
    # the flow
    "reserved-state": ERROR, "duplicate-state": ERROR, "duplicate-action": ERROR,
    "reserved-action": ERROR, "action-type": ERROR, "action-timeout": ERROR, "negative-delay": ERROR,
    "unknown-state": ERROR, "unknown-action": ERROR, "duplicate-transition": ERROR,
    "transition-from-done": ERROR, "no-start": ERROR, "continue-cycle": ERROR,
    # the workers
    "missing-worker": ERROR, "duplicate-priority": ERROR, "retry-count": ERROR,
    "response-timeout": ERROR,
    # warnings
    "unreachable-state": WARNING, "no-path-to-done": WARNING, "unused-action": WARNING,
    "unhandled-error": WARNING, "unused-worker": WARNING,
}

BACKOFFS = ("fixed", "exponential")
METHODS = ("POST", "PUT", "PATCH", "GET", "DELETE")

# field -> (kind, required); kinds: name (non-empty string), int, number, headers, list
_HEADER = {"project": ("name", True), "activity": ("name", True), "version": ("int", False),
           "$schema": ("str", False)}
_FLOW = {**_HEADER, "states": ("list", True), "actions": ("list", True), "transitions": ("list", True),
         "workers": ("list", False)}
_WORKERS = {**_HEADER, "workers": ("list", True)}
_ACTION = {"name": ("name", True), "type": ("name", True), "timeout": ("number", False)}
_TRANSITION = {"current": ("name", True), "event": ("name", True), "action": ("name", True),
               "next": ("name", True), "delay": ("number", False)}
_WORKER = {"name": ("name", True), "workerEndpoint": ("name", True), "retryCount": ("int", True),
           "responseTimeout": ("number", True), "priority": ("int", True),
           "retryDelay": ("number", False), "backoff": ("name", False),
           "maxRetryDelay": ("number", False), "jitter": ("number", False), "method": ("name", False),
           "headers": ("headers", False)}
_KINDS = {"name": "a non-empty string", "str": "a string", "int": "an integer", "number": "a number",
          "headers": "an object of string values", "list": "a list"}


@dataclass
class Item:
    """One object of a list (an action, a transition, a worker) with its usable fields."""

    src: Source
    ptr: str
    fields: dict[str, Any]
    complete: bool = True      # every required field is present and well typed

    def get(self, key: str) -> Any:
        return self.fields.get(key)

    def at(self, key: str = "") -> str:
        return pointer(self.ptr, key) if key else self.ptr


@dataclass
class Document:
    """A flow, a workers document, or a combined one, read field by field."""

    src: Source
    kind: str                                  # "flow" | "workers" | "invalid" (not a blueprint)
    project: str | None = None
    activity: str | None = None
    version: int | None = 1
    version_given: bool = False
    header_ok: bool = True
    states: list[Item] = field(default_factory=list)
    actions: list[Item] = field(default_factory=list)
    transitions: list[Item] = field(default_factory=list)
    workers: list[Item] | None = None          # None: this flow has no ``workers`` list
    complete: dict[str, bool] = field(default_factory=dict)   # per list: nothing was dropped
    problems: list[Problem] = field(default_factory=list)

    @property
    def key(self) -> tuple[str, str, int] | None:
        return (self.project, self.activity, self.version) if self.header_ok else None

    @property
    def name(self) -> str:
        return f"{self.project}/{self.activity} version {self.version}"


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (int, float)):
        return f"the number {value!r}"
    return "a list" if isinstance(value, list) else "an object" if isinstance(value, dict) else "a value"


def _typed(kind: str, value: Any) -> bool:
    if kind in ("name", "str"):
        return isinstance(value, str) and (kind == "str" or value.strip() != "")
    if kind == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if kind == "headers":
        return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())
    return isinstance(value, list)


def _fields(src: Source, obj: Any, ptr: str, spec: dict, what: str,
            out: list[Problem]) -> tuple[dict[str, Any], bool]:
    """The well-typed fields of ``obj`` (per ``spec``) and whether every required one is there."""
    if not isinstance(obj, dict):
        out.append(src.problem(ERROR, "wrong-type", f"the {what} must be an object (a mapping of "
                                                    f"fields) but is {_describe(obj)}", ptr))
        return {}, False
    values: dict[str, Any] = {}
    complete = True
    for key, (kind, required) in spec.items():
        if key not in obj:
            if required:
                complete = False
                out.append(src.problem(ERROR, "missing-field", f"the {what} has no {key!r} field; add "
                                                               f"it ({_KINDS[kind]})", pointer(ptr, key)))
            continue
        value = obj[key]
        if not _typed(kind, value):
            complete = complete and not required
            hint = " (quote it)" if kind == "name" and isinstance(value, (bool, int, float)) else ""
            out.append(src.problem(ERROR, "wrong-type", f"{key!r} of the {what} must be {_KINDS[kind]} but "
                                   f"is {_describe(value)}{hint}", pointer(ptr, key)))
            continue
        values[key] = float(value) if kind == "number" else value
    for key in obj:
        if key not in spec:
            close = difflib.get_close_matches(key, list(spec), n=1)
            hint = f"did you mean {close[0]!r}?" if close else "known fields: " + ", ".join(spec)
            out.append(src.problem(ERROR, "unknown-field", f"the {what} has an unknown field {key!r}: "
                                                           f"{hint}", pointer(ptr, key), key=True))
    return values, complete


def _items(doc: Document, data: dict, key: str, spec: dict, what: str) -> list[Item]:
    items = []
    for n, obj in enumerate(data.get(key) or []):
        ptr = pointer(pointer("", key), n)
        values, complete = _fields(doc.src, obj, ptr, spec, what, doc.problems)
        items.append(Item(doc.src, ptr, values, complete))
        doc.complete[key] = doc.complete.get(key, True) and complete
    return items


def read_document(src: Source) -> Document:
    """Read one parsed document (of kind ``invalid``, with the problem, when it is no blueprint)."""
    data = src.data
    if not isinstance(data, dict):
        doc = Document(src, "invalid", header_ok=False)
        doc.problems.append(src.problem(ERROR, "wrong-type", "a blueprint document must be an object (a "
                                        f"mapping of fields) but is {_describe(data)}"))
        return doc
    if not ({"states", "actions", "transitions"} & data.keys()):
        if "workers" not in data:
            doc = Document(src, "invalid", header_ok=False)
            doc.problems.append(src.problem(ERROR, "not-a-blueprint", "this document is not a blueprint: "
                                            "a flow has 'states', 'actions' and 'transitions', a workers "
                                            "document has 'workers'"))
            return doc
        doc = Document(src, "workers")
        top, _ = _fields(src, data, "", _WORKERS, "workers document", doc.problems)
    else:
        doc = Document(src, "flow")
        top, _ = _fields(src, data, "", _FLOW, "flow document", doc.problems)
    spec = _FLOW if doc.kind == "flow" else _WORKERS
    for key in ("states", "actions", "transitions", "workers"):
        doc.complete[key] = key in top or (key not in data and not spec.get(key, ("", False))[1])
    doc.project, doc.activity = top.get("project"), top.get("activity")
    doc.version_given = "version" in top
    doc.version = top.get("version", 1) if ("version" in top or "version" not in data) else None
    if doc.version is not None and doc.version < 1:
        doc.problems.append(src.problem(ERROR, "bad-value", f"the version must be 1 or more, not "
                                                            f"{doc.version}", "/version"))
        doc.version = None
    doc.header_ok = None not in (doc.project, doc.activity, doc.version)
    if doc.kind == "flow":
        for n, name in enumerate(top.get("states") or []):
            ptr = pointer("/states", n)
            if _typed("name", name):
                doc.states.append(Item(src, ptr, {"name": name}))
            else:
                doc.complete["states"] = False
                doc.problems.append(src.problem(ERROR, "wrong-type", f"a state must be a non-empty string "
                                                f"(its name) but is {_describe(name)}", ptr))
        doc.actions = _items(doc, top, "actions", _ACTION, "action")
        doc.transitions = _items(doc, top, "transitions", _TRANSITION, "transition")
    if "workers" in top:
        doc.workers = _items(doc, top, "workers", _WORKER, "worker")
    elif "workers" in data:
        doc.workers = []
    log.debug("read %s document %s from %s", doc.kind, doc.name, src.file)
    return doc


# --------------------------------------------------------------------------------------------- rules
def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _flow_rules(flow: Document, out: list[Problem]) -> None:
    src = flow.src
    seen: dict[str, str] = {}
    for item in flow.states:
        name = item.get("name")
        if name in (INIT, DONE):
            out.append(src.problem(ERROR, "reserved-state", f"{name!r} is a reserved state that every flow "
                                   f"has; do not list it in 'states'", item.ptr))
        elif name in seen:
            out.append(src.problem(ERROR, "duplicate-state", f"the state {name!r} is listed twice (first at "
                                   f"{seen[name]}); remove one", item.ptr))
        else:
            seen[name] = item.ptr
    seen = {}
    for item in flow.actions:
        name, kind, timeout = item.get("name"), item.get("type"), item.get("timeout")
        if name in (CONTINUE, DONE):
            why = ("a worker named 'done' is the completion hook" if name == DONE
                   else "'continue' is the reserved action that moves at once, without a worker")
            out.append(src.problem(ERROR, "reserved-action", f"an action cannot be named {name!r}: {why}; "
                                   f"rename it", item.at("name")))
        elif name is not None and name in seen:
            out.append(src.problem(ERROR, "duplicate-action", f"the action {name!r} is declared twice (first "
                                   f"at {seen[name]}); remove one", item.at("name")))
        elif name is not None:
            seen[name] = item.ptr
        if kind is not None and kind not in (SYNC, ASYNC):
            out.append(src.problem(ERROR, "action-type", f"the action {name or '?'!r} has type {kind!r}; the "
                                   f"type is 'sync' (the worker's answer is the outcome) or 'async' (the "
                                   f"worker accepts the call and the outcome arrives later as an event)",
                                   item.at("type")))
        if timeout is not None and kind == ASYNC and timeout <= 0:
            out.append(src.problem(ERROR, "action-timeout", f"the async action {name!r} has timeout "
                                   f"{timeout:g}; it must be a positive number of seconds (or left out to "
                                   f"wait without a bound)", item.at("timeout")))
        elif timeout is not None and kind == SYNC:
            out.append(src.problem(ERROR, "action-timeout", f"the sync action {name!r} has a timeout, which "
                                   f"only async actions take (a sync call is bounded by its workers' "
                                   f"responseTimeout); remove it or make the action async",
                                   item.at("timeout")))
    states = [INIT, DONE] + [i.get("name") for i in flow.states]
    actions = [CONTINUE] + [i.get("name") for i in flow.actions if i.get("name")]
    first: dict[tuple[str, str], str] = {}
    for item in flow.transitions:
        cur, event, action = item.get("current"), item.get("event"), item.get("action")
        delay = item.get("delay")
        if delay is not None and delay < 0:
            out.append(src.problem(ERROR, "negative-delay", f"the delay {delay:g} is negative; a delay is a "
                                   f"number of seconds, 0 or more", item.at("delay")))
        if flow.complete.get("states", True):
            for key in ("current", "next"):
                name = item.get(key)
                if name is not None and name not in states:
                    out.append(src.problem(ERROR, "unknown-state", f"the {key} state {name!r} is not declared"
                                           f"{_suggest(name, states)}; add it to 'states' or use 'init' or "
                                           f"'done'", item.at(key)))
        if action is not None and flow.complete.get("actions", True) and action not in actions:
            out.append(src.problem(ERROR, "unknown-action", f"the action {action!r} is not declared"
                                   f"{_suggest(action, actions)}; add it to 'actions' or use 'continue'",
                                   item.at("action")))
        if cur == DONE:
            out.append(src.problem(ERROR, "transition-from-done", "a transition leaves 'done', but 'done' is "
                                   "terminal: an instance there is completed; remove this transition",
                                   item.at("current")))
        if cur is not None and event is not None:
            if (cur, event) in first:
                out.append(src.problem(ERROR, "duplicate-transition", f"state {cur!r} has two transitions "
                                       f"on event {event!r} ({first[cur, event]} and {item.ptr}); an event "
                                       f"picks one transition: remove or change one", item.ptr))
            else:
                first[cur, event] = item.ptr
    if flow.complete.get("transitions", True) and (INIT, START) not in first:
        out.append(src.problem(ERROR, "no-start", "no transition leaves 'init' on the event 'start', so an "
                               "instance can never start; add one with current 'init' and event 'start'",
                               "/transitions"))
    _continue_cycles(flow, out)


def _continue_cycles(flow: Document, out: list[Problem]) -> None:
    """A chain of delay-less ``continue`` transitions on ``start`` that returns to where it began.

    Entering a state by a change of state inserts ``start`` there; a ``continue`` transition on
    ``start`` into another state does it again, so such a cycle never waits for anything.
    """
    step: dict[str, tuple[str, Item]] = {}
    for item in flow.transitions:
        f = item.fields
        if (item.complete and f["event"] == START and f["action"] == CONTINUE and not f.get("delay")
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


def _worker_rules(workers: list[Item], out: list[Problem]) -> None:
    seen: dict[tuple[str, int], str] = {}
    for w in workers:
        src, f = w.src, w.fields
        if f.get("retryCount") is not None and f["retryCount"] < 0:
            out.append(src.problem(ERROR, "retry-count", f"retryCount is {f['retryCount']}; it counts the "
                                   f"retries after the first attempt and must be 0 or more",
                                   w.at("retryCount")))
        if f.get("responseTimeout") is not None and f["responseTimeout"] <= 0:
            out.append(src.problem(ERROR, "response-timeout", f"responseTimeout is {f['responseTimeout']:g}; "
                                   f"it bounds each attempt and must be a positive number of seconds",
                                   w.at("responseTimeout")))
        if f.get("priority") is not None and f["priority"] < 1:
            out.append(src.problem(ERROR, "bad-value", f"priority is {f['priority']}; priorities start at 1 "
                                   f"(tried first)", w.at("priority")))
        for key in ("retryDelay", "maxRetryDelay"):
            if f.get(key) is not None and f[key] < 0:
                out.append(src.problem(ERROR, "bad-value", f"{key} is {f[key]:g}; it must be 0 or more "
                                       f"seconds", w.at(key)))
        if f.get("jitter") is not None and not 0 <= f["jitter"] <= 1:
            out.append(src.problem(ERROR, "bad-value", f"jitter is {f['jitter']:g}; it is a fraction of the "
                                   f"delay, from 0 to 1", w.at("jitter")))
        if f.get("backoff") is not None and f["backoff"] not in BACKOFFS:
            out.append(src.problem(ERROR, "bad-value", f"backoff is {f['backoff']!r}; it is 'fixed' or "
                                   f"'exponential'", w.at("backoff")))
        if f.get("method") is not None and f["method"] not in METHODS:
            out.append(src.problem(ERROR, "bad-value", f"method is {f['method']!r}; it is one of "
                                   f"{', '.join(METHODS)} (in capitals)", w.at("method")))
        name, prio = f.get("name"), f.get("priority")
        if name is not None and prio is not None:
            if (name, prio) in seen:
                out.append(src.problem(ERROR, "duplicate-priority", f"two workers of {name!r} have priority "
                                       f"{prio} ({seen[name, prio]} and {w.ptr}); give each endpoint its own "
                                       f"priority so the order they are tried in is defined",
                                       w.at("priority")))
            else:
                seen[name, prio] = w.ptr


def _between(flow: Document, workers: list[Item], workers_complete: bool, sound: bool,
             out: list[Problem]) -> None:
    names = {w.get("name") for w in workers}
    if workers_complete:
        for a in flow.actions:
            if (a.get("name") not in names and a.get("type") in (SYNC, ASYNC)
                    and a.get("name") not in (None, CONTINUE, DONE)):
                out.append(flow.src.problem(ERROR, "missing-worker", f"the {a.get('type')} action "
                                            f"{a.get('name')!r} has no worker; add a worker named "
                                            f"{a.get('name')!r} with its workerEndpoint", a.ptr))
    if not sound:
        log.debug("skipping the graph warnings of %s: its flow has errors", flow.name)
        return
    actions = {a.get("name") for a in flow.actions}
    states = {s.get("name") for s in flow.states} | {INIT, DONE}
    for w in workers:
        name = w.get("name")
        if name is None or name in actions or name == DONE:
            continue
        why = ("it is neither an action nor a state" if name not in states else
               f"{name!r} is a state but not an action nor a terminal state, so nothing calls it")
        out.append(w.src.problem(WARNING, "unused-worker", f"the worker {name!r} is never called: {why}; "
                                 f"rename it after the action it serves or remove it", w.at("name")))
    _graph_warnings(flow, actions, out)


def _graph_warnings(flow: Document, actions: set, out: list[Problem]) -> None:
    src = flow.src
    ptr_of = {s.get("name"): s.ptr for s in flow.states}
    order = [INIT] + [s.get("name") for s in flow.states if s.get("name") not in (INIT, DONE)]
    succ: dict[str, set[str]] = {}
    pred: dict[str, set[str]] = {}
    for t in flow.transitions:
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
            out.append(src.problem(WARNING, "no-path-to-done", f"the state {name!r} has no path to 'done': "
                                   f"an instance that enters it can never complete; add a transition out of "
                                   f"it that leads to 'done'", at))
    used = {t.get("action") for t in flow.transitions}
    for a in flow.actions:
        if a.get("name") not in used and a.get("name") != CONTINUE:
            out.append(src.problem(WARNING, "unused-action", f"the action {a.get('name')!r} is never "
                                   f"invoked: no transition runs it; use it in a transition or remove it",
                                   a.ptr))
    handles = {(t.get("current"), t.get("event")) for t in flow.transitions}
    warned: set[str] = set()
    for t in flow.transitions:
        n, action = t.get("next"), t.get("action")
        if action in actions and n != DONE and n not in warned and (n, ERROR_EVENT) not in handles:
            warned.add(n)
            out.append(src.problem(WARNING, "unhandled-error", f"the state {n!r} handles no 'error' event, "
                                   f"yet the worker action {action!r} ({t.ptr}) delivers its outcome there: "
                                   f"when its workers fail the instance fails; add a transition from {n!r} "
                                   f"on 'error'", ptr_of.get(n, t.ptr)))


def check_blueprint(flow: Document, workers: list[Item], workers_complete: bool = True) -> list[Problem]:
    """The problems between the parts of one blueprint (the documents' own problems not included)."""
    out: list[Problem] = []
    _flow_rules(flow, out)
    # Warnings about the shape of the graph are given once the flow itself has no error: on a broken
    # graph they would mostly repeat the errors.
    sound = all(flow.complete.get(k, True) for k in ("states", "actions", "transitions")) and not any(
        p.level == ERROR for p in flow.problems + out)
    _worker_rules(workers, out)
    _between(flow, workers, workers_complete, sound, out)
    return out


def build_blueprint(flow: Document, workers: list[Item], sources: tuple[str, ...] = ()) -> Blueprint:
    """The model of a blueprint whose documents and rules gave no error."""
    def worker(f: dict) -> Worker:
        extra = {k: f[m] for k, m in (("retry_delay", "retryDelay"), ("backoff", "backoff"),
                                       ("max_retry_delay", "maxRetryDelay"), ("jitter", "jitter"),
                                       ("method", "method")) if m in f}
        return Worker(name=f["name"], endpoint=f["workerEndpoint"], retry_count=f["retryCount"],
                      response_timeout=f["responseTimeout"], priority=f["priority"],
                      headers=tuple(f.get("headers", {}).items()), **extra)

    return Blueprint(
        project=flow.project, activity=flow.activity, version=flow.version,
        states=tuple(s.get("name") for s in flow.states),
        actions=tuple(Action(a.get("name"), a.get("type"), a.get("timeout")) for a in flow.actions),
        transitions=tuple(Transition(t.get("current"), t.get("event"), t.get("action"), t.get("next"),
                                     t.fields.get("delay", 0.0)) for t in flow.transitions),
        workers=tuple(worker(w.fields) for w in workers),
        source=sources,
    )


def apply_strict(problems: list[Problem]) -> list[Problem]:
    """``--strict``: every warning becomes an error (same rule, message and place)."""
    return [Problem(ERROR, p.rule, p.message, p.file, p.path, p.line, p.column) if p.level == WARNING else p
            for p in problems]
