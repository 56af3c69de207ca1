from ..helpers import at, edit, load, locate, single


def test_a_state_that_receives_a_worker_outcome_but_handles_no_error():
    text = edit(',\n    {"current": "pay", "event": "error", "action": "continue", "next": "done"}', "")
    p = single(load(text))
    assert at(p) == ("warning", "unhandled-error", "/states/0", *locate(text, '"pay"]'))
    assert "/transitions/0" in p.message


def test_it_is_the_next_state_that_must_handle_error():
    # init runs the worker action 'pay' and moves to 'wait': the outcome is delivered in 'wait'.
    text = edit('"states": ["pay"]', '"states": ["pay", "wait"]')
    text = edit('"action": "pay", "next": "pay"}', '"action": "pay", "next": "wait"},\n'
                '    {"current": "init", "event": "error", "action": "continue", "next": "done"},\n'
                '    {"current": "wait", "event": "success", "action": "continue", "next": "pay"}', text)
    result = load(text)
    assert [at(p) for p in result.problems] == [
        ("warning", "unhandled-error", "/states/1", *locate(text, '"wait"]'))]


def test_a_worker_action_into_done_needs_no_error_handler():
    text = edit('"action": "pay", "next": "pay"}', '"action": "pay", "next": "done"}')
    text = edit('"states": ["pay"]', '"states": []', text)
    text = edit(',\n    {"current": "pay", "event": "success", "action": "continue", "next": "done"},\n'
                '    {"current": "pay", "event": "error", "action": "continue", "next": "done"}', "", text)
    assert load(text).problems == []
