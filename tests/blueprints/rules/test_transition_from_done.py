from ..helpers import at, edit, load, locate, single


def test_a_transition_out_of_done():
    text = edit('"next": "done"}\n  ]', '"next": "done"},\n    {"current": "done", "event": "again", '
                '"action": "continue", "next": "pay"}\n  ]')
    p = single(load(text))
    assert at(p) == ("error", "transition-from-done", "/transitions/3/current", *locate(text, '"done", "event"'))
