from ..helpers import at, edit, load, locate, single


def test_a_negative_delay():
    text = edit('"next": "pay"}', '"next": "pay", "delay": -2.5}')
    p = single(load(text))
    assert at(p) == ("error", "negative-delay", "/transitions/0/delay", *locate(text, "-2.5"))
