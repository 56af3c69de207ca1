from ..helpers import at, edit, load, locate, single


def test_a_transition_without_next():
    text = edit('"success", "action": "continue", "next": "done"}', '"success", "action": "continue"}')
    p = single(load(text))
    assert at(p) == ("error", "missing-field", "/transitions/1/next",
                     *locate(text, '{"current": "pay", "event": "success"'))
    assert "'next'" in p.message


def test_a_worker_without_priority():
    text = edit(', "priority": 1}', "}")
    p = single(load(text))
    assert at(p) == ("error", "missing-field", "/workers/0/priority", *locate(text, '{"name": "pay", "worker'))


def test_a_flow_without_transitions_checks_nothing_that_depends_on_them():
    text = edit('"transitions": [', '"steps": [')
    result = load(text)
    assert sorted(p.rule for p in result.problems) == ["missing-field", "unknown-field"]
    assert [p.path for p in result.problems if p.rule == "missing-field"] == ["/transitions"]
