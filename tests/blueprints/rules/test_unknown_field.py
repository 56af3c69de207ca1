from ..helpers import at, edit, load, locate, single


def test_a_misspelt_optional_field_is_an_error_with_a_suggestion():
    text = edit('"next": "pay"}', '"next": "pay", "dealy": 5}')
    p = single(load(text))
    assert at(p) == ("error", "unknown-field", "/transitions/0/dealy", *locate(text, '"dealy"'))
    assert "did you mean 'delay'?" in p.message


def test_schema_key_is_allowed_at_the_top():
    text = edit('"project": "shop",', '"$schema": "goflow/schemas/flow.schema.json",\n  "project": "shop",')
    assert load(text).problems == []
