"""Untrusted input never crashes the loader: any text or data gives problems or blueprints."""
import json

import yaml
from hypothesis import given, settings, strategies as st

from goflow.errors import BlueprintError
from goflow.loading import blueprint_from_document, load_text

from .helpers import BASE, BASE_YAML, load

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 5) | st.floats(-2, 2) |
    st.sampled_from(["init", "done", "start", "error", "continue", "pay", "sync", "async", "", "x"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(
        st.sampled_from(["name", "type", "current", "event", "action", "next", "delay", "priority",
                         "retryCount", "responseTimeout", "workerEndpoint", "timeout", "states", "other"]),
        children, max_size=5),
    max_leaves=20)


def _paths(value, prefix=()):
    yield prefix
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, prefix + (k,))
    elif isinstance(value, list):
        for n, v in enumerate(value):
            yield from _paths(v, prefix + (n,))


BASE_DATA = json.loads(BASE)
BASE_PATHS = [p for p in _paths(BASE_DATA) if p]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(BASE_PATHS), json_values)
def test_any_value_anywhere_gives_problems_not_exceptions(path, value):
    doc = json.loads(BASE)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    text = json.dumps(doc, indent=1)
    result = load_text(text)
    assert result.ok == bool(result.blueprints)
    for p in result.problems:
        assert p.message and p.rule and (p.line is None or p.line >= 1)
    try:
        blueprint_from_document(doc)
    except BlueprintError as exc:
        assert exc.problems


def _located(result, name: str, text: str) -> None:
    """Every problem names the file and a JSON pointer, and sits at a line:column inside the text."""
    lines = text.split("\n")
    for p in result.problems:
        assert p.file == name and (p.path == "" or p.path.startswith("/")), p
        assert p.line is not None and 1 <= p.line <= len(lines), p
        assert p.column is not None and 1 <= p.column <= len(lines[p.line - 1]) + 1, p


@settings(max_examples=300, deadline=None)
@given(st.integers(0, len(BASE) - 1), st.integers(1, 3), st.text(",]}[{\":' x\n", max_size=2))
def test_any_edit_of_the_text_gives_problems_not_exceptions(at, cut, insert):
    base_bp = load(BASE).blueprints
    for base, name in ((BASE, "bp.json"), (BASE_YAML, "bp.yaml")):
        at_ = min(at, len(base) - 1)
        text = base[:at_] + insert + base[at_ + cut:]
        result = load(text, name)          # never raises
        _located(result, name, text)
        assert result.ok == bool(result.blueprints)
        try:                               # an independent reader says whether the edit broke the text
            data = json.loads(text) if name.endswith(".json") else yaml.safe_load(text)
        except (ValueError, yaml.YAMLError):
            # garbage: refused with exactly one syntax error, located, and nothing loaded
            assert [p.rule for p in result.problems] == ["syntax"] and result.blueprints == []
            continue
        if data == BASE_DATA:              # an edit of layout only: the same blueprint, no problem
            assert result.problems == [] and result.blueprints == base_bp


def test_self_merging_yaml_is_bounded():
    result = load("a: &a {<<: *a}\n", "bp.yaml")
    assert [p.rule for p in result.problems] in (["too-deep"], ["syntax"])
