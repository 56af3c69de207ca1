from ..helpers import at, edit, load, locate, single


def test_a_state_no_transition_leads_to():
    text = edit('"states": ["pay"]', '"states": ["pay", "refund"]')
    text = edit('"next": "done"}\n  ]', '"next": "done"},\n    {"current": "refund", "event": "ok", '
                '"action": "continue", "next": "done"}\n  ]', text)
    result = load(text)
    p = single(result)
    assert at(p) == ("warning", "unreachable-state", "/states/1", *locate(text, '"refund"]'))
    assert result.ok and len(result.blueprints) == 1


def test_strict_makes_it_an_error():
    text = edit('"states": ["pay"]', '"states": ["pay", "refund"]')
    text = edit('"next": "done"}\n  ]', '"next": "done"},\n    {"current": "refund", "event": "ok", '
                '"action": "continue", "next": "done"}\n  ]', text)
    result = load(text, strict=True)
    assert at(single(result))[:2] == ("error", "unreachable-state")
    assert not result.ok and result.blueprints == []
