from ..helpers import at, edit, load, locate, single


def test_a_postponing_transition_with_an_action():
    text = edit('"next": "done"},\n    {"current": "pay", "event": "error"',
                '"next": "done"},\n    {"current": "pay", "event": "error", "postpone": true, "action": "pay"},\n'
                '    {"current": "init", "event": "error"')
    p = single(load(text))
    assert at(p) == ("error", "postpone-fires", "/transitions/2/action", *locate(text, '"pay"},\n    {"current": "init"'))


def test_a_postponing_transition_needs_no_action_nor_next():
    text = edit('"transitions": [', '"transitions": [\n    {"current": "pay", "event": "later", "postpone": true},'
                '\n    {"current": "init", "event": "later", "action": "continue", "next": "done"},')
    result = load(text)
    assert result.ok, result.problems
    bp = result.blueprints[0]
    assert bp.postpones("pay", "later") and not bp.postpones("init", "later")
    assert bp.transition("pay", "later") is None and "later" not in bp.accepts("pay")


def test_a_transition_without_action_is_still_missing_one():
    text = edit('{"current": "pay", "event": "error", "action": "continue", "next": "done"}',
                '{"current": "pay", "event": "error", "next": "done"}')
    p = single(load(text))
    assert (p.rule, p.path) == ("missing-field", "/transitions/2/action")
