"""Position-keeping parsing of blueprint text: JSON and YAML to plain values plus a source map.

The source map gives the 1-based ``line:column`` of every JSON pointer in the document: where its
value starts and, for an object member, where its key starts. JSON is read by a small parser of our
own so that each syntax error is reported where it is (the seed's trailing comma at the comma, not
at the bracket after it). YAML is read with PyYAML's *composer* and ``SafeLoader`` resolution only:
nodes carry their positions, scalars are resolved to null/bool/int/float/str and any other tag is
refused, so nothing in a document is ever constructed or evaluated.

Input is untrusted: its size (:data:`MAX_BYTES`), nesting depth (:data:`MAX_DEPTH`) and, for YAML
aliases, the number of nodes it expands to (:data:`MAX_NODES`) are bounded.
"""
from __future__ import annotations

import json
from typing import Any

from ..problems import ERROR, Problem
from .json_text import parse_json
from .source import MAX_BYTES, MAX_DEPTH, MAX_NODES, ParseError, Source, SourceMap, line_column, pointer
from .yaml_text import parse_yaml

__all__ = [
    "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "SourceMap", "Source", "ParseError",
    "pointer", "line_column", "parse_json", "parse_yaml", "parse_text", "guess_format", "decode", "dumps",
]


def decode(data: bytes) -> str:
    """UTF-8 text (a BOM is dropped), or :class:`ParseError` at the first byte that is not UTF-8."""
    if len(data) > MAX_BYTES:
        raise ParseError(f"the file is {len(data)} bytes, over the limit of {MAX_BYTES} bytes for a "
                         f"blueprint document; split it or shorten it", rule="too-large")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        head = data[:exc.start]
        line = head.count(b"\n") + 1
        column = len(head[head.rfind(b"\n") + 1:].decode("utf-8", "replace")) + 1
        raise ParseError(f"the file is not UTF-8 text (byte 0x{data[exc.start]:02x} cannot be decoded); "
                         f"save it as UTF-8", line, column) from None


def guess_format(file: str | None, text: str) -> str:
    """``"json"`` or ``"yaml"``: by the file's extension, else JSON when the text starts with ``{``/``[``."""
    name = (file or "").lower()
    if name.endswith(".json"):
        return "json"
    if name.endswith((".yaml", ".yml")):
        return "yaml"
    return "json" if text.lstrip()[:1] in ("{", "[") else "yaml"


def parse_text(text: str, file: str | None = None, fmt: str | None = None) -> tuple[Source, list[Problem]]:
    """Parse ``text`` as ``fmt`` (guessed when ``None``): the :class:`Source` and non-fatal problems.

    Raises :class:`ParseError` when the text is not a document at all.
    """
    if len(text) > MAX_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        raise ParseError(f"the document is over the limit of {MAX_BYTES} bytes for a blueprint; "
                         f"split it or shorten it", rule="too-large")
    fmt = fmt or guess_format(file, text)
    data, smap, notes = (parse_json if fmt == "json" else parse_yaml)(text)
    return Source(file, data, smap), [Source(file, data, smap).problem(ERROR, *n) for n in notes]


def dumps(value: Any) -> str:
    """Compact JSON of a plain value (used to bound the size of documents given as dicts)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))
