from ..helpers import at, edit, load, locate, single


def test_done_listed_in_states():
    text = edit('"states": ["pay"]', '"states": ["pay", "done"]')
    p = single(load(text))
    assert at(p) == ("error", "reserved-state", "/states/1", *locate(text, '"done"]'))


def test_init_listed_in_states():
    text = edit('"states": ["pay"]', '"states": ["init", "pay"]')
    assert at(single(load(text))) == ("error", "reserved-state", "/states/0", *locate(text, '"init", "pay"'))
