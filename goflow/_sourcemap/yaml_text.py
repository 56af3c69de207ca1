"""YAML text to a plain value and its source map, through PyYAML's composer and ``SafeLoader``
resolution only: nothing in a document is constructed or evaluated."""
from __future__ import annotations

import math
from typing import Any

import yaml

from .source import MAX_DEPTH, MAX_NODES, Lines, ParseError, Pos, SourceMap, line_column, not_text, pointer

__all__ = ["parse_yaml"]

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_TAG + t for t in ("null", "bool", "int", "float", "str")}


class _YamlReader:
    def __init__(self, text: str) -> None:
        self.lines = Lines(text)
        self.smap = SourceMap()
        self.notes: list[tuple[str, str, str, bool]] = []
        self.nodes = 0
        self.constructor = yaml.SafeLoader("")

    def at(self, node: yaml.Node) -> Pos:
        return self.lines(node.start_mark.index)

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
            if not_text(key):
                raise ParseError(not_text(key), *self.at(key_node))
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
        if not_text(node.value):
            raise ParseError(not_text(node.value), *self.at(node))
        if node.tag == _TAG + "timestamp":
            return node.value      # a date is a string here, as in JSON
        if node.tag not in _SCALAR_TAGS:
            raise ParseError(f"the YAML tag {node.tag!r} is not allowed in a blueprint; remove it",
                             *self.at(node))
        if node.tag == _TAG + "int" and len(node.value) > 40:   # as in JSON (and int() has a limit)
            raise ParseError("the integer has more than 40 digits", *self.at(node))
        try:
            value = self.constructor.construct_object(node)
        except (ValueError, OverflowError) as exc:
            raise ParseError(f"{node.value!r} is not a number YAML can read ({exc})",
                             *self.at(node)) from None
        if isinstance(value, float) and not math.isfinite(value):
            raise ParseError(f"{node.value!r} is not a finite number", *self.at(node))
        return value


def parse_yaml(text: str) -> tuple[Any, SourceMap, list[tuple[str, str, str, bool]]]:
    """``(value, source map, notes)`` of a single YAML document, positions from composed nodes."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.reader.ReaderError as exc:     # a character YAML does not allow: no mark, a position
        raise ParseError(f"YAML syntax error: the character U+{exc.character:04X} is not allowed in YAML "
                         f"(a control character, or a lone surrogate); remove it",
                         *line_column(text, exc.position)) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        what = exc.problem or exc.context or "invalid YAML"
        if "expected a single document" in str(exc):
            what = "the file holds more than one YAML document ('---'); put one blueprint per file"
        line, column = line_column(text, mark.index) if mark else (None, None)
        raise ParseError(f"YAML syntax error: {what}", line, column) from None
    except yaml.YAMLError as exc:
        raise ParseError(f"YAML syntax error: {exc}") from None
    except RecursionError:
        raise ParseError(f"the document nests deeper than {MAX_DEPTH} levels", rule="too-deep") from None
    if node is None:
        raise ParseError("the document is empty; a blueprint is a mapping", 1, 1)
    reader = _YamlReader(text)
    try:
        return reader.value(node, "", 0), reader.smap, reader.notes
    except RecursionError:   # merge keys that include themselves
        raise ParseError("the document refers to itself through its aliases", rule="too-deep") from None
