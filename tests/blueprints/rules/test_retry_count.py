from ..helpers import at, edit, load, locate, single


def test_a_negative_retry_count():
    text = edit('"retryCount": 1', '"retryCount": -1')
    p = single(load(text))
    assert at(p) == ("error", "retry-count", "/workers/0/retryCount", *locate(text, "-1"))
