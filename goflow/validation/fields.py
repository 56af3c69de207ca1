"""Field checks: one parsed document read field by field (missing, mistyped and unknown fields).

:func:`read_document` gives a :class:`Document` that keeps every usable field, with the problems of
the document on its own; the rules between its parts are in :mod:`.rules` and :mod:`.graph`. The
fields, their kinds and which are required come from the DSL tables of :mod:`goflow.dsl`.
"""
from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field
from typing import Any

from .. import dsl, ids
from .._sourcemap import Source, pointer
from ..dsl import KINDS, Field
from ..problems import ERROR, Problem

__all__ = ["Item", "Document", "read_document", "combined"]

log = logging.getLogger("goflow.loading")


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
    postpone: list[str] = field(default_factory=list)   # events postponed wherever not takeable now
    end: dict[str, str] = field(default_factory=dict)   # end state -> status
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
    if kind == "bool":
        return isinstance(value, bool)
    if kind == "names":
        return isinstance(value, list) and all(_typed("name", v) for v in value)
    if kind == "ends":
        return isinstance(value, dict) and all(_typed("name", k) and isinstance(v, str) for k, v in value.items())
    return isinstance(value, list)


def _fields(src: Source, obj: Any, ptr: str, spec: tuple[Field, ...], what: str,
            out: list[Problem]) -> tuple[dict[str, Any], bool]:
    """The well-typed fields of ``obj`` (per ``spec``) and whether every required one is there."""
    if not isinstance(obj, dict):
        out.append(src.problem(ERROR, "wrong-type", f"the {what} must be an object (a mapping of "
                                                    f"fields) but is {_describe(obj)}", ptr))
        return {}, False
    values: dict[str, Any] = {}
    complete = True
    for key, kind, required in ((f.key, f.kind, f.required) for f in spec):
        if key not in obj:
            if required:
                complete = False
                out.append(src.problem(ERROR, "missing-field", f"the {what} has no {key!r} field; add "
                                                               f"it ({KINDS[kind]})", pointer(ptr, key)))
            continue
        value = obj[key]
        if not _typed(kind, value):
            complete = complete and not required
            hint = " (quote it)" if kind == "name" and isinstance(value, (bool, int, float)) else ""
            out.append(src.problem(ERROR, "wrong-type", f"{key!r} of the {what} must be {KINDS[kind]} but "
                                   f"is {_describe(value)}{hint}", pointer(ptr, key)))
            continue
        values[key] = float(value) if kind == "number" else value
    known = [f.key for f in spec]
    for key in obj:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else "known fields: " + ", ".join(known)
            out.append(src.problem(ERROR, "unknown-field", f"the {what} has an unknown field {key!r}: "
                                                           f"{hint}", pointer(ptr, key), key=True))
    return values, complete


def _has(data: Any, ptr: str, key: str) -> bool | None:
    """Whether the object at JSON pointer ``ptr`` (``/transitions/3``) of ``data`` has ``key``
    (None: there is no object there)."""
    obj = data
    for part in ptr.strip("/").split("/"):
        obj = obj[int(part)] if isinstance(obj, list) else obj.get(part) if isinstance(obj, dict) else None
    return key in obj if isinstance(obj, dict) else None


def _items(doc: Document, data: dict, key: str, spec: tuple[Field, ...], what: str) -> list[Item]:
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
        top, _ = _fields(src, data, "", dsl.WORKERS, "workers document", doc.problems)
    else:
        doc = Document(src, "flow")
        top, _ = _fields(src, data, "", dsl.FLOW, "flow document", doc.problems)
    required = {f.key for f in (dsl.FLOW if doc.kind == "flow" else dsl.WORKERS) if f.required}
    for key in ("states", "actions", "transitions", "workers"):
        doc.complete[key] = key in top or (key not in data and key not in required)
    doc.project, doc.activity = top.get("project"), top.get("activity")
    for key in ("project", "activity"):     # blueprint names are identifiers (SPEC §12), as every interface checks
        why = ids.problem(getattr(doc, key)) if getattr(doc, key) is not None else None
        if why is not None:
            doc.problems.append(src.problem(ERROR, "bad-identifier", f"the {key} {getattr(doc, key)!r:.80} is "
                                            f"not an identifier: it {why}", f"/{key}"))
            setattr(doc, key, None)
    doc.version_given = "version" in top
    doc.version = top.get("version", 1) if ("version" in top or "version" not in data) else None
    if doc.version is not None and doc.version < 1:
        doc.problems.append(src.problem(ERROR, "bad-value", f"the version must be 1 or more, not "
                                                            f"{doc.version}", "/version"))
        doc.version = None
    elif doc.version is not None and doc.version > dsl.MAX_VERSION:    # stores keep it in 64 bits
        doc.problems.append(src.problem(ERROR, "bad-value", f"the version must be at most "
                                        f"{dsl.MAX_VERSION}, not {doc.version}", "/version"))
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
        doc.postpone = list(top.get("postpone") or [])
        doc.end = dict(top.get("end") or {})
        doc.actions = _items(doc, top, "actions", dsl.ACTION, "action")
        doc.transitions = _items(doc, top, "transitions", dsl.TRANSITION, "transition")
        for t in doc.transitions:       # action and next: required unless the transition postpones
            if t.get("postpone"):
                continue
            for key in ("action", "next"):
                if key not in t.fields:
                    t.complete = doc.complete["transitions"] = False
                    if _has(src.data, t.ptr, key) is not False:
                        continue        # present but mistyped, or no object: already reported
                    doc.problems.append(src.problem(ERROR, "missing-field", f"the transition has no "
                                                    f"{key!r} field; add it ({KINDS['name']}), or make it "
                                                    f"a postponing transition (\"postpone\": true)",
                                                    pointer(t.ptr, key)))
    if "workers" in top:
        doc.workers = _items(doc, top, "workers", dsl.WORKER, "worker")
    elif "workers" in data:
        doc.workers = []
    log.debug("read %s document %s from %s", doc.kind, doc.name, src.file)
    return doc


def combined(flow: Document, workers: list[Item]) -> dict[str, Any]:
    """The usable fields of ``flow`` and its ``workers`` as one combined DSL document (for
    :func:`goflow.dsl.to_blueprint` once the rules found no error)."""
    return {"project": flow.project, "activity": flow.activity, "version": flow.version,
            "states": [s.get("name") for s in flow.states],
            "actions": [a.fields for a in flow.actions],
            "transitions": [t.fields for t in flow.transitions],
            "workers": [w.fields for w in workers],
            "postpone": flow.postpone, "end": flow.end}
