"""``unknown-child``: given at deploy (the root knows what is deployed), never by a plain load: the
blueprint a workflow action starts must be deployed already or in the same call."""
from goflow.loading import load_text
from goflow.validation.children import child_problems

from ..helpers import edit

PARENT = edit('"type": "sync"', '"type": "workflow", "blueprint": "shop/item"')
CHILD = edit('"activity": "order"', '"activity": "item"')


def _bp(text):
    result = load_text(text, "bp.json")
    assert result.ok, result.problems
    return result.blueprints[0]


def test_a_child_blueprint_that_is_not_deployed():
    (p,) = child_problems([_bp(PARENT)], {})
    assert (p.level, p.rule, p.path, p.file) == ("error", "unknown-child", "/actions/0/blueprint", "bp.json")
    assert "'shop/item', which is not deployed" in p.message


def test_deployed_before_or_in_the_same_call():
    child = _bp(CHILD)
    assert child_problems([_bp(PARENT)], {child.key: child}) == []
    assert child_problems([_bp(PARENT), child], {}) == []


def test_a_version_that_is_not_deployed():
    child = _bp(CHILD)
    parent = _bp(edit('"blueprint": "shop/item"', '"blueprint": "shop/item", "version": 3', PARENT))
    (p,) = child_problems([parent], {child.key: child})
    assert (p.rule, p.path) == ("unknown-child", "/actions/0/version")
    assert "deployed: 1" in p.message
