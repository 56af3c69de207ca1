"""The JSON Schemas shipped for editors accept good documents and reject bad ones."""
import json
from importlib import resources

import jsonschema
import pytest
import yaml

from .helpers import BASE, BASE_WORKERS, BASE_YAML, SEED, edit


def schema(name: str) -> dict:
    text = resources.files("goflow").joinpath("schemas", f"{name}.schema.json").read_text()
    doc = json.loads(text)
    jsonschema.Draft202012Validator.check_schema(doc)
    return doc


def errors(name: str, doc) -> list:
    return list(jsonschema.Draft202012Validator(schema(name)).iter_errors(doc))


def test_the_two_schemas_share_one_worker_definition():
    assert schema("flow")["$defs"]["worker"] == schema("workers")["$defs"]["worker"]


def test_the_fixed_seed_validates():
    flow = json.loads((SEED / "inquiry.flow.json").read_text().replace("},\n]", "}\n]"))
    assert errors("flow", flow) == []
    assert errors("workers", json.loads((SEED / "inquiry.workers.json").read_text())) == []


def test_fixtures_validate():
    assert errors("flow", json.loads(BASE)) == []
    assert errors("flow", yaml.safe_load(BASE_YAML)) == []
    assert errors("workers", json.loads(BASE_WORKERS)) == []


@pytest.mark.parametrize("old, new", [
    ('"type": "sync"', '"type": "sink"'),
    ('"retryCount": 1', '"retryCount": -1'),
    ('"next": "pay"}', '"next": "pay", "dealy": 1}'),
    ('"states": ["pay"]', '"states": ["pay", "done"]'),
    ('"responseTimeout": 2', '"responseTimeout": 0'),
    ('"project": "shop",', ''),
    ('"project": "shop",', '"project": "sh/op",'),             # blueprint names are identifiers
    ('"activity": "order",', '"activity": "or\\u0007der",'),
    ('"activity": "order",', f'"activity": "{"o" * 257}",'),
])
def test_bad_documents_do_not_validate(old, new):
    assert errors("flow", json.loads(edit(old, new))) != []


def test_the_schemas_take_the_names_the_loader_takes():
    for name in ("shop", "Ünïcödé", "with space", "p" * 256, "a.b-c_d:e@f"):
        assert errors("flow", json.loads(edit('"project": "shop",', f'"project": {json.dumps(name)},'))) == []
        assert errors("workers", json.loads(edit('"project": "shop",', f'"project": {json.dumps(name)},',
                                                 BASE_WORKERS))) == []


def test_bad_workers_document_does_not_validate():
    assert errors("workers", json.loads(edit('"priority": 1', '"priority": "1"', BASE_WORKERS))) != []


def test_spec8_fields_validate():
    """Postponed events and end states (SPEC §8): the golden order flow is a valid document."""
    golden = SEED.parents[2] / "fsm" / "golden"
    for case in ("postpone", "end-state", "cancel-handler"):
        assert errors("flow", json.loads((golden / case / "blueprint.json").read_text())) == []
    text = edit('"transitions": [', '"transitions": [\n    {"current": "pay", "event": "later", "postpone": true},')
    assert errors("flow", json.loads(text)) == []


@pytest.mark.parametrize("old, new", [
    ('"transitions": [', '"transitions": [\n    {"current": "pay", "event": "x", "postpone": true, "action": "pay"},'),
    ('"transitions": [', '"transitions": [\n    {"current": "pay", "event": "x"},'),
    ('"states": ["pay"],', '"states": ["pay"], "end": {"declined": "terminated"},'),
    ('"states": ["pay"],', '"states": ["pay"], "end": {"done": "failed"},'),
    ('"states": ["pay"],', '"states": ["pay"], "postpone": "x",'),
])
def test_bad_spec8_fields_do_not_validate(old, new):
    assert errors("flow", json.loads(edit(old, new))) != []
