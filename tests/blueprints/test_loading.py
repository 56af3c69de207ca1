"""Loading: combined documents, directories, pairing, text and documents, the public API."""
import logging

import pytest

from goflow import loading
from goflow.errors import BlueprintError
from goflow.loading import (blueprint_from_document, blueprint_to_document, load_blueprint, load_paths,
                            load_text)
from goflow.model import Worker

from .helpers import BASE, BASE_WORKERS, BASE_YAML, edit, write

FLOW_ONLY = BASE.split(',\n  "workers"')[0] + "\n}\n"


def test_public_names():
    assert set(loading.__all__) >= {"LoadResult", "load_paths", "load_blueprint", "load_text",
                                    "blueprint_to_document", "blueprint_from_document"}


def test_combined_document_loads():
    result = load_text(BASE)
    assert result.ok and result.problems == []
    [bp] = result.blueprints
    assert bp.key == ("shop", "order", 1)
    assert bp.workers == (Worker("pay", "python://shop:pay", 1, 2.0, 1),)
    assert bp.source == ("<text>",)


def test_yaml_and_json_combined_documents_are_equal():
    assert load_text(BASE_YAML, "x.yaml").blueprints == load_text(BASE).blueprints


def test_format_is_guessed_from_content_without_extension(tmp_path):
    a = load_paths([write(tmp_path, "a", BASE)])
    b = load_paths([write(tmp_path, "b", BASE_YAML)])
    assert a.ok and b.ok and a.blueprints == b.blueprints


def test_json_extension_wins_over_content(tmp_path):
    result = load_paths([write(tmp_path, "bp.json", BASE_YAML)])
    assert [p.rule for p in result.problems] == ["syntax"]


def test_directory_pairs_flows_and_workers_by_key(tmp_path):
    write(tmp_path, "order.flow.json", FLOW_ONLY)
    write(tmp_path, "order.workers.yaml", "project: shop\nactivity: order\nworkers:\n"
          "  - {name: pay, workerEndpoint: 'python://m:f', retryCount: 0, responseTimeout: 1, priority: 1}\n")
    write(tmp_path, "v2/order.json", edit('"activity": "order",', '"activity": "order", "version": 2,'))
    write(tmp_path, "other/refund.flow.json", edit('"order"', '"refund"', FLOW_ONLY))
    write(tmp_path, "other/refund.workers.json", edit('"order"', '"refund"', BASE_WORKERS))
    result = load_paths([tmp_path])
    assert result.problems == []
    assert sorted(bp.key for bp in result.blueprints) == [("shop", "order", 1), ("shop", "order", 2),
                                                         ("shop", "refund", 1)]
    by_key = {bp.key: bp for bp in result.blueprints}
    assert by_key["shop", "order", 1].workers[0].endpoint == "python://m:f"


def test_a_file_named_twice_is_read_once(tmp_path):
    path = write(tmp_path, "bp.json", BASE)
    result = load_paths([path, tmp_path, str(path)])
    assert result.problems == [] and len(result.blueprints) == 1


def test_versioned_workers_pair_only_with_their_version(tmp_path):
    write(tmp_path, "v1.json", FLOW_ONLY)
    write(tmp_path, "v2.json", edit('"activity": "order",', '"activity": "order", "version": 2,', FLOW_ONLY))
    write(tmp_path, "w2.json", edit('"activity": "order",', '"activity": "order", "version": 2,',
                                    BASE_WORKERS))
    result = load_paths([tmp_path])
    assert [bp.version for bp in result.blueprints] == [2]
    assert [(p.rule, p.file) for p in result.problems] == [("missing-worker", str(tmp_path / "v1.json"))]


def test_problems_of_all_files_at_once(tmp_path):
    write(tmp_path, "a.json", edit('"retryCount": 1', '"retryCount": -1'))
    write(tmp_path, "b.json", edit('"order"', '"refund"', edit('"type": "sync"', '"type": "both"')))
    result = load_paths([tmp_path])
    assert [(p.rule, p.file) for p in result.problems] == [
        ("retry-count", str(tmp_path / "a.json")), ("action-type", str(tmp_path / "b.json"))]


def test_load_blueprint_raises_with_every_problem(tmp_path):
    path = write(tmp_path, "bp.json", edit('"retryCount": 1, "responseTimeout": 2',
                                           '"retryCount": -1, "responseTimeout": 0'))
    with pytest.raises(BlueprintError) as exc:
        load_blueprint(path)
    assert [p.rule for p in exc.value.problems] == ["retry-count", "response-timeout"]
    assert f"{path}:12:" in str(exc.value)


def test_load_text_reports_syntax_with_its_file_name():
    [p] = load_text("{", "mine.json").problems
    assert p.file == "mine.json" and p.rule == "syntax"


def test_document_round_trip():
    bp = load_text(edit('"next": "pay"}', '"next": "pay", "delay": 1.5}',
                        edit('"priority": 1}', '"priority": 1, "headers": {"X-A": "b"}, "backoff": "fixed"}'))
                   ).blueprints[0]
    doc = blueprint_to_document(bp)
    assert doc["transitions"][0]["delay"] == 1.5 and doc["workers"][0]["headers"] == {"X-A": "b"}
    again = blueprint_from_document(doc)
    assert again == bp and again.workers[0].backoff == "fixed"
    assert load_text(__import__("json").dumps(doc)).problems == []


def test_document_from_plain_data_is_validated():
    doc = blueprint_to_document(load_text(BASE).blueprints[0])
    doc["transitions"][0]["next"] = "nowhere"
    with pytest.raises(BlueprintError) as exc:
        blueprint_from_document(doc, file="db:42")
    [p] = exc.value.problems
    assert (p.rule, p.file, p.path, p.line) == ("unknown-state", "db:42", "/transitions/0/next", None)


def test_document_that_is_not_json_data():
    with pytest.raises(BlueprintError) as exc:
        blueprint_from_document({"project": object()})
    assert [p.rule for p in exc.value.problems] == ["wrong-type"]


def test_tuples_from_msgpack_are_accepted():
    doc = blueprint_to_document(load_text(BASE).blueprints[0])
    doc["states"] = tuple(doc["states"])
    assert blueprint_from_document(doc) == load_text(BASE).blueprints[0]


def test_logging_is_lazy_and_named(caplog):
    with caplog.at_level(logging.DEBUG, logger="goflow.loading"):
        load_text(BASE)
    assert any("loaded blueprint" in r.getMessage() for r in caplog.records)
    assert all(r.name == "goflow.loading" for r in caplog.records)
