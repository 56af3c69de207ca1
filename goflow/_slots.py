"""Fast construction and copying of frozen slots dataclasses (the FSM's hot path).

A frozen dataclass's generated ``__init__`` sets each field through ``object.__setattr__`` (about
3.5 µs for the 11 fields of a history ``Record``, 3.6 µs for an ``Instance``), and
``dataclasses.replace`` walks ``fields()`` and calls that ``__init__`` with keywords; a host makes
several of each per transition, the largest items of its profile after the commit
(docs/benchmarks.md). :func:`maker` and :func:`replacer` generate, from the field names only, a
function that sets the slots through their descriptors instead (2-3x faster). Both build exactly
what the class's own ``__init__`` would: the same fields, the same defaults (a ``default_factory``
is called per object). Only slots dataclasses without ``__post_init__`` qualify; for any other class
they return the class itself and ``dataclasses.replace`` (correct, not faster).
"""
from __future__ import annotations

from dataclasses import MISSING, fields, is_dataclass, replace

__all__ = ["maker", "replacer"]

_KEEP = object()


def _qualifies(cls) -> bool:
    return (is_dataclass(cls) and "__slots__" in cls.__dict__ and not hasattr(cls, "__post_init__")
            and not any(f.kw_only for f in fields(cls)))


def maker(cls):
    """A function taking ``cls``'s fields, positionally or by name, with their defaults, returning
    the object the class's ``__init__`` would build (the class itself when it does not qualify)."""
    if not _qualifies(cls):
        return cls
    fs = fields(cls)
    env: dict = {"_new": object.__new__, "_cls": cls, "_MISSING": MISSING}
    params, body = [], []
    for f in fs:
        env[f"_set_{f.name}"] = getattr(cls, f.name).__set__
        if f.default is not MISSING:
            env[f"_d_{f.name}"] = f.default
            params.append(f"{f.name}=_d_{f.name}")
            body.append(f"    _set_{f.name}(o, {f.name})\n")
        elif f.default_factory is not MISSING:
            env[f"_f_{f.name}"] = f.default_factory
            params.append(f"{f.name}=_MISSING")
            body.append(f"    _set_{f.name}(o, _f_{f.name}() if {f.name} is _MISSING else {f.name})\n")
        else:
            params.append(f.name)
            body.append(f"    _set_{f.name}(o, {f.name})\n")
    src = f"def make_{cls.__name__}({', '.join(params)}):\n    o = _new(_cls)\n{''.join(body)}    return o\n"
    exec(src, env)      # noqa: S102 -- generated from the field names only
    return env[f"make_{cls.__name__}"]


def replacer(cls):
    """``dataclasses.replace`` for ``cls``: a copy of ``obj`` with the fields given by name changed."""
    if not _qualifies(cls):
        return replace
    names = [f.name for f in fields(cls)]
    env: dict = {"_new": object.__new__, "_cls": cls, "_KEEP": _KEEP}
    env.update({f"_set_{n}": getattr(cls, n).__set__ for n in names})
    body = "".join(f"    _set_{n}(new, obj.{n} if {n} is _KEEP else {n})\n" for n in names)
    src = (f"def replace_{cls.__name__}(obj, /, *, {', '.join(f'{n}=_KEEP' for n in names)}):\n"
           f"    new = _new(_cls)\n{body}    return new\n")
    exec(src, env)      # noqa: S102 -- generated from the field names only
    return env[f"replace_{cls.__name__}"]
