"""The event-data rule: untrusted data that enters an instance must be JSON-like.

JSON-like is what a JSON document can hold, as Python reads it: ``None``, ``bool``, ``int``, a finite
``float``, ``str``, lists (tuples too) and dicts with ``str`` keys, nested at most :data:`MAX_DEPTH`
deep. Bytes, sets, NaN, infinities, non-string keys and any other object are refused: each would be
stored, then fail where the data is shown as JSON (the HTTP API, ``goflow status --json``) or change
on the way (a key ``1`` comes back as ``"1"``). Text must also be encodable as UTF-8 (no lone
surrogate): the msgpack encoding that bounds the size checks that (:func:`goflow.shard.check_input`).
"""
from __future__ import annotations

import math
from typing import Any

__all__ = ["MAX_DEPTH", "why_not_json_like"]

MAX_DEPTH = 64
_PLAIN = frozenset({type(None), bool, int, str})
_FLOAT = float
_CONTAINERS = frozenset({list, tuple, dict})


def _bad(v: Any) -> str | None:
    """Why a non-container ``v`` is not JSON-like, or None."""
    if isinstance(v, (str, bool, int)) or v is None:
        return None
    if isinstance(v, float):
        return None if math.isfinite(v) else f"{v!r} is not a JSON number"
    return f"a {type(v).__name__} is not JSON data"


def why_not_json_like(value: Any) -> str | None:
    """Why ``value`` is not JSON-like, or None when it is. Linear in the size of ``value``."""
    todo = [(value, 0)]
    while todo:
        v, depth = todo.pop()
        t = type(v)
        if t in _PLAIN:
            continue
        if t is _FLOAT or not (t in _CONTAINERS or isinstance(v, (list, tuple, dict))):
            why = _bad(v)
            if why:
                return why
            continue
        if depth >= MAX_DEPTH:
            return f"it nests deeper than {MAX_DEPTH} levels"
        if isinstance(v, dict):
            for k in v:
                if type(k) is not str and not isinstance(k, str):
                    return f"the key {k!r} is not a string"
            items = v.values()
        else:
            items = v
        for item in items:
            ti = type(item)
            if ti in _PLAIN:
                continue
            if ti is _FLOAT:
                if not math.isfinite(item):
                    return f"{item!r} is not a JSON number"
                continue
            todo.append((item, depth + 1))
    return None
