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

import bisect
import json
import math
import re
from dataclasses import dataclass, field
from json.decoder import JSONDecodeError, scanstring
from typing import Any

import yaml

from .problems import ERROR, Problem

__all__ = [
    "MAX_BYTES", "MAX_DEPTH", "MAX_NODES", "SourceMap", "Source", "ParseError",
    "pointer", "parse_json", "parse_yaml", "parse_text", "guess_format", "decode", "dumps",
]

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


# ---------------------------------------------------------------------------------------------- JSON
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_WS = " \t\n\r"
_LITERALS = {"true": True, "false": False, "null": None}
_CLOSE = {"{": "}", "[": "]"}
_NAMES = {"{": "object", "[": "array"}


def _show(ch: str) -> str:
    if ch == "":
        return "the end of the document"
    if ch.isprintable() and not ch.isspace():
        return repr(ch)
    return f"U+{ord(ch):04X}"


class _JsonParser:
    def __init__(self, text: str):
        self.text = text
        self.starts = [0] + [m.end() for m in re.finditer("\n", text)]
        self.smap = SourceMap()
        self.notes: list[tuple[str, str, str, bool]] = []   # (rule, message, path, key)

    def pos(self, offset: int) -> Pos:
        i = bisect.bisect_right(self.starts, offset) - 1
        return i + 1, offset - self.starts[i] + 1

    def fail(self, message: str, offset: int) -> ParseError:
        return ParseError(message, *self.pos(offset))

    def skip(self, i: int) -> int:
        text = self.text
        while True:
            while i < len(text) and text[i] in _WS:
                i += 1
            if text.startswith("//", i) or text.startswith("/*", i):
                raise self.fail("JSON does not allow comments; remove it (or write the blueprint in "
                                "YAML, where '#' starts a comment)", i)
            return i

    def document(self) -> Any:
        i = self.skip(0)
        if i == len(self.text):
            raise self.fail("the document is empty; a blueprint is a JSON object", i)
        value, i = self.value(i, "", 0)
        i = self.skip(i)
        if i < len(self.text):
            raise self.fail(f"unexpected {_show(self.text[i])} after the end of the document; a JSON file "
                            f"holds one value", i)
        return value

    def value(self, i: int, ptr: str, depth: int) -> tuple[Any, int]:
        self.smap.values[ptr] = self.pos(i)
        ch = self.text[i:i + 1]
        if ch in ("{", "["):
            if depth >= MAX_DEPTH:
                raise ParseError(f"the document nests deeper than {MAX_DEPTH} levels", *self.pos(i),
                                 rule="too-deep")
            return (self.obj if ch == "{" else self.arr)(i, ptr, depth + 1)
        if ch == '"':
            return self.string(i)
        for word, val in _LITERALS.items():
            if self.text.startswith(word, i):
                return val, i + len(word)
        m = _NUMBER.match(self.text, i)
        if m:
            return self.number(m, i)
        if ch == "'":
            raise self.fail("JSON strings use double quotes (\"), not single quotes", i)
        word = re.match(r"[A-Za-z_+.][A-Za-z0-9_+.-]*", self.text[i:])
        if word:
            raise self.fail(f"{word.group()!r} is not a JSON value; quote it if it is a string (true, "
                            f"false and null are lowercase; NaN and Infinity are not allowed)", i)
        raise self.fail(f"expected a value (an object, array, string, number, true, false or null) but "
                        f"found {_show(ch)}", i)

    def number(self, m: re.Match, i: int) -> tuple[Any, int]:
        end = m.end()
        if end < len(self.text) and (self.text[end].isalnum() or self.text[end] == "."):
            raise self.fail(f"malformed number {self.text[i:end + 1]!r}", i)
        if m.group(1) or m.group(2):
            val = float(m.group())
            if not math.isfinite(val):
                raise self.fail(f"the number {m.group()} is too large", i)
            return val, end
        if end - i > 40:
            raise self.fail("the integer has more than 40 digits", i)
        return int(m.group()), end

    def string(self, i: int) -> tuple[str, int]:
        try:
            return scanstring(self.text, i + 1, True)
        except JSONDecodeError as exc:
            msg = exc.msg
            if msg.startswith("Unterminated string"):
                raise self.fail("the string is never closed; a '\"' is missing", i) from None
            if msg.startswith("Invalid control character"):
                raise self.fail("a string holds a raw control character (a newline or tab?); write it "
                                "as an escape such as \\n or \\t", exc.pos) from None
            raise self.fail(f"invalid escape in a string ({msg.split(':')[0].lower()}); valid escapes are "
                            f"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX", exc.pos) from None

    def obj(self, start: int, ptr: str, depth: int) -> tuple[dict, int]:
        result: dict[str, Any] = {}
        opened = "%d:%d" % self.pos(start)
        i = self.skip(start + 1)
        if self.text[i:i + 1] == "}":
            return result, i + 1
        while True:
            ch = self.text[i:i + 1]
            if ch != '"':
                if ch == "":
                    raise self.fail(f"the document ends inside the object opened at {opened}; a '}}' "
                                    f"is missing", i)
                if ch == "'":
                    raise self.fail("object keys are written in double quotes (\"), not single quotes", i)
                raise self.fail(f"expected a member name in double quotes but found {_show(ch)}", i)
            key, j = self.string(i)
            child = pointer(ptr, key)
            if key in result:
                self.notes.append(("duplicate-key", f"the key {key!r} appears twice in this object; "
                                   f"the later value would silently replace the earlier one: keep one",
                                   child, True))
            j = self.skip(j)
            if self.text[j:j + 1] != ":":
                raise self.fail(f"expected ':' after the key {key!r} but found "
                                f"{_show(self.text[j:j + 1])}", j)
            self.smap.keys[child] = self.pos(i)
            result[key], i = self.value(self.skip(j + 1), child, depth)
            i = self.skip(i)
            ch = self.text[i:i + 1]
            if ch == "}":
                return result, i + 1
            if ch == ",":
                nxt = self.skip(i + 1)
                if self.text[nxt:nxt + 1] == "}":
                    raise self.fail("trailing comma: the last member of an object is not followed by a "
                                    "comma in JSON; remove this comma", i)
                i = nxt
                continue
            if ch == "":
                raise self.fail(f"the document ends inside the object opened at {opened}; a '}}' is "
                                f"missing", i)
            raise self.fail(f"expected ',' or '}}' after the member {key!r} but found {_show(ch)}; is a "
                            f"comma missing?", i)

    def arr(self, start: int, ptr: str, depth: int) -> tuple[list, int]:
        result: list[Any] = []
        opened = "%d:%d" % self.pos(start)
        i = self.skip(start + 1)
        if self.text[i:i + 1] == "]":
            return result, i + 1
        while True:
            if i >= len(self.text):
                raise self.fail(f"the document ends inside the array opened at {opened}; a ']' is "
                                f"missing", i)
            item, i = self.value(i, pointer(ptr, len(result)), depth)
            result.append(item)
            i = self.skip(i)
            ch = self.text[i:i + 1]
            if ch == "]":
                return result, i + 1
            if ch == ",":
                nxt = self.skip(i + 1)
                if self.text[nxt:nxt + 1] == "]":
                    raise self.fail("trailing comma: the last element of an array is not followed by a "
                                    "comma in JSON; remove this comma", i)
                i = nxt
                continue
            if ch == "":
                raise self.fail(f"the document ends inside the array opened at {opened}; a ']' is "
                                f"missing", i)
            raise self.fail(f"expected ',' or ']' after an array element but found {_show(ch)}; is a "
                            f"comma missing?", i)


def parse_json(text: str) -> tuple[Any, SourceMap, list[tuple[str, str, str, bool]]]:
    """``(value, source map, notes)``; notes are non-fatal ``(rule, message, path, key)`` findings."""
    parser = _JsonParser(text)
    return parser.document(), parser.smap, parser.notes


# ---------------------------------------------------------------------------------------------- YAML
_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "str")}


class _YamlReader:
    def __init__(self) -> None:
        self.smap = SourceMap()
        self.notes: list[tuple[str, str, str, bool]] = []
        self.nodes = 0
        self.constructor = yaml.SafeLoader("")

    @staticmethod
    def at(node: yaml.Node) -> Pos:
        return node.start_mark.line + 1, node.start_mark.column + 1

    def value(self, node: yaml.Node, ptr: str, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ParseError(f"the document expands to more than {MAX_NODES} values (through aliases?)",
                             *self.at(node), rule="too-large")
        self.smap.values[ptr] = self.at(node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if depth >= MAX_DEPTH:
            raise ParseError(f"the document nests deeper than {MAX_DEPTH} levels", *self.at(node),
                             rule="too-deep")
        if isinstance(node, yaml.SequenceNode):
            self.check_tag(node, _TAG + "seq")
            return [self.value(item, pointer(ptr, n), depth + 1) for n, item in enumerate(node.value)]
        self.check_tag(node, _TAG + "map")
        result: dict[str, Any] = {}
        for key_node, value_node in self.pairs(node):
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag != _TAG + "str":
                raise ParseError("a mapping key must be a plain string (quote it if it looks like a "
                                 "number, a boolean or null)", *self.at(key_node))
            key = key_node.value
            child = pointer(ptr, key)
            if key in result:
                self.notes.append(("duplicate-key", f"the key {key!r} appears twice in this mapping; "
                                   f"the later value would silently replace the earlier one: keep one",
                                   child, True))
            self.smap.keys[child] = self.at(key_node)
            result[key] = self.value(value_node, child, depth + 1)
        return result

    def pairs(self, node: yaml.MappingNode) -> list[tuple[yaml.Node, yaml.Node]]:
        """The mapping's pairs with ``<<`` merge keys expanded (explicit keys win)."""
        own, merged = [], []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                sources = value_node.value if isinstance(value_node, yaml.SequenceNode) else [value_node]
                for src in sources:
                    if not isinstance(src, yaml.MappingNode):
                        raise ParseError("a merge key '<<' takes a mapping or a list of mappings",
                                         *self.at(src))
                    merged.extend(self.pairs(src))
            else:
                own.append((key_node, value_node))
        names = {k.value for k, _ in own if isinstance(k, yaml.ScalarNode)}
        seen: set[str] = set()
        extra = []
        for k, v in merged:
            if k.value not in names and k.value not in seen:
                seen.add(k.value)
                extra.append((k, v))
        return extra + own

    def check_tag(self, node: yaml.Node, expected: str) -> None:
        if node.tag != expected:
            raise ParseError(f"the YAML tag {node.tag!r} is not allowed in a blueprint; remove it",
                             *self.at(node))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        if node.tag == _TAG + "timestamp":
            return node.value      # a date is a string here, as in JSON
        if node.tag not in _SCALAR_TAGS:
            raise ParseError(f"the YAML tag {node.tag!r} is not allowed in a blueprint; remove it",
                             *self.at(node))
        value = self.constructor.construct_object(node)
        if isinstance(value, float) and not math.isfinite(value):
            raise ParseError(f"{node.value!r} is not a finite number", *self.at(node))
        return value


def parse_yaml(text: str) -> tuple[Any, SourceMap, list[tuple[str, str, str, bool]]]:
    """``(value, source map, notes)`` of a single YAML document, positions from composed nodes."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in str(exc):
            what = "the file holds more than one YAML document ('---'); put one blueprint per file"
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        raise ParseError(f"YAML syntax error: {what}", line, column) from None
    except yaml.YAMLError as exc:
        raise ParseError(f"YAML syntax error: {exc}") from None
    except RecursionError:
        raise ParseError(f"the document nests deeper than {MAX_DEPTH} levels", rule="too-deep") from None
    if node is None:
        raise ParseError("the document is empty; a blueprint is a mapping", 1, 1)
    reader = _YamlReader()
    try:
        return reader.value(node, "", 0), reader.smap, reader.notes
    except RecursionError:   # merge keys that include themselves
        raise ParseError("the document refers to itself through its aliases", rule="too-deep") from None


def dumps(value: Any) -> str:
    """Compact JSON of a plain value (used to bound the size of documents given as dicts)."""
    return json.dumps(value, allow_nan=False, separators=(",", ":"))
