from ..helpers import at, edit, load, locate, single


def test_an_action_type_that_is_neither_sync_nor_async():
    text = edit('"type": "sync"', '"type": "sink"')
    p = single(load(text))
    assert at(p) == ("error", "action-type", "/actions/0/type", *locate(text, '"sink"'))
    assert "'sync'" in p.message and "'async'" in p.message
