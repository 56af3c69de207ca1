from ..helpers import at, edit, load, locate, single


def test_an_action_neither_declared_nor_continue():
    text = edit('"success", "action": "continue", "next": "done"}', '"success", "action": "contiune", "next": "done"}')
    p = single(load(text))
    assert at(p) == ("error", "unknown-action", "/transitions/1/action", *locate(text, '"contiune"'))
    assert "did you mean 'continue'?" in p.message
