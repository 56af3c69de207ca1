from ..helpers import at, edit, load, locate, single


def test_a_next_state_that_is_not_declared():
    text = edit('"success", "action": "continue", "next": "done"}', '"success", "action": "continue", "next": "paid"}')
    result = load(text)
    [p] = [p for p in result.problems if p.level == "error"]
    assert at(p) == ("error", "unknown-state", "/transitions/1/next", *locate(text, '"paid"'))


def test_a_current_state_with_a_typo_gets_a_suggestion():
    text = edit('{"current": "pay", "event": "error"', '{"current": "pya", "event": "error"')
    p = single(load(text))
    assert at(p) == ("error", "unknown-state", "/transitions/2/current", *locate(text, '"pya"'))
    assert "did you mean 'pay'?" in p.message
