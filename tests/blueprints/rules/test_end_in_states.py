from ..helpers import at, edit, load, locate, single


def test_an_end_state_also_in_states():
    text = edit('"states": ["pay"],', '"states": ["pay", "declined"],\n  "end": {"declined": "failed"},')
    text = edit('"event": "error", "action": "continue", "next": "done"',
                '"event": "error", "action": "continue", "next": "declined"', text)
    p = single(load(text))
    assert at(p) == ("error", "end-in-states", "/end/declined", *locate(text, '"declined": "failed"'))
