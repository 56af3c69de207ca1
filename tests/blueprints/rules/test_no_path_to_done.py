from ..helpers import at, edit, load, locate, single


def test_a_state_that_can_never_complete():
    text = edit('"states": ["pay"]', '"states": ["pay", "hold"]')
    text = edit('"next": "done"}\n  ]', '"next": "done"},\n    {"current": "pay", "event": "wait", '
                '"action": "continue", "next": "hold"}\n  ]', text)
    result = load(text)
    p = single(result)
    assert at(p) == ("warning", "no-path-to-done", "/states/1", *locate(text, '"hold"]'))
    assert result.ok
