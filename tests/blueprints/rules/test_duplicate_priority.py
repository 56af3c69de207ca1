from ..helpers import at, edit, load, locate, single


def test_two_workers_of_one_action_with_one_priority():
    text = edit('"priority": 1}', '"priority": 1},\n    {"name": "pay", "workerEndpoint": "python://shop:pay2", '
                '"retryCount": 0, "responseTimeout": 1, "priority": 1}')
    p = single(load(text))
    assert at(p) == ("error", "duplicate-priority", "/workers/1/priority", *locate(text, "1}", 2))
    assert "/workers/0" in p.message
