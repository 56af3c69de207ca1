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
])
def test_bad_documents_do_not_validate(old, new):
    assert errors("flow", json.loads(edit(old, new))) != []


def test_bad_workers_document_does_not_validate():
    assert errors("workers", json.loads(edit('"priority": 1', '"priority": "1"', BASE_WORKERS))) != []
