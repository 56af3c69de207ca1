"""``child-recursion``: given at deploy: a blueprint that starts itself through workflow actions,
directly or through others, unless the operator opted in (``limits.child_depth`` > 0)."""
from goflow.loading import load_text
from goflow.validation.children import child_problems

from ..helpers import edit


def _bp(text):
    result = load_text(text, "bp.json")
    assert result.ok, result.problems
    return result.blueprints[0]


SELF = _bp(edit('"type": "sync"', '"type": "workflow", "blueprint": "shop/order"'))
A = _bp(edit('"type": "sync"', '"type": "workflow", "blueprint": "shop/b"'))
B = _bp(edit('"activity": "order"', '"activity": "b"',
             edit('"type": "sync"', '"type": "workflow", "blueprint": "shop/order"')))


def test_a_blueprint_that_starts_itself():
    (p,) = child_problems([SELF], {})
    assert (p.level, p.rule, p.path) == ("error", "child-recursion", "/actions/0/blueprint")
    assert "shop/order -> shop/order" in p.message and "limits.child_depth" in p.message


def test_through_another_blueprint_deployed_before():
    problems = child_problems([A], {B.key: B})
    assert [(p.rule, p.path) for p in problems] == [("child-recursion", "/actions/0/blueprint")]
    assert "shop/order -> shop/b -> shop/order" in problems[0].message


def test_allowed_when_the_operator_opts_in():
    assert child_problems([SELF], {}, child_depth=3) == []
    assert child_problems([A, B], {}, child_depth=2) == []
