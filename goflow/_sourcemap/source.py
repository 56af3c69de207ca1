"""The parsed document and its source map: positions by JSON pointer, the limits on input, and the
error for text that is no document."""
from __future__ import annotations

import bisect
import re
from dataclasses import dataclass, field
from typing import Any

from ..problems import ERROR, Problem

__all__ = ["MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "Pos", "SourceMap", "Source", "ParseError", "pointer",
           "Lines", "line_column", "not_text"]

MAX_BYTES = 1024 * 1024    # per file or text
MAX_DEPTH = 64             # nesting of arrays/objects
MAX_NODES = 200_000        # values a YAML document may expand to (aliases included)

Pos = tuple[int, int]


def pointer(parent: str, token: str | int) -> str:
    """The JSON pointer of member/element ``token`` of the value at ``parent`` (RFC 6901 escaping)."""
    return f"{parent}/{str(token).replace('~', '~0').replace('/', '~1')}"


@dataclass
class SourceMap:
    """``values[ptr]`` and ``keys[ptr]`` are 1-based (line, column) positions; empty for a dict."""

    values: dict[str, Pos] = field(default_factory=dict)
    keys: dict[str, Pos] = field(default_factory=dict)

    def position(self, ptr: str, key: bool = False) -> Pos | None:
        """Where ``ptr`` is written (its key if ``key`` and it has one), else its nearest ancestor."""
        if key and ptr in self.keys:
            return self.keys[ptr]
        while True:
            if ptr in self.values:
                return self.values[ptr]
            if not ptr:
                return None
            ptr = ptr.rsplit("/", 1)[0]


@dataclass
class Source:
    """One parsed document: its file name, its plain value and its source map."""

    file: str | None
    data: Any
    smap: SourceMap = field(default_factory=SourceMap)

    def problem(self, level: str, rule: str, message: str, path: str = "", key: bool = False) -> Problem:
        pos = self.smap.position(path, key)
        line, column = pos if pos else (None, None)
        return Problem(level, rule, message, self.file, path, line, column)


class ParseError(Exception):
    """The text is not a document: ``rule`` is ``syntax``, ``too-large`` or ``too-deep``."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None,
                 rule: str = "syntax"):
        super().__init__(message)
        self.message, self.line, self.column, self.rule = message, line, column, rule

    def problem(self, file: str | None) -> Problem:
        return Problem(ERROR, self.rule, self.message, file, "", self.line, self.column)


_SURROGATE = re.compile("[\ud800-\udfff]")


def not_text(value: str) -> str | None:
    """Why ``value`` is not text (it holds a lone surrogate, half of a UTF-16 pair, which no UTF-8
    file, database or terminal can hold), or None."""
    m = _SURROGATE.search(value)
    if m is None:
        return None
    return (f"the string holds a lone surrogate \\u{ord(m.group()):04x} (half of a UTF-16 pair), which is "
            f"not a character; remove it")


class Lines:
    """The 1-based (line, column) of each character offset of one text. Lines end at ``\n`` (``\r\n``
    included), for JSON and YAML alike: YAML's own marks also break lines at ``\r``, NEL and U+2028,
    which editors and the JSON parser do not."""

    def __init__(self, text: str):
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def __call__(self, offset: int) -> Pos:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i + 1, offset - self.starts[i] + 1


def line_column(text: str, offset: int) -> Pos:
    """The 1-based (line, column) of character ``offset`` of ``text`` (see :class:`Lines`)."""
    line_start = text.rfind("\n", 0, offset) + 1
    return text.count("\n", 0, offset) + 1, offset - line_start + 1
