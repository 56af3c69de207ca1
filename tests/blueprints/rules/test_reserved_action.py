from ..helpers import at, edit, load, locate, single


def test_an_action_named_continue():
    text = edit('"type": "sync"}]', '"type": "sync"}, {"name": "continue", "type": "sync"}]')
    p = single(load(text))
    assert at(p) == ("error", "reserved-action", "/actions/1/name", *locate(text, '"continue", "type"'))


def test_an_action_named_done():
    text = edit('"type": "sync"}]', '"type": "sync"}, {"name": "done", "type": "sync"}]')
    p = single(load(text))
    assert at(p) == ("error", "reserved-action", "/actions/1/name", *locate(text, '"done", "type"'))
