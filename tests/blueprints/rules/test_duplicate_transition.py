from ..helpers import at, edit, load, locate, single


def test_two_transitions_on_one_state_and_event():
    text = edit('"event": "error"', '"event": "success"')
    p = single(load(text))
    assert at(p) == ("error", "duplicate-transition", "/transitions/2",
                     *locate(text, '{"current": "pay", "event": "success"', 2))
    assert "/transitions/1" in p.message
