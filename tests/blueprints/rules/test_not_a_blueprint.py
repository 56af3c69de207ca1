from ..helpers import at, load, single


def test_a_document_with_neither_transitions_nor_workers():
    p = single(load('{"name": "shop"}'))
    assert at(p) == ("error", "not-a-blueprint", "", 1, 1)
    assert "'transitions'" in p.message and "'workers'" in p.message


def test_a_document_that_is_not_an_object():
    p = single(load('["shop"]'))
    assert at(p) == ("error", "wrong-type", "", 1, 1)
