"""JSON text to a plain value and its source map, with each syntax error reported where it is (the
seed's trailing comma at the comma, not at the bracket after it)."""
from __future__ import annotations

import math
import re
from json.decoder import JSONDecodeError, scanstring
from typing import Any

from .source import MAX_DEPTH, Lines, ParseError, SourceMap, not_text, pointer

__all__ = ["parse_json"]

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
        self.pos = Lines(text)
        self.smap = SourceMap()
        self.notes: list[tuple[str, str, str, bool]] = []   # (rule, message, path, key)

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
            value, end = scanstring(self.text, i + 1, True)
        except JSONDecodeError as exc:
            msg = exc.msg
            if msg.startswith("Unterminated string"):
                raise self.fail("the string is never closed; a '\"' is missing", i) from None
            if msg.startswith("Invalid control character"):
                raise self.fail("a string holds a raw control character (a newline or tab?); write it "
                                "as an escape such as \\n or \\t", exc.pos) from None
            raise self.fail(f"invalid escape in a string ({msg.split(':')[0].lower()}); valid escapes are "
                            f"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX", exc.pos) from None
        why = not_text(value)
        if why:
            raise self.fail(why, i)
        return value, end

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
