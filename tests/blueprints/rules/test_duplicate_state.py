from ..helpers import at, edit, load, locate, single


def test_a_state_listed_twice():
    text = edit('"states": ["pay"]', '"states": ["pay", "pay"]')
    p = single(load(text))
    assert at(p) == ("error", "duplicate-state", "/states/1", *locate(text, '"pay"]'))
    assert "/states/0" in p.message
