from ..helpers import at, edit, load, locate, single


def test_a_declared_action_without_a_worker():
    text = edit('"name": "pay", "workerEndpoint"', '"name": "pya", "workerEndpoint"')
    result = load(text)
    errors = [p for p in result.problems if p.level == "error"]
    assert [at(p) for p in errors] == [("error", "missing-worker", "/actions/0",
                                        *locate(text, '{"name": "pay", "type"'))]
    assert [p.rule for p in result.warnings] == ["unused-worker"]


def test_a_flow_without_any_workers():
    text = edit('"priority": 1}', '"priority": 1}').split(',\n  "workers"')[0] + "\n}\n"
    p = single(load(text))
    assert p.rule == "missing-worker" and p.path == "/actions/0"
