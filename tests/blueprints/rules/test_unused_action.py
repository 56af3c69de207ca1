from ..helpers import at, edit, load, locate, single


def test_a_declared_action_no_transition_runs():
    text = edit('"type": "sync"}]', '"type": "sync"}, {"name": "refund", "type": "sync"}]')
    text = edit('"priority": 1}', '"priority": 1},\n    {"name": "refund", "workerEndpoint": "python://shop:r", '
                '"retryCount": 0, "responseTimeout": 1, "priority": 1}', text)
    p = single(load(text))
    assert at(p) == ("warning", "unused-action", "/actions/1", *locate(text, '{"name": "refund", "type"'))
    assert "never invoked" in p.message
