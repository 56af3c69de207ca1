"""What the fuzzing (test_fuzz.py) found, one regression test each."""
import json

import pytest

from goflow.errors import BlueprintError
from goflow.loading import blueprint_from_document, blueprint_to_document, load_text

from .helpers import BASE, BASE_YAML, at, edit, load, locate, single


def test_a_control_character_in_yaml_is_a_syntax_error_at_the_character():
    # PyYAML's reader error has no mark, only a position: it used to come without line:column.
    text = BASE_YAML.replace("activity: order", "activity: or\x07der")
    p = single(load(text, "bp.yaml"))
    assert at(p) == ("error", "syntax", "", *locate(text, "\x07"))
    assert "U+0007" in p.message
    assert at(single(load("\x00", "bp.yaml"))) == ("error", "syntax", "", 1, 1)


@pytest.mark.parametrize("written", ['"\\ud800"', '"pay\\udfff"', '"\ud800"'])
def test_a_lone_surrogate_in_a_json_string_is_a_syntax_error_at_the_string(written):
    # Such a name loaded, then failed where it was stored or shown (SQLite, UTF-8 output).
    text = edit('"activity": "order"', f'"activity": {written}')
    p = single(load(text))
    assert at(p) == ("error", "syntax", "", *locate(text, written))
    assert "lone surrogate" in p.message
    str(p).encode("utf-8")


def test_a_lone_surrogate_in_a_json_key_is_a_syntax_error():
    text = edit('"activity": "order"', '"activity": "order", "\\udc00": 1')
    assert at(single(load(text))) == ("error", "syntax", "", *locate(text, '"\\udc00"'))


@pytest.mark.parametrize("old, new, needle", [
    ("activity: order", 'activity: "\\ud800"', '"\\ud800"'),
    ("activity: order", 'activity: order\n"\\udc00x": 1', '"\\udc00x"'),
])
def test_a_lone_surrogate_in_yaml_is_a_syntax_error_at_the_scalar(old, new, needle):
    text = BASE_YAML.replace(old, new)
    p = single(load(text, "bp.yaml"))
    assert at(p) == ("error", "syntax", "", *locate(text, needle))


def test_a_surrogate_pair_is_one_character_and_loads():
    text = edit('"activity": "order"', '"activity": "order\\ud83d\\ude00"')
    [bp] = load_text(text).blueprints
    assert bp.activity == "order\U0001F600"


def test_a_document_with_a_lone_surrogate_is_refused():
    doc = blueprint_to_document(load_text(BASE).blueprints[0])
    doc["workers"][0]["workerEndpoint"] = "python://shop:\ud800"
    with pytest.raises(BlueprintError) as exc:
        blueprint_from_document(doc, file="db:1")
    [p] = exc.value.problems
    assert (p.rule, p.file, p.line) == ("syntax", "db:1", None) and "lone surrogate" in p.message
    json.dumps(p.to_dict(), ensure_ascii=False).encode("utf-8")


def test_a_yaml_integer_of_thousands_of_digits_is_a_syntax_error():
    # int() refuses more than 4300 digits with a ValueError, which escaped the loader.
    text = BASE_YAML.replace("retryCount: 1", "retryCount: " + "1" * 5000)
    p = single(load(text, "bp.yaml"))
    assert at(p) == ("error", "syntax", "", *locate(text, "1" * 5000))
    assert "40 digits" in p.message


@pytest.mark.parametrize("version, ok", [(2**31 - 1, True), (2**31, False), (10**39, False)])
def test_the_version_fits_the_stores(version, ok):
    # A version past 64 bits loaded, then raised OverflowError when the catalog (SQLite) saved it.
    text = edit('"activity": "order",', f'"activity": "order", "version": {version},')
    result = load(text)
    if ok:
        assert result.ok and result.blueprints[0].version == version
    else:
        p = single(result)
        assert at(p) == ("error", "bad-value", "/version", *locate(text, str(version)))
        assert "at most 2147483647" in p.message


@pytest.mark.parametrize("brk", ["\x85", "\u2028", "\r"])
def test_yaml_positions_count_lines_as_json_does(brk):
    # PyYAML's marks also break lines at NEL, U+2028 and a lone CR: a position past such a character
    # pointed outside its line. Lines end at \n for both formats.
    text = f'a: "x{brk}y"\nc: .inf\n'
    p = single(load(text, "bp.yaml"))
    assert at(p) == ("error", "syntax", "", *locate(text, ".inf"))
