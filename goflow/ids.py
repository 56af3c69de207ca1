"""The identifier rule (SPEC §12), one for every interface.

Instance ids, event ids and blueprint names (the ``project`` and the ``activity`` of
``"project/activity"``) are identifiers: non-empty strings of at most :data:`MAX_BYTES` UTF-8 bytes,
of printable characters (``str.isprintable``: no control, format, private-use, unassigned or
separator character but the ASCII space), without ``/``. A lone surrogate (``"\\ud800"``, which a
JSON body may carry as an escape) is not UTF-8 at all and is refused too.

The Python API, the CLI and the HTTP API call :func:`check_id` (or :func:`check_blueprint`) before
anything reaches the actor system; the dispatcher checks instance ids again (:func:`is_id`), so a
client that skips the check gets an error for that item and never stalls the engine.

Why these bounds: an instance id is a path segment of the HTTP API (``/instances/{id}``), so a ``/``
would make it unreachable there; it is stored, logged and shown on terminals, so control characters
are refused; 256 bytes bounds every key the stores and the de-duplication keep.
"""
from __future__ import annotations

import functools
from typing import Any

from .errors import InvalidIdentifier

__all__ = ["MAX_BYTES", "is_id", "problem", "check_id", "check_optional_id", "check_blueprint", "char_class",
           "pattern", "blueprint_pattern"]

MAX_BYTES = 256


def problem(value: Any) -> str | None:
    """Why ``value`` is not an identifier, or ``None`` when it is one."""
    if (type(value) is str and 0 < len(value) <= MAX_BYTES and value.isascii() and value.isprintable()
            and "/" not in value):
        return None     # the usual id, checked without encoding it: printable ASCII is 1 byte a character
    if not isinstance(value, str):
        return f"must be a string, not {type(value).__name__}"
    if not value:
        return "must not be empty"
    if len(value) > MAX_BYTES:                 # a character is at least one byte: too long already
        return f"is over {MAX_BYTES} bytes of UTF-8 ({len(value)} characters)"
    try:
        size = len(value.encode("utf-8"))
    except UnicodeEncodeError:
        return "holds a lone surrogate (not valid Unicode text)"
    if size > MAX_BYTES:
        return f"is {size} bytes of UTF-8, over {MAX_BYTES}"
    if "/" in value:
        return "must not contain '/'"
    if not value.isprintable():
        bad = next(c for c in value if not c.isprintable())
        return f"holds a character that is not printable (U+{ord(bad):04X})"
    return None


def is_id(value: Any) -> bool:
    """Whether ``value`` follows the identifier rule (fast path for the runtime)."""
    return problem(value) is None


def check_id(value: Any, what: str = "instance id") -> str:
    """``value`` when it follows the rule; else :class:`InvalidIdentifier` naming ``what``."""
    why = problem(value)
    if why is not None:
        raise InvalidIdentifier(what, value, why)
    return value


def check_optional_id(value: Any, what: str = "event id") -> str | None:
    """:func:`check_id`, letting ``None`` through (an optional id not given)."""
    return None if value is None else check_id(value, what)


@functools.lru_cache(maxsize=1)
def char_class() -> str:
    """The characters of an identifier as one regular-expression class (``[...]``, Python ``re``
    syntax: ``\\uXXXX`` and ``\\UXXXXXXXX`` escapes), derived from the rule itself: printable, not
    ``/``, not a surrogate. The HTTP API's OpenAPI document carries it, so that what the document
    calls valid is what this module accepts (but for the byte bound, which a pattern cannot count:
    256 characters may be more than 256 bytes)."""
    def esc(c: int) -> str:
        return f"\\u{c:04X}" if c <= 0xFFFF else f"\\U{c:08X}"
    parts, start = [], None
    for c in range(0x110001):
        ok = c <= 0x10FFFF and c != 0x2F and not 0xD800 <= c <= 0xDFFF and chr(c).isprintable()
        if ok and start is None:
            start = c
        elif not ok and start is not None:
            parts.append(esc(start) if start == c - 1 else f"{esc(start)}-{esc(c - 1)}")
            start = None
    return "[" + "".join(parts) + "]"


# The printable Latin-1 characters but '/': a subset of the rule small enough for schema-driven
# fuzzers (the whole class, ~700 ranges, made schemathesis 8x slower).
_DOCUMENTED = "[\\u0020-\\u002E\\u0030-\\u007E\\u00A1-\\u00AC\\u00AE-\\u00FF]"


def pattern(exact: bool = False) -> str:
    """A regular expression of identifiers: with ``exact``, every identifier (the byte bound
    aside); else the documented subset (printable Latin-1 without '/', what the HTTP API's OpenAPI
    document states: every string it matches is an identifier)."""
    cls = char_class() if exact else _DOCUMENTED
    return f"^{cls}{{1,{MAX_BYTES}}}$"


def blueprint_pattern(exact: bool = False) -> str:
    """A regular expression of a ``project/activity`` blueprint name (see :func:`pattern`)."""
    cls = char_class() if exact else _DOCUMENTED
    return f"^{cls}{{1,{MAX_BYTES}}}/{cls}{{1,{MAX_BYTES}}}$"


def check_blueprint(value: Any, what: str = "blueprint") -> tuple[str, str]:
    """``(project, activity)`` of a ``"project/activity"`` name whose two parts are identifiers."""
    if not isinstance(value, str):
        raise InvalidIdentifier(what, value, f"must be a string 'project/activity', not {type(value).__name__}")
    project, sep, activity = value.partition("/")
    if not sep:
        raise InvalidIdentifier(what, value, "must name a blueprint as 'project/activity'")
    check_id(project, f"{what} project")
    check_id(activity, f"{what} activity")
    return project, activity
