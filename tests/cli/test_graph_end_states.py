"""The drawings mark end states (SPEC §8) and leave postponing transitions out."""
from goflow.graph import to_dot, to_mermaid
from goflow.model import Action, Blueprint, Transition, Worker

BP = Blueprint("shop", "order", 1, ("paying",), (Action("pay"),), (
    Transition("init", "start", "pay", "paying"), Transition("paying", "success", "continue", "done"),
    Transition("paying", "error", "continue", "declined"), Transition("paying", "cancel", "continue", "cancelled"),
    Transition("paying", "later", postpone=True), Transition("init", "later", "continue", "done")),
    (Worker("pay", "python://m:pay"),), end=(("declined", "failed"), ("cancelled", "completed")))


def test_mermaid_gives_every_end_state_an_end_marker_and_colours_failed_ones():
    text = to_mermaid(BP)
    for name in ("declined", "cancelled", "done"):
        assert f"    {name} --> [*]\n" in text
    assert "    class declined failedEnd\n" in text and "cancelled failedEnd" not in text
    assert "later" not in text.replace("init --> done : later / continue", "")


def test_dot_draws_end_states_as_double_circles():
    text = to_dot(BP)
    assert '"declined" [label="declined", shape=doublecircle, color="#b02a37"' in text
    assert '"cancelled" [label="cancelled", shape=doublecircle];' in text
    assert '"paying" -> "" ' not in text and text.count("later") == 1
