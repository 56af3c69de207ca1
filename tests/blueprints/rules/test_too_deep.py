from goflow._sourcemap import MAX_DEPTH
from goflow.loading import blueprint_from_document
from goflow.errors import BlueprintError
import pytest

from ..helpers import edit, load, single


def test_json_nesting_is_bounded():
    text = edit('"states": ["pay"]', '"states": ' + "[" * 100 + "]" * 100)
    p = single(load(text))
    assert p.rule == "too-deep"
    assert (p.line, p.column) == (4, 13 + MAX_DEPTH - 1)


def test_yaml_nesting_is_bounded():
    p = single(load("states: " + "[" * 100 + "]" * 100 + "\n", "bp.yaml"))
    assert p.rule == "too-deep"


def test_document_nesting_is_bounded():
    doc: list = []
    for _ in range(100):
        doc = [doc]
    with pytest.raises(BlueprintError) as exc:
        blueprint_from_document({"project": "p", "activity": "a", "states": doc})
    assert [p.rule for p in exc.value.problems] == ["too-deep"]
