from ..helpers import at, edit, load, locate, single


def test_async_timeout_must_be_positive():
    text = edit('"type": "sync"', '"type": "async", "timeout": 0')
    p = single(load(text))
    assert at(p) == ("error", "action-timeout", "/actions/0/timeout", *locate(text, "0}"))


def test_sync_actions_take_no_timeout():
    text = edit('"type": "sync"', '"type": "sync", "timeout": 5')
    p = single(load(text))
    assert at(p) == ("error", "action-timeout", "/actions/0/timeout", *locate(text, "5}"))


def test_async_with_a_timeout_loads():
    result = load(edit('"type": "sync"', '"type": "async", "timeout": 60'))
    assert result.problems == [] and result.blueprints[0].action("pay").timeout == 60.0
