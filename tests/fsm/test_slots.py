"""goflow._slots.maker: the FSM's fast constructors build what the classes' own __init__ builds."""
import dataclasses

import pytest

from goflow._slots import maker, replacer
from goflow.fsm_data import Instance, Pending, Reaction
from goflow.history import Record


def test_a_record_made_positionally_or_by_name_equals_the_class_own():
    make = maker(Record)
    args = (1.5, "s1", "go", "act", "s2", 3, None, None, "applied", None, {"k": 1})
    assert make(*args) == Record(*args)
    assert make(2.0, outcome="created", next="init") == Record(2.0, outcome="created", next="init")
    assert type(make(1.0)) is Record and make(1.0) == Record(1.0)   # every default
    with pytest.raises(dataclasses.FrozenInstanceError):
        make(1.0).state = "x"             # type: ignore[misc]
    with pytest.raises(TypeError):
        make()                             # time has no default
    with pytest.raises(TypeError):
        make(1.0, nope=1)


def test_default_factories_give_each_object_its_own_value():
    make = maker(Instance)
    a, b = make("i1", "p", "a", 1), make("i2", "p", "a", 1)
    assert a == Instance("i1", "p", "a", 1) and a.context == {} and a.context is not b.context
    given = {"x": 1}
    assert make("i1", "p", "a", 1, input=given).input is given
    r = maker(Reaction)(a, (), (), True)
    assert r == Reaction(a, (), (), True) and maker(Reaction)(a) == Reaction(a)


def test_a_class_that_does_not_qualify_keeps_its_own_init_and_replace():
    @dataclasses.dataclass(frozen=True)
    class Plain:                          # no slots
        x: int

    @dataclasses.dataclass(frozen=True, slots=True)
    class Checked:
        x: int

        def __post_init__(self):
            if self.x < 0:
                raise ValueError("negative")

    assert maker(Plain) is Plain and maker(Checked) is Checked
    with pytest.raises(ValueError):
        maker(Checked)(-1)
    assert replacer(Checked) is dataclasses.replace
    p = Pending(1, "a", "sync", 0.0)
    assert replacer(Pending)(p, accepted=True) == dataclasses.replace(p, accepted=True)
