import pytest

from ..helpers import at, edit, load, locate, single


@pytest.mark.parametrize("field, value, path", [
    ('"jitter": 2', "2}", "/workers/0/jitter"),
    ('"backoff": "linear"', '"linear"', "/workers/0/backoff"),
    ('"method": "post"', '"post"', "/workers/0/method"),
    ('"retryDelay": -1', "-1", "/workers/0/retryDelay"),
    ('"maxRetryDelay": -1', "-1", "/workers/0/maxRetryDelay"),
])
def test_worker_options_out_of_range(field, value, path):
    text = edit('"priority": 1}', f'"priority": 1, {field}}}')
    p = single(load(text))
    assert at(p) == ("error", "bad-value", path, *locate(text, value))


def test_priority_starts_at_one():
    text = edit('"priority": 1}', '"priority": 0}')
    assert at(single(load(text))) == ("error", "bad-value", "/workers/0/priority", *locate(text, "0}"))


def test_version_starts_at_one():
    text = edit('"activity": "order",', '"activity": "order",\n  "version": 0,')
    assert at(single(load(text))) == ("error", "bad-value", "/version", *locate(text, "0,"))
