from ..helpers import at, edit, load, locate, single


def test_a_postponed_event_no_transition_takes():
    text = edit('"states": ["pay"],', '"states": ["pay"],\n  "postpone": ["sucess"],')
    p = single(load(text))
    assert at(p) == ("error", "unknown-postponed", "/postpone/0", *locate(text, '"sucess"'))
    assert "did you mean 'success'" in p.message


def test_a_postponing_transition_of_an_event_no_transition_takes():
    text = edit('"transitions": [', '"transitions": [\n    {"current": "pay", "event": "nothing", "postpone": true},')
    p = single(load(text))
    assert at(p) == ("error", "unknown-postponed", "/transitions/0/event", *locate(text, '"nothing"'))


def test_a_known_postponed_event_loads():
    text = edit('"states": ["pay"],', '"states": ["pay"],\n  "postpone": ["error"],')
    result = load(text)
    assert result.ok and not result.problems
    bp = result.blueprints[0]
    assert bp.postpone == ("error",)
    assert bp.postpones("init", "error") and not bp.postpones("pay", "error")
    assert bp.postpones("pay", "error", busy=True)
