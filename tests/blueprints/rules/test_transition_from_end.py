from ..helpers import at, edit, load, locate, single


def test_a_transition_out_of_an_end_state():
    text = edit('"states": ["pay"],', '"states": ["pay"],\n  "end": {"declined": "failed"},')
    text = edit('"next": "done"},\n    {"current": "pay", "event": "error"',
                '"next": "done"},\n    {"current": "pay", "event": "no", "action": "continue", "next": "declined"},\n'
                '    {"current": "declined", "event": "again", "action": "continue", "next": "pay"},\n'
                '    {"current": "pay", "event": "error"', text)
    p = single(load(text))
    assert at(p) == ("error", "transition-from-end", "/transitions/3/current",
                     *locate(text, '"declined", "event"'))
    assert "end state 'declined'" in p.message


def test_end_states_load():
    text = edit('"states": ["pay"],', '"states": ["pay"],\n  "end": {"declined": "failed", "cancelled": "completed"},')
    text = edit('"event": "error", "action": "continue", "next": "done"',
                '"event": "error", "action": "continue", "next": "declined"', text)
    text = edit('"next": "declined"}', '"next": "declined"},\n    {"current": "pay", "event": "cancel", '
                '"action": "continue", "next": "cancelled"}', text)
    result = load(text)
    assert result.ok and not result.problems, result.problems
    bp = result.blueprints[0]
    assert bp.end == (("declined", "failed"), ("cancelled", "completed"))
    assert bp.end_status("declined") == "failed" and bp.end_status("done") == "completed"
    assert bp.end_status("pay") is None
