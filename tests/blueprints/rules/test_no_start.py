from ..helpers import at, edit, load, locate


def test_no_start_transition_out_of_init():
    text = edit('"event": "start"', '"event": "begin"')
    result = load(text)
    [p] = [p for p in result.problems if p.level == "error"]
    assert at(p) == ("error", "no-start", "/transitions", *locate(text, "[\n    {"))
