"""The DSL <-> model table (goflow.dsl): complete, one-to-one, and round-tripping."""
import dataclasses
import json

from goflow import dsl
from goflow.loading import blueprint_to_document, load_text
from goflow.model import Action, Transition, Worker

from .helpers import BASE, edit


def _model_fields(cls) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_every_model_attribute_has_one_dsl_field():
    for cls, table in ((Action, dsl.ACTION), (Transition, dsl.TRANSITION), (Worker, dsl.WORKER)):
        attrs = [f.attr for f in table]
        assert sorted(attrs) == sorted(_model_fields(cls)), cls
        assert len({f.key for f in table}) == len(table)


def test_the_camel_case_names_of_the_worker():
    pairs = {f.key: f.attr for f in dsl.WORKER if f.key != f.attr}
    assert pairs == {"workerEndpoint": "endpoint", "retryCount": "retry_count",
                     "responseTimeout": "response_timeout", "retryDelay": "retry_delay",
                     "maxRetryDelay": "max_retry_delay"}


def test_the_json_schema_knows_the_same_worker_fields():
    from importlib import resources
    schema = json.loads(resources.files("goflow").joinpath("schemas", "flow.schema.json").read_text())
    worker = schema["$defs"]["worker"]
    assert set(worker["properties"]) == {f.key for f in dsl.WORKER}
    assert set(worker["required"]) == {f.key for f in dsl.WORKER if f.required}


def test_to_blueprint_of_to_document_is_the_blueprint():
    text = edit('"next": "pay"}', '"next": "pay", "delay": 2}',
                edit('"priority": 1}', '"priority": 1, "headers": {"X-A": "b"}, "method": "PUT"}'))
    text = edit('"type": "sync"}', '"type": "async", "timeout": 3}', text)
    [bp] = load_text(text).blueprints
    doc = dsl.to_document(bp)
    assert doc == blueprint_to_document(bp)
    assert dsl.to_blueprint(doc) == bp
    assert dsl.to_blueprint(json.loads(json.dumps(doc))) == bp
    assert doc["actions"] == [{"name": "pay", "type": "async", "timeout": 3.0}]
    assert doc["transitions"][0]["delay"] == 2.0 and "delay" not in doc["transitions"][1]
    assert doc["workers"][0]["workerEndpoint"] == "python://shop:pay"


def test_to_blueprint_takes_tuples_and_names_its_source():
    [bp] = load_text(BASE).blueprints
    doc = dsl.to_document(bp)
    doc = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.items()}
    again = dsl.to_blueprint(doc, ("catalog",))
    assert again == bp and again.source == ("catalog",)
