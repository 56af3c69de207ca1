from ..helpers import at, edit, load, locate, single


def test_an_action_declared_twice():
    text = edit('"type": "sync"}]', '"type": "sync"},\n              {"name": "pay", "type": "async"}]')
    p = single(load(text))
    assert at(p) == ("error", "duplicate-action", "/actions/1/name", *locate(text, '"pay", "type": "async"'))
