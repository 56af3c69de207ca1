from ..helpers import at, load, locate, single

CYCLE = """\
{
  "project": "p", "activity": "loop",
  "states": ["a", "b", "c"],
  "actions": [],
  "transitions": [
    {"current": "init", "event": "start", "action": "continue", "next": "a"},
    {"current": "a", "event": "start", "action": "continue", "next": "b"},
    {"current": "b", "event": "start", "action": "continue", "next": "c"},
    {"current": "c", "event": "start", "action": "continue", "next": "a"%s},
    {"current": "c", "event": "stop", "action": "continue", "next": "done"}
  ]
}
"""


def test_continue_transitions_on_start_that_loop():
    text = CYCLE % ""
    p = single(load(text))
    assert at(p) == ("error", "continue-cycle", "/transitions/1", *locate(text, '{"current": "a"'))
    assert "a -> b -> c -> a" in p.message


def test_a_delay_breaks_the_cycle():
    assert load(CYCLE % ', "delay": 1').problems == []


def test_a_continue_self_loop_does_not_spin():
    text = CYCLE.replace('"next": "a"%s}', '"next": "c"}')
    assert load(text).problems == []
