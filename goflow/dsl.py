"""The blueprint DSL and the model, translated in one place.

The DSL (the documents users write, JSON or YAML) names fields in camelCase (``workerEndpoint``,
``retryCount``, ...); the model (:mod:`goflow.model`) names attributes in snake_case
(``endpoint``, ``retry_count``, ...). The tables below are the one place that pairs them, and they
also give each field's kind and whether it is required, which :mod:`goflow.validation.fields`
checks.

* :func:`to_document` turns a :class:`~goflow.model.Blueprint` into its combined DSL document
  (plain, JSON-able data);
* :func:`to_blueprint` builds the model from a combined document that has been validated (it checks
  nothing: give it a document that :mod:`goflow.loading` or :mod:`goflow.validation` accepted, such
  as one :func:`to_document` wrote). ``to_blueprint(to_document(bp)) == bp``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .model import Action, Blueprint, Transition, Worker

__all__ = ["MAX_VERSION", "Field", "HEADER", "FLOW", "WORKERS", "ACTION", "TRANSITION", "WORKER", "KINDS",
           "to_document", "to_blueprint"]

MAX_VERSION = 2**31 - 1     # the largest blueprint version (stores and clients keep it as an integer)

# What a field's value must be, as the problems say it.
KINDS = {"name": "a non-empty string", "str": "a string", "int": "an integer", "number": "a number",
         "headers": "an object of string values", "list": "a list", "bool": "true or false",
         "names": "a list of non-empty strings", "ends": "an object of state names to statuses"}


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a DSL object: its DSL name, the model attribute it fills, its kind, whether it
    is required, and (``sparse``) whether a document leaves it out when its model value is empty."""

    key: str                  # the DSL name (camelCase)
    attr: str | None          # the model attribute (snake_case); None: not part of the model
    kind: str                 # a key of KINDS
    required: bool = False
    sparse: bool = False


HEADER = (Field("project", "project", "name", True), Field("activity", "activity", "name", True),
          Field("version", "version", "int"), Field("$schema", None, "str"))
# A flow (a combined document is a flow with its ``workers``) and a workers document.
FLOW = HEADER + (Field("states", "states", "list", True), Field("actions", "actions", "list", True),
                 Field("transitions", "transitions", "list", True), Field("workers", "workers", "list"),
                 Field("postpone", "postpone", "names", sparse=True), Field("end", "end", "ends", sparse=True))
WORKERS = HEADER + (Field("workers", "workers", "list", True),)
ACTION = (Field("name", "name", "name", True), Field("type", "type", "name", True),
          Field("timeout", "timeout", "number", sparse=True),
          # a workflow action's (SPEC §8): the child blueprint, its version, input key, fan-out key
          Field("blueprint", "blueprint", "name", sparse=True), Field("version", "version", "int", sparse=True),
          Field("input", "input", "name", sparse=True), Field("forEach", "for_each", "name", sparse=True))
# ``action`` and ``next`` are required unless ``postpone`` is true (goflow.validation.fields checks it).
TRANSITION = (Field("current", "current", "name", True), Field("event", "event", "name", True),
              Field("action", "action", "name", sparse=True), Field("next", "next", "name", sparse=True),
              Field("delay", "delay", "number", sparse=True), Field("postpone", "postpone", "bool", sparse=True))
# The one camelCase <-> snake_case table of the DSL.
WORKER = (Field("name", "name", "name", True), Field("workerEndpoint", "endpoint", "name", True),
          Field("retryCount", "retry_count", "int", True),
          Field("responseTimeout", "response_timeout", "number", True),
          Field("priority", "priority", "int", True), Field("retryDelay", "retry_delay", "number"),
          Field("backoff", "backoff", "name"), Field("maxRetryDelay", "max_retry_delay", "number"),
          Field("jitter", "jitter", "number"), Field("method", "method", "name"),
          Field("headers", "headers", "headers"), Field("tls", "tls", "headers", sparse=True))


# ------------------------------------------------------------------------------- model -> DSL
def _write(obj: Any, fields: tuple[Field, ...]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for f in fields:
        value = getattr(obj, f.attr)
        if value is None or (f.sparse and not value):
            continue
        doc[f.key] = dict(value) if f.kind == "headers" else value
    return doc


def to_document(bp: Blueprint) -> dict[str, Any]:
    """The combined DSL document of ``bp`` (every worker field written out), plain JSON-able data
    that loads back to a blueprint equal to ``bp``."""
    doc = {"project": bp.project, "activity": bp.activity, "version": bp.version,
           "states": list(bp.states), "actions": [_write(a, ACTION) for a in bp.actions],
           "transitions": [_write(t, TRANSITION) for t in bp.transitions],
           "workers": [_write(w, WORKER) for w in bp.workers]}
    if bp.postpone:
        doc["postpone"] = list(bp.postpone)
    if bp.end:
        doc["end"] = dict(bp.end)
    return doc


# ------------------------------------------------------------------------------- DSL -> model
def _read(obj: Mapping[str, Any], fields: tuple[Field, ...]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for f in fields:
        if f.key in obj and f.attr is not None:
            value = obj[f.key]
            if f.kind == "number":
                value = float(value)
            elif f.kind == "headers":
                value = tuple(value.items())
            kwargs[f.attr] = value
    return kwargs


def to_blueprint(doc: Mapping[str, Any], source: tuple[str, ...] = ()) -> Blueprint:
    """The model of a validated combined document (lists may be tuples, as msgpack gives them);
    ``source`` names the files it came from."""
    return Blueprint(
        project=doc["project"], activity=doc["activity"], version=doc.get("version", 1),
        states=tuple(doc["states"]),
        actions=tuple(Action(**_read(a, ACTION)) for a in doc["actions"]),
        transitions=tuple(Transition(**_read(t, TRANSITION)) for t in doc["transitions"]),
        workers=tuple(Worker(**_read(w, WORKER)) for w in doc.get("workers") or ()),
        postpone=tuple(doc.get("postpone") or ()),
        end=tuple((k, v) for k, v in (doc.get("end") or {}).items()),
        source=source,
    )
