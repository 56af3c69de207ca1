"""Rules within a blueprint: names, types, values and references of its flow and its workers.

These are errors about what the fields say, item by item and between items (a reserved or
repeated name, a reference to an undeclared state or action, a value out of range, an action
without a worker); the rules about the shape of the FSM's graph are in :mod:`.graph`.
"""
from __future__ import annotations

import difflib

from ..ids import problem as id_problem
from ..model import ASYNC, BACKOFFS, CONTINUE, DONE, END_STATUSES, INIT, METHODS, START, SYNC, WORKFLOW
from ..problems import ERROR, Problem
from .fields import Document, Item

__all__ = ["flow_rules", "worker_rules", "missing_workers", "MAX_RETRY_COUNT", "MAX_RESPONSE_TIMEOUT"]

#: Upper bounds of a worker's ``retryCount`` and ``responseTimeout`` (seconds): a blueprint is
#: untrusted (SPEC §7), and each attempt holds one of the proxy's ``concurrency`` slots.
MAX_RETRY_COUNT = 100
MAX_RESPONSE_TIMEOUT = 3600.0


def _suggest(name: str, known: list[str]) -> str:
    close = difflib.get_close_matches(name, known, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def flow_rules(flow: Document, out: list[Problem]) -> None:
    """Names, types and references within the flow: states, actions and transitions."""
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
        if kind is not None and kind not in (SYNC, ASYNC, WORKFLOW):
            out.append(src.problem(ERROR, "action-type", f"the action {name or '?'!r} has type {kind!r}; the "
                                   f"type is 'sync' (the worker's answer is the outcome), 'async' (the "
                                   f"worker accepts the call and the outcome arrives later as an event) or "
                                   f"'workflow' (it starts child instances of another blueprint)",
                                   item.at("type")))
        _workflow_rules(item, out)
        if timeout is not None and kind == ASYNC and timeout <= 0:
            out.append(src.problem(ERROR, "action-timeout", f"the async action {name!r} has timeout "
                                   f"{timeout:g}; it must be a positive number of seconds (or left out to "
                                   f"wait without a bound)", item.at("timeout")))
        elif timeout is not None and kind in (SYNC, WORKFLOW):
            out.append(src.problem(ERROR, "action-timeout", f"the {kind} action {name!r} has a timeout, which "
                                   f"only async actions take (a sync call is bounded by its workers' "
                                   f"responseTimeout); remove it or make the action async",
                                   item.at("timeout")))
    ends = _end_rules(flow, {i.get("name") for i in flow.states}, out)
    states = [INIT, DONE] + [i.get("name") for i in flow.states] + list(ends)
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
        elif cur in ends:
            out.append(src.problem(ERROR, "transition-from-end", f"a transition leaves the end state {cur!r}, "
                                   f"but an instance there has ended ({ends[cur]}); remove this transition",
                                   item.at("current")))
        if item.get("postpone"):
            for key in ("action", "next", "delay"):
                if item.get(key) is not None:
                    out.append(src.problem(ERROR, "postpone-fires", f"this transition postpones {event!r} in "
                                           f"{cur!r}: it keeps the event and never fires, so its {key!r} would "
                                           f"never apply; remove {key!r}, or remove \"postpone\" to take the "
                                           f"event", item.at(key)))
        if cur is not None and event is not None:
            if (cur, event) in first:
                out.append(src.problem(ERROR, "duplicate-transition", f"state {cur!r} has two transitions "
                                       f"on event {event!r} ({first[cur, event]} and {item.ptr}); an event "
                                       f"picks one transition: remove or change one", item.ptr))
            else:
                first[cur, event] = item.ptr
    if flow.complete.get("transitions", True):
        _postpone_rules(flow, out)
    if flow.complete.get("transitions", True) and (INIT, START) not in first:
        out.append(src.problem(ERROR, "no-start", "no transition leaves 'init' on the event 'start', so an "
                               "instance can never start; add one with current 'init' and event 'start'",
                               "/transitions"))


_WORKFLOW_FIELDS = ("blueprint", "version", "input", "forEach")


def _workflow_rules(item: Item, out: list[Problem]) -> None:
    """A workflow action names its child blueprint as ``project/activity``; the child fields belong
    to workflow actions only."""
    src, name, kind = item.src, item.get("name"), item.get("type")
    if kind != WORKFLOW:
        for key in _WORKFLOW_FIELDS:
            if item.get(key) is not None and kind in (SYNC, ASYNC):
                out.append(src.problem(ERROR, "workflow-action", f"the {kind} action {name!r} has {key!r}, "
                                       f"which only a 'workflow' action takes; remove it or make the action "
                                       f"a workflow", item.at(key)))
        return
    bp = item.get("blueprint")
    if bp is None:
        if "blueprint" not in item.fields and item.complete:
            out.append(src.problem(ERROR, "workflow-action", f"the workflow action {name!r} names no "
                                   f"'blueprint'; add \"blueprint\": \"project/activity\" (the flow its "
                                   f"children run)", item.ptr))
        return
    project, slash, activity = bp.partition("/")
    why = ("it is not of the form 'project/activity'" if not slash else
           f"its project {id_problem(project)}" if id_problem(project) else
           f"its activity {id_problem(activity)}" if id_problem(activity) else None)
    if why:
        out.append(src.problem(ERROR, "workflow-action", f"the workflow action {name!r} names the blueprint "
                               f"{bp!r}: {why}", item.at("blueprint")))
    version = item.get("version")
    if version is not None and version < 1:
        out.append(src.problem(ERROR, "workflow-action", f"the workflow action {name!r} asks version "
                               f"{version} of {bp!r}; versions start at 1 (leave it out for the latest)",
                               item.at("version")))


def _end_rules(flow: Document, states: set, out: list[Problem]) -> dict[str, str]:
    """The ``end`` map: names that are not reserved nor also in ``states``, statuses that exist."""
    ends: dict[str, str] = {}
    for name, status in flow.end.items():
        at = "/end/" + name.replace("~", "~0").replace("/", "~1")
        if name in (INIT, DONE):
            out.append(flow.src.problem(ERROR, "reserved-state", f"{name!r} cannot be an end state: "
                                        f"{'done is always the end state of status completed' if name == DONE else 'init is where every instance begins'}",
                                        at, key=True))
            continue
        if name in states:
            out.append(flow.src.problem(ERROR, "end-in-states", f"the end state {name!r} is also listed in "
                                        f"'states'; an end state is declared in 'end' only: remove it from "
                                        f"'states'", at, key=True))
        if status not in END_STATUSES:
            out.append(flow.src.problem(ERROR, "end-status", f"the end state {name!r} has status {status!r}; "
                                        f"an end state ends the instance {' or '.join(END_STATUSES)}", at))
        ends[name] = status
    return ends


def _postpone_rules(flow: Document, out: list[Problem]) -> None:
    """Postponed events must be events some transition takes: else they wait for ever (and are
    dropped at the end)."""
    taken = {t.get("event") for t in flow.transitions if not t.get("postpone")}
    for n, event in enumerate(flow.postpone):
        if event not in taken:
            out.append(flow.src.problem(ERROR, "unknown-postponed", f"the postponed event {event!r} is taken "
                                        f"by no transition{_suggest(event, sorted(e for e in taken if e))}; "
                                        f"it would be kept until the instance ends; fix the name or remove it",
                                        f"/postpone/{n}"))
    for t in flow.transitions:
        event = t.get("event")
        if t.get("postpone") and event is not None and event not in taken:
            out.append(flow.src.problem(ERROR, "unknown-postponed", f"this transition postpones {event!r}, "
                                        f"which no transition takes{_suggest(event, sorted(e for e in taken if e))}; "
                                        f"it would be kept until the instance ends; fix the name or remove it",
                                        t.at("event")))


def worker_rules(workers: list[Item], out: list[Problem]) -> None:
    """The values of each worker's fields and the order of the workers of one name."""
    seen: dict[tuple[str, int], str] = {}
    for w in workers:
        src, f = w.src, w.fields
        if f.get("retryCount") is not None and not 0 <= f["retryCount"] <= MAX_RETRY_COUNT:
            out.append(src.problem(ERROR, "retry-count", f"retryCount is {f['retryCount']}; it counts the "
                                   f"retries after the first attempt and must be 0 to {MAX_RETRY_COUNT}",
                                   w.at("retryCount")))
        if f.get("responseTimeout") is not None and not 0 < f["responseTimeout"] <= MAX_RESPONSE_TIMEOUT:
            out.append(src.problem(ERROR, "response-timeout", f"responseTimeout is {f['responseTimeout']:g}; "
                                   f"it bounds each attempt and must be a positive number of seconds, at "
                                   f"most {MAX_RESPONSE_TIMEOUT:g}", w.at("responseTimeout")))
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


def missing_workers(flow: Document, workers: list[Item], workers_complete: bool,
                    out: list[Problem]) -> None:
    """Every sync/async action has a worker (checked when no worker was dropped as malformed)."""
    names = {w.get("name") for w in workers}
    if workers_complete:
        for a in flow.actions:
            if (a.get("name") not in names and a.get("type") in (SYNC, ASYNC)
                    and a.get("name") not in (None, CONTINUE, DONE)):
                out.append(flow.src.problem(ERROR, "missing-worker", f"the {a.get('type')} action "
                                            f"{a.get('name')!r} has no worker; add a worker named "
                                            f"{a.get('name')!r} with its workerEndpoint", a.ptr))
