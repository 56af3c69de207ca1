"""A blueprint's project and activity are identifiers (SPEC §12, goflow.ids): a name every interface
would refuse is refused at load, at the value's line:column, in JSON, YAML and a workers document."""
import json

import pytest

from goflow import ids

from ..helpers import BASE_WORKERS, BASE_YAML, at, edit, load, locate, single

BAD = ["shop/x", "bell\x07", "tab\there", "p" * 257, "é" * 129, "zero\u200bwidth", "line\nbreak"]


@pytest.mark.parametrize("field", ["project", "activity"])
@pytest.mark.parametrize("bad", BAD)
def test_a_name_that_is_not_an_identifier_is_an_error_at_its_value(field, bad):
    old = '"project": "shop",' if field == "project" else '"activity": "order",'
    value = json.dumps(bad)
    text = edit(old, f'"{field}": {value},')
    p = single(load(text))
    assert at(p) == ("error", "bad-identifier", f"/{field}", *locate(text, value))
    assert ids.problem(bad) in p.message and field in p.message


def test_yaml_and_a_workers_document_too(tmp_path):
    text = edit("activity: order", 'activity: "a/b"', BASE_YAML)
    p = single(load(text, "bp.yaml"))
    assert at(p) == ("error", "bad-identifier", "/activity", *locate(text, '"a/b"'))
    text = edit('"project": "shop",', '"project": "sh\\u0007op",', BASE_WORKERS)
    problems = [q for q in load(text).problems if q.rule == "bad-identifier"]
    assert [at(q) for q in problems] == [("error", "bad-identifier", "/project", *locate(text, '"sh\\u0007op"'))]


@pytest.mark.parametrize("good", ["shop", "Ünïcödé", "with space", "p" * 256, "a.b-c_d:e@f"])
def test_identifiers_load(good):
    assert load(edit('"project": "shop",', f'"project": {json.dumps(good)},')).ok
