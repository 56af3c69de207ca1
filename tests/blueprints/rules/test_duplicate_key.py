from ..helpers import BASE_YAML, at, edit, load, locate, single


def test_json_key_given_twice():
    text = edit('"activity": "order",', '"activity": "order",\n  "activity": "cart",')
    p = single(load(text))
    assert at(p) == ("error", "duplicate-key", "/activity", *locate(text, '"activity"', 2))


def test_yaml_key_given_twice():
    text = edit("activity: order\n", "activity: order\nproject: shop\n", BASE_YAML)
    p = single(load(text, "bp.yaml"))
    assert at(p) == ("error", "duplicate-key", "/project", 3, 1)
