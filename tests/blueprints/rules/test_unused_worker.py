from ..helpers import at, edit, load, locate, single

EXTRA = ',\n    {"name": "%s", "workerEndpoint": "python://shop:x", "retryCount": 0, "responseTimeout": 1, ' \
        '"priority": 1}'


def test_a_worker_that_serves_nothing():
    text = edit('"priority": 1}', '"priority": 1}' + EXTRA % "refund")
    p = single(load(text))
    assert at(p) == ("warning", "unused-worker", "/workers/1/name", *locate(text, '"refund"'))


def test_a_done_worker_is_a_completion_hook():
    assert load(edit('"priority": 1}', '"priority": 1}' + EXTRA % "done")).problems == []


def test_a_worker_named_after_a_state_that_is_not_an_action_is_never_called():
    text = edit('"states": ["pay"]', '"states": ["pay", "hold"]')
    text = edit('"next": "done"}\n  ]', '"next": "done"},\n    {"current": "pay", "event": "wait", '
                '"action": "continue", "next": "hold"},\n    {"current": "hold", "event": "go", '
                '"action": "continue", "next": "done"}\n  ]', text)
    text = edit('"priority": 1}', '"priority": 1}' + EXTRA % "hold", text)
    p = single(load(text))
    assert at(p) == ("warning", "unused-worker", "/workers/1/name", *locate(text, '"hold", "worker'))
