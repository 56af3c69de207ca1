"""``workflow-action``: a workflow action names its child blueprint as ``project/activity``; the child
fields (blueprint, version, input, forEach) belong to workflow actions only."""
from ..helpers import at, edit, load, locate, single

FAN = '"type": "workflow", "blueprint": "shop/item", "forEach": "lines"'


def test_a_workflow_action_loads_with_its_fields():
    result = load(edit('"type": "sync"', FAN + ', "input": "order", "version": 2'))
    a = result.blueprints[0].action("pay")
    assert (a.type, a.blueprint, a.for_each, a.input, a.version, a.child) == (
        "workflow", "shop/item", "lines", "order", 2, ("shop", "item"))


def test_a_workflow_action_without_a_blueprint():
    text = edit('"type": "sync"', '"type": "workflow"')
    p = single(load(text))
    assert at(p)[:3] == ("error", "workflow-action", "/actions/0")
    assert "names no 'blueprint'" in p.message


def test_a_blueprint_name_without_its_activity():
    text = edit('"type": "sync"', '"type": "workflow", "blueprint": "shop"')
    p = single(load(text))
    assert at(p) == ("error", "workflow-action", "/actions/0/blueprint", *locate(text, '"shop"}'))


def test_a_version_below_one():
    text = edit('"type": "sync"', '"type": "workflow", "blueprint": "shop/item", "version": 0')
    assert at(single(load(text)))[:3] == ("error", "workflow-action", "/actions/0/version")


def test_child_fields_on_a_sync_action():
    text = edit('"type": "sync"', '"type": "sync", "forEach": "lines"')
    p = single(load(text))
    assert at(p) == ("error", "workflow-action", "/actions/0/forEach", *locate(text, '"lines"'))
