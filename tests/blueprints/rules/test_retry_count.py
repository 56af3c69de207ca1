from ..helpers import at, edit, load, locate, single


def test_a_negative_retry_count():
    text = edit('"retryCount": 1', '"retryCount": -1')
    p = single(load(text))
    assert at(p) == ("error", "retry-count", "/workers/0/retryCount", *locate(text, "-1"))


def test_a_retry_count_over_the_maximum():
    text = edit('"retryCount": 1', '"retryCount": 101')
    p = single(load(text))
    assert at(p) == ("error", "retry-count", "/workers/0/retryCount", *locate(text, "101"))
    assert "0 to 100" in p.message
    assert load(edit('"retryCount": 1', '"retryCount": 100')).ok
