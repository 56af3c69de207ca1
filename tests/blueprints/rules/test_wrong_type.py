from ..helpers import at, edit, load, locate, single


def test_retry_count_as_a_string():
    text = edit('"retryCount": 1', '"retryCount": "1"')
    p = single(load(text))
    assert at(p) == ("error", "wrong-type", "/workers/0/retryCount", *locate(text, '"1"'))
    assert "must be an integer" in p.message and "'1'" in p.message


def test_states_as_a_string():
    text = edit('"states": ["pay"]', '"states": "pay"')
    p = single(load(text))
    assert at(p) == ("error", "wrong-type", "/states", *locate(text, '"pay"'))


def test_a_state_that_is_a_number():
    text = edit('"states": ["pay"]', '"states": ["pay", 3]')
    p = single(load(text))
    assert at(p) == ("error", "wrong-type", "/states/1", *locate(text, "3]"))


def test_yaml_boolean_where_a_name_is_expected():
    p = single(load("project: yes\nactivity: a\nstates: []\nactions: []\ntransitions:\n"
                    "- {current: init, event: start, action: continue, next: done}\n", "bp.yaml"))
    assert at(p) == ("error", "wrong-type", "/project", 1, 10)
    assert "quote it" in p.message
