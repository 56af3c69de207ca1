"""goflow.fsm_data.replace: the FSM's fast copy of an Instance gives what dataclasses.replace gives."""
import dataclasses

import pytest

from goflow.fsm_data import Instance, Pending, replace


def _instance() -> Instance:
    return Instance("i1", "p", "a", 2, state="s1", status="running", input={"x": 1}, context={"x": 1},
                    step=3, pending=Pending(3, "act", "sync", 1.0), event_ids=("e1",), created=1.0,
                    updated=2.0, visited=("s1",))


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Instance)])
def test_each_field_replaced_like_dataclasses_replace(name):
    inst = _instance()
    value = object()
    mine, theirs = replace(inst, **{name: value}), dataclasses.replace(inst, **{name: value})
    assert type(mine) is Instance and mine is not inst
    assert mine == theirs and getattr(mine, name) is value
    assert inst == _instance()            # the original is untouched


def test_no_change_is_an_equal_copy_and_several_at_once():
    inst = _instance()
    assert replace(inst) == inst and replace(inst) is not inst
    assert replace(inst, state="s2", status="waiting", pending=None) == dataclasses.replace(
        inst, state="s2", status="waiting", pending=None)


def test_the_copy_stays_frozen_and_unknown_fields_are_refused():
    copy = replace(_instance(), step=4)
    with pytest.raises(dataclasses.FrozenInstanceError):
        copy.step = 5                     # type: ignore[misc]
    with pytest.raises(TypeError):
        replace(_instance(), nope=1)


def test_other_dataclasses_go_to_dataclasses_replace():
    p = Pending(1, "a", "sync", 0.0)
    assert replace(p, accepted=True) == Pending(1, "a", "sync", 0.0, accepted=True)
    with pytest.raises(TypeError):
        replace(p, nope=1)
