from ..helpers import at, edit, load, locate, single


def test_an_end_state_with_a_status_that_is_not_final():
    text = edit('"states": ["pay"],', '"states": ["pay"],\n  "end": {"declined": "waiting"},')
    text = edit('"event": "error", "action": "continue", "next": "done"',
                '"event": "error", "action": "continue", "next": "declined"', text)
    p = single(load(text))
    assert at(p) == ("error", "end-status", "/end/declined", *locate(text, '"waiting"'))
    assert "completed or failed" in p.message


def test_terminated_is_not_an_end_status():
    text = edit('"states": ["pay"],', '"states": ["pay"],\n  "end": {"declined": "terminated"},')
    text = edit('"event": "error", "action": "continue", "next": "done"',
                '"event": "error", "action": "continue", "next": "declined"', text)
    assert single(load(text)).rule == "end-status"
